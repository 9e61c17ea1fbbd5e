// `requests/{id}` (the link every notice carries): one request, its history, and the steps open to
// the viewer: approve or deny (approvers), cancel while pending (the requester), revoke once
// approved, after a confirmation since it cuts live sessions off. The API decides; the page only
// hides what it would refuse, and shows its refusals, code and message. A restricted profile may
// ask the approver for a fresher sign-in first: the step is taken again once they are back.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { href } from '../router.js';
import { useStepUp } from '../step-up.js';
import { asError, ErrorNotice, Show, Time, useLoad } from '../ui.js';
import { samePerson, span, type AccessRequest } from './requests.js';

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

type Step = 'approve' | 'deny' | 'cancel' | 'revoke';
type Changed = AccessRequest & { revokedSessions?: readonly unknown[] };

/** What each step says it did. */
const TOLD: Readonly<Record<Step, (result: Changed) => string>> = {
  approve: (result) => (result.status === 'approved' ? 'Approved: the grant is created.' : `Approved: it waits for ${plural(result.approvalsRequired - result.approvals.length, 'more approval')}.`),
  deny: () => 'Denied.',
  cancel: () => 'Cancelled.',
  revoke: (result) => `Revoked: ${plural(result.revokedSessions?.length ?? 0, 'live session')} cut off.`,
};

