// `requests?profile=`: asking for time-boxed access to a requestable profile, your own requests, and
// the pending ones you may decide (tvm-security and tvm-admin also see every request). Each opens
// at `requests/{id}`, the link the notices carry.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { href } from '../router.js';
import { useStepUp } from '../step-up.js';
import { asError, EmptyRow, ErrorNotice, Show, Time, useLoad } from '../ui.js';

export interface AccessRequest {
  readonly id: string;
  readonly profile: string;
  readonly requester: string;
  readonly durationSeconds: number;
  readonly reason?: string;
  readonly scope?: { readonly actions?: readonly string[]; readonly resources?: readonly string[] };
  readonly startAt?: string;
  readonly status: 'pending' | 'approved' | 'denied' | 'cancelled' | 'expired' | 'revoked';
  readonly approvals: readonly { readonly by: string; readonly at: string; readonly comment?: string }[];
  readonly approvalsRequired: number;
  readonly approverGroups: readonly string[];
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly grantId?: string;
  readonly grantValidFrom?: string;
  readonly grantValidUntil?: string;
  readonly history: readonly { readonly action: string; readonly by: string; readonly at: string; readonly comment?: string }[];
}

/** Newest first; `truncated` when more matched than one listing holds. */
interface Listing {
  readonly requests: AccessRequest[];
  readonly truncated?: boolean;
}

interface RequestableProfile {
  readonly name: string;
  readonly description?: string;
  readonly requestable?: { readonly approverGroups: readonly string[]; readonly approvals: number; readonly maxDurationSeconds: number; readonly requireReason: boolean; readonly pendingSeconds: number };
}

/** One person, however their id is cased (as the API compares them). */
export const samePerson = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** What a duration select offers, up to the profile's maximum (the API's least is 15 minutes). */
const DURATIONS = [900, 1800, 3600, 7200, 14_400, 28_800, 43_200, 86_400, 3 * 86_400, 7 * 86_400, 30 * 86_400];

