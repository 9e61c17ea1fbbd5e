// `engagements/{id}`: an engagement, its grants in their current state, and its handover, which
// shows what it will revoke and grant before it is confirmed.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { asError, ErrorNotice, Show, Time, useLoad } from '../ui.js';

interface Grant {
  readonly id: string;
  readonly profile: string;
  readonly subject: { readonly type: string; readonly id: string };
  readonly validUntil: string;
  readonly status?: string;
  readonly revokedAt?: string;
}

interface Engagement {
  readonly id: string;
  readonly name: string;
  readonly owner: string;
  readonly contractors: readonly string[];
  readonly profiles: readonly { readonly profile: string }[];
  readonly validUntil: string;
  readonly status: 'active' | 'handed-over';
  readonly grants: readonly Grant[];
}

interface HandoverResult {
  readonly revokedGrants: readonly string[];
  readonly newGrants: readonly string[];
  readonly revokedSessions: readonly unknown[];
  readonly sessionsNotCut: readonly unknown[];
}

export function EngagementPage({ id, mayNameOthers }: { readonly id: string; readonly mayNameOthers: boolean }) {
  const [engagement, reload] = useLoad(() => api<Engagement>(`/engagements/${encodeURIComponent(id)}`), [id]);
  const [to, setTo] = useState('');
  const [previewing, setPreviewing] = useState(false);
  const [outcome, setOutcome] = useState<HandoverResult | Error | undefined>();

  const handOver = (event: Event) => {
    event.preventDefault();
    const note = String(new FormData(event.currentTarget as HTMLFormElement).get('note') ?? '').trim();
    api<HandoverResult>(`/engagements/${encodeURIComponent(id)}/handover`, { method: 'POST', body: { ...(to ? { to } : {}), ...(note ? { note } : {}) } }).then(
      (result) => {
        setOutcome(result);
        setPreviewing(false);
        reload();
      },
      (error: unknown) => setOutcome(asError(error)),
    );
  };

  return (
    <section aria-labelledby="engagement-title">
      <Show loaded={engagement}>
        {(value) => {
          const live = value.grants.filter((grant) => (grant.status ?? 'active') === 'active');
          const newOwners = to || value.owner;
          return (
            <>
              <h1 id="engagement-title">Engagement {value.name}</h1>
              <dl class="facts">
                <dt>Status</dt>
                <dd data-testid="engagement-status">{value.status}</dd>
                <dt>Owner</dt>
                <dd>{value.owner}</dd>
                <dt>Contractors</dt>
                <dd>{value.contractors.join(', ')}</dd>
                <dt>Valid until</dt>
                <dd>
                  <Time iso={value.validUntil} />
                </dd>
              </dl>
              <table>
                <caption>Its grants</caption>
                <thead>
                  <tr>
                    <th scope="col">Granted to</th>
                    <th scope="col">Profile</th>
                    <th scope="col">State</th>
                    <th scope="col">Valid until</th>
                  </tr>
                </thead>
                <tbody>
                  {value.grants.map((grant) => (
                    <tr key={grant.id}>
                      <th scope="row">
                        {grant.subject.type} {grant.subject.id}
                      </th>
                      <td>{grant.profile}</td>
                      <td>{grant.status ?? 'active'}</td>
                      <td>
                        <Time iso={grant.validUntil} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {outcome instanceof Error && <ErrorNotice error={outcome} />}
              {outcome !== undefined && !(outcome instanceof Error) && (
                <p role="status">
                  Handed over: {outcome.revokedGrants.length} grants revoked, {outcome.newGrants.length} granted, {outcome.revokedSessions.length} sessions cut off
                  {outcome.sessionsNotCut.length > 0 ? `, ${outcome.sessionsNotCut.length} not cut yet (retried)` : ''}.
                </p>
              )}
              {value.status === 'active' && (
                <>
                  <h2>Hand over</h2>
                  {mayNameOthers && (
                    <label>
                      New owner (default: the owner)
                      <input value={to} onInput={(event) => setTo((event.target as HTMLInputElement).value.trim())} />
                    </label>
                  )}{' '}
                  {!previewing ? (
                    <button type="button" onClick={() => setPreviewing(true)}>
                      Preview handover
                    </button>
                  ) : (
                    <form onSubmit={handOver} aria-labelledby="preview-title">
                      <div>
                        <h3 id="preview-title">This handover will</h3>
                        <ul data-testid="handover-preview">
                          <li>
                            revoke {live.length} grant{live.length === 1 ? '' : 's'} ({live.map((grant) => `${grant.subject.id} on ${grant.profile}`).join('; ') || 'none'}) and what was delegated from them,
                            and cut off their live sessions;
                          </li>
                          <li>
                            grant {newOwners} {value.profiles.map((entry) => entry.profile).join(', ')}, able to delegate.
                          </li>
                        </ul>
                      </div>
                      <label>
                        Note
                        <input name="note" />
                      </label>
                      <button type="submit" class="primary">
                        Confirm handover
                      </button>{' '}
                      <button type="button" onClick={() => setPreviewing(false)}>
                        Cancel
                      </button>
                    </form>
                  )}
                </>
              )}
            </>
          );
        }}
      </Show>
    </section>
  );
}