export function RequestPage({ id, principal, groups, admin }: { readonly id: string; readonly principal: string; readonly groups: readonly string[]; readonly admin: boolean }) {
  const [loaded] = useLoad(() => api<AccessRequest>(`/requests/${encodeURIComponent(id)}`), [id]);
  // Each step answers with the request as it now is: shown without reading it again.
  const [changed, setChanged] = useState<AccessRequest | undefined>();
  const [outcome, setOutcome] = useState<string | Error | undefined>();
  const [confirming, setConfirming] = useState(false);
  const said = useRef<HTMLParagraphElement>(null);
  // The form that was used is gone: focus goes to what happened.
  useEffect(() => said.current?.focus(), [outcome]);
  useEffect(() => {
    setOutcome(undefined);
    setConfirming(false);
  }, [id]);

  const stepUp = useStepUp('decide', (action) => take(action.step, action.body, true), (action) => action.id === id, [id]);

  const take = (action: Step, body: Readonly<Record<string, unknown>>, replayed = false) => {
    setOutcome(undefined);
    api<Changed>(`/requests/${encodeURIComponent(id)}/${action}`, { method: 'POST', body }).then(
      (result) => {
        setChanged(result);
        setConfirming(false);
        setOutcome(TOLD[action](result));
      },
      (error: unknown) => {
        if (stepUp.begin(error, { kind: 'decide', id, step: action, body }, replayed)) return;
        setOutcome(asError(error));
        // Refused because someone else acted meanwhile, most likely: show the request as it now is.
        api<AccessRequest>(`/requests/${encodeURIComponent(id)}`).then(setChanged, () => undefined);
      },
    );
  };

  const step = (action: Step) => (event: Event) => {
    event.preventDefault();
    const comment = String(new FormData(event.currentTarget as HTMLFormElement).get('comment') ?? '').trim();
    take(action, comment ? { comment } : {});
  };

  const show = (request: AccessRequest) => {
    const requester = samePerson(request.requester, principal);
    const approver = request.approverGroups.some((group) => groups.includes(group));
    const approved = request.approvals.some((approval) => samePerson(approval.by, principal));
    const missing = request.approvalsRequired - request.approvals.length;
    return (
      <>
        {typeof outcome === 'string' && (
          <p role="status" tabIndex={-1} ref={said}>
            {outcome}
          </p>
        )}
        {outcome instanceof Error && <ErrorNotice error={outcome} />}
        <p role="status">{stepUp.message}</p>
        {stepUp.failure && <ErrorNotice error={stepUp.failure} />}
        <dl class="facts">
          <dt>Status</dt>
          <dd data-testid="request-status">{request.status}</dd>
          <dt>Requester</dt>
          <dd>{request.requester}</dd>
          <dt>Duration</dt>
          <dd>{span(request.durationSeconds)}</dd>
          <dt>Reason</dt>
          <dd>{request.reason ?? <span class="muted">none given</span>}</dd>
          {request.scope && (
            <>
              <dt>Scope</dt>
              <dd>
                {[...(request.scope.actions ?? []), ...(request.scope.resources ?? [])].map((item) => (
                  <code key={item}>{item} </code>
                ))}
              </dd>
            </>
          )}
          <dt>Starts</dt>
          <dd>{request.startAt ? <Time iso={request.startAt} /> : 'when approved'}</dd>
          <dt>Approvals</dt>
          <dd data-testid="request-approvals">
            {request.approvals.length} of {request.approvalsRequired}
            {request.approvals.length > 0 && `: ${request.approvals.map((approval) => approval.by).join(', ')}`}
          </dd>
          <dt>Approver groups</dt>
          <dd>{request.approverGroups.join(', ')}</dd>
          <dt>Asked</dt>
          <dd>
            <Time iso={request.createdAt} />
          </dd>
          {request.status === 'pending' && (
            <>
              <dt>Expires undecided</dt>
              <dd>
                <Time iso={request.expiresAt} />
              </dd>
            </>
          )}
          {request.grantId && (
            <>
              <dt>Grant</dt>
              <dd>
                <code data-testid="request-grant">{request.grantId}</code>
                {request.status === 'revoked' && ' (revoked)'}
              </dd>
              <dt>Valid from</dt>
              <dd>
                <Time iso={request.grantValidFrom} />
              </dd>
              <dt>Valid until</dt>
              <dd>
                <Time iso={request.grantValidUntil} />
              </dd>
            </>
          )}
        </dl>
        {request.status === 'approved' && requester && (
          <p>
            <a href={href('me')}>Get credentials</a> with <code>tvm credentials {request.profile}</code>.
          </p>
        )}
        <table>
          <caption>History, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Step</th>
              <th scope="col">By</th>
              <th scope="col">Comment</th>
            </tr>
          </thead>
          <tbody>
            {request.history.map((entry, index) => (
              <tr key={index}>
                <td>
                  <Time iso={entry.at} />
                </td>
                <th scope="row">{entry.action}</th>
                <td>{entry.by}</td>
                <td>{entry.comment ?? <span class="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {request.status === 'pending' && approver && !requester && (
          <>
            <h2>Decide</h2>
            {approved ? (
              <p>You approved it; it waits for {plural(missing, 'more approval')}.</p>
            ) : (
              <>
                <form onSubmit={step('approve')}>
                  <label>
                    Comment on approving (optional)
                    <input name="comment" maxLength={256} />
                  </label>
                  <button type="submit" class="primary">
                    Approve
                  </button>
                </form>
                <form onSubmit={step('deny')}>
                  <label>
                    Why deny
                    <input name="comment" required maxLength={256} />
                  </label>
                  <button type="submit">Deny</button>
                </form>
              </>
            )}
          </>
        )}
        {request.status === 'pending' && requester && (
          <>
            <h2>Cancel</h2>
            <p>Approvers decide: you cannot approve your own request.</p>
            <form onSubmit={step('cancel')}>
              <label>
                Comment on cancelling (optional)
                <input name="comment" maxLength={256} />
              </label>
              <button type="submit">Cancel request</button>
            </form>
          </>
        )}
        {request.status === 'approved' && (requester || approver || admin) && (
          <>
            <h2>Revoke</h2>
            {confirming ? (
              <form onSubmit={step('revoke')}>
                <p id="revoke-warning">Revokes grant {request.grantId} and cuts off every live session vended under it.</p>
                <label>
                  Comment on revoking (optional)
                  <input name="comment" maxLength={256} aria-describedby="revoke-warning" />
                </label>
                <button type="submit" class="primary">
                  Revoke and cut off
                </button>{' '}
                <button type="button" onClick={() => setConfirming(false)}>
                  Keep it
                </button>
              </form>
            ) : (
              <button type="button" onClick={() => setConfirming(true)}>
                Revoke…
              </button>
            )}
          </>
        )}
      </>
    );
  };

  const current = changed?.id === id ? changed : loaded.state === 'done' ? loaded.value : undefined;
  return (
    <section aria-labelledby="request-title">
      <h1 id="request-title">{current ? `Request for ${current.profile}` : 'Request'}</h1>
      {current ? show(current) : <Show loaded={loaded}>{() => null}</Show>}
    </section>
  );
}