/** 900 → "15 min", 7200 → "2 h", 5400 → "1 h 30 min", 259200 → "3 days". */
export function span(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} day${seconds === 86_400 ? '' : 's'}`;
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.round((seconds % 3600) / 60);
  return [hours > 0 ? `${hours} h` : '', minutes > 0 ? `${minutes} min` : ''].filter(Boolean).join(' ') || `${seconds} s`;
}

export function RequestsPage({ query, principal, groups, overseer }: { readonly query: URLSearchParams; readonly principal: string; readonly groups: readonly string[]; readonly overseer: boolean }) {
  const [profiles] = useLoad(() => api<{ profiles: RequestableProfile[] }>('/profiles'), []);
  const [mine, reloadMine] = useLoad(() => api<Listing>('/requests?mine=true'), []);
  const [pending, reloadPending] = useLoad(() => api<Listing>('/requests?status=pending'), []);
  const [all, reloadAll] = useLoad(() => (overseer ? api<Listing>('/requests') : Promise.resolve(undefined)), [overseer]);
  const [sent, setSent] = useState<AccessRequest | Error | undefined>();
  // A restricted profile may ask for a fresher sign-in first; the same request is sent after it.
  const stepUp = useStepUp('ask', (action) => send(action.body, true));

  const send = (body: Readonly<Record<string, unknown>>, replayed = false) => {
    setSent(undefined);
    api<AccessRequest>('/requests', { method: 'POST', body }).then(
      (request) => {
        setSent(request);
        reloadMine();
        reloadPending();
        reloadAll();
      },
      (error: unknown) => {
        if (!stepUp.begin(error, { kind: 'ask', body }, replayed)) setSent(asError(error));
      },
    );
  };

  const ask = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const reason = String(form.get('reason') ?? '').trim();
    const startAt = String(form.get('startAt') ?? '');
    send({
      profile: String(form.get('profile') ?? ''),
      durationSeconds: Number(form.get('duration')),
      ...(reason ? { reason } : {}),
      ...(startAt ? { startAt: new Date(startAt).toISOString() } : {}),
    });
  };

  // The API lists what an approver may decide; security and admins get every pending request.
  const decidable = (requests: readonly AccessRequest[]) =>
    requests.filter((request) => !samePerson(request.requester, principal) && (!overseer || request.approverGroups.some((group) => groups.includes(group))));

  return (
    <section aria-labelledby="requests-title">
      <h1 id="requests-title">Requests</h1>
      <h2 id="ask-title">Ask for access</h2>
      <p role="status">{stepUp.message}</p>
      {stepUp.failure && <ErrorNotice error={stepUp.failure} />}
      {sent instanceof Error && <ErrorNotice error={sent} />}
      {sent !== undefined && !(sent instanceof Error) && (
        <p role="status">
          Request sent: <a href={href(`requests/${encodeURIComponent(sent.id)}`)}>{sent.profile} for {span(sent.durationSeconds)}</a>, waiting for{' '}
          {sent.approvalsRequired} approval{sent.approvalsRequired === 1 ? '' : 's'}.
        </p>
      )}
      <Show loaded={profiles}>
        {(value) => <AskForm key={query.get('profile')} profiles={value.profiles.filter((profile) => profile.requestable)} chosen={query.get('profile') ?? ''} onSubmit={ask} />}
      </Show>
      <Show loaded={mine}>{(value) => <RequestsTable caption="My requests" listing={value} empty="You have asked for nothing yet." />}</Show>
      <Show loaded={pending}>
        {(value) => <RequestsTable caption="To decide" listing={{ ...value, requests: decidable(value.requests) }} empty="Nothing waits for your decision." />}
      </Show>
      <Show loaded={all}>{(value) => value && <RequestsTable caption="All requests" listing={value} empty="No requests yet." />}</Show>
    </section>
  );
}

function AskForm({ profiles, chosen, onSubmit }: { readonly profiles: readonly RequestableProfile[]; readonly chosen: string; readonly onSubmit: (event: Event) => void }) {
  const [name, setName] = useState(profiles.some((profile) => profile.name === chosen) ? chosen : (profiles[0]?.name ?? ''));
  const rules = profiles.find((profile) => profile.name === name)?.requestable;
  if (!rules) return <p>No profile takes requests: ask an admin for a grant.</p>;
  const durations = DURATIONS.filter((seconds) => seconds < rules.maxDurationSeconds).concat(rules.maxDurationSeconds);
  return (
    <>
      <p id="ask-rules">
        {name}: decided by {rules.approvals === 1 ? 'one member' : `${rules.approvals} members`} of {rules.approverGroups.join(', ')}, at most {span(rules.maxDurationSeconds)}; a
        request nobody decides expires after {span(rules.pendingSeconds)}.
      </p>
      <form onSubmit={onSubmit} aria-labelledby="ask-title">
        <label>
          Profile
          <select name="profile" value={name} onChange={(event) => setName((event.target as HTMLSelectElement).value)} aria-describedby="ask-rules">
            {profiles.map((profile) => (
              <option key={profile.name} value={profile.name}>
                {profile.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Duration
          <select name="duration" key={name} defaultValue={String(Math.min(3600, rules.maxDurationSeconds))}>
            {durations.map((seconds) => (
              <option key={seconds} value={seconds}>
                {span(seconds)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {rules.requireReason ? 'Reason' : 'Reason (optional)'}
          <input name="reason" required={rules.requireReason} maxLength={256} />
        </label>
        <label>
          Start (your local time; empty: when approved)
          <input name="startAt" type="datetime-local" />
        </label>
        <button type="submit" class="primary">
          Ask for access
        </button>
      </form>
    </>
  );
}

function RequestsTable({ caption, listing: { requests, truncated }, empty }: { readonly caption: string; readonly listing: Listing; readonly empty: string }) {
  return (
    <table>
      <caption>
        {caption} ({requests.length}
        {truncated ? ', the newest only' : ''})
      </caption>
      <thead>
        <tr>
          <th scope="col">Request</th>
          <th scope="col">Status</th>
          <th scope="col">Requester</th>
          <th scope="col">Duration</th>
          <th scope="col">Approvals</th>
          <th scope="col">Asked</th>
          <th scope="col">Expires</th>
        </tr>
      </thead>
      <tbody>
        {requests.length === 0 ? (
          <EmptyRow columns={7}>{empty}</EmptyRow>
        ) : (
          requests.map((request) => (
            <tr key={request.id}>
              <th scope="row">
                {/* The id tells apart two requests for one profile. */}
                <a href={href(`requests/${encodeURIComponent(request.id)}`)}>
                  {request.profile} <span class="muted">#{request.id.slice(0, 6)}</span>
                </a>
              </th>
              <td>{request.status}</td>
              <td>{request.requester}</td>
              <td>{span(request.durationSeconds)}</td>
              <td>
                {request.approvals.length}/{request.approvalsRequired}
              </td>
              <td>
                <Time iso={request.createdAt} />
              </td>
              <td>
                {/* A pending request expires; an approved one's access does. */}
                <Time iso={request.status === 'pending' ? request.expiresAt : request.status === 'approved' ? request.grantValidUntil : undefined} />
              </td>
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}
