// `access?profile=`: who has access to a profile: active grants with the delegation chain behind
// each (root first), live sessions with their last use, and a cut-off: revoking a grant cuts off
// the sessions vended under it, after a typed confirmation that names what it will cut.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { href, navigate } from '../router.js';
import { asError, EmptyRow, ErrorNotice, Show, Time, useLoad } from '../ui.js';

interface Access {
  readonly profile: string;
  readonly at: string;
  readonly grants: readonly {
    readonly id: string;
    readonly subject: { readonly type: string; readonly id: string };
    readonly validUntil: string;
    readonly chain: readonly { readonly grantId: string; readonly subject: { readonly type: string; readonly id: string } | null; readonly createdBy: string | null }[];
  }[];
  readonly sessions: readonly {
    readonly accessKeyId: string;
    readonly principal: string;
    readonly grantId: string;
    readonly issuedAt: string;
    readonly expiration: string;
    readonly lastUse: { readonly at: string; readonly eventName: string; readonly sourceIPAddress: string } | null;
  }[];
}

/** `mayRevoke`: tvm-admin, who alone may revoke any grant (DELETE /grants/{id}). */
export function AccessPage({ query, mayRevoke }: { readonly query: URLSearchParams; readonly mayRevoke: boolean }) {
  const profile = query.get('profile') ?? '';
  const [access, reload] = useLoad(() => (profile ? api<Access>(`/audit/access?profile=${encodeURIComponent(profile)}`) : Promise.resolve(undefined)), [profile]);
  const [confirming, setConfirming] = useState<string | undefined>();
  const [outcome, setOutcome] = useState<string | Error | undefined>();

  const choose = (event: Event) => {
    event.preventDefault();
    const name = String(new FormData(event.currentTarget as HTMLFormElement).get('profile') ?? '').trim();
    navigate(`access?profile=${encodeURIComponent(name)}`);
  };
  const cutOff = (grantId: string) => (event: Event) => {
    event.preventDefault();
    if (String(new FormData(event.currentTarget as HTMLFormElement).get('confirm') ?? '') !== profile) {
      setOutcome(new Error(`type ${profile} exactly to confirm the cut-off`));
      return;
    }
    api<{ revokedSessions: readonly unknown[]; sessionsNotCut: readonly unknown[] }>(`/grants/${encodeURIComponent(grantId)}`, { method: 'DELETE' }).then(
      (revoked) => {
        setConfirming(undefined);
        setOutcome(`Grant ${grantId} revoked: ${revoked.revokedSessions.length} sessions cut off, ${revoked.sessionsNotCut.length} not (yet).`);
        reload();
      },
      (error: unknown) => setOutcome(asError(error)),
    );
  };

  return (
    <section aria-labelledby="access-title">
      <h1 id="access-title">Who has access{profile ? ` to ${profile}` : ''}</h1>
      <form onSubmit={choose} key={profile}>
        <label>
          Profile
          <input name="profile" defaultValue={profile} required />
        </label>
        <button type="submit" class="primary">
          Show
        </button>
      </form>
      {typeof outcome === 'string' && <p role="status">{outcome}</p>}
      {outcome instanceof Error && <ErrorNotice error={outcome} />}
      <Show loaded={access}>
        {(value) =>
          value === undefined ? (
            <p>Name a profile.</p>
          ) : (
            <>
              <table>
                <caption>Active grants and the delegation behind them (as of {new Date(value.at).toISOString()})</caption>
                <thead>
                  <tr>
                    <th scope="col">Granted to</th>
                    <th scope="col">Delegation chain (root first)</th>
                    <th scope="col">Valid until</th>
                    <th scope="col">Live sessions</th>
                    {mayRevoke && <th scope="col">Cut off</th>}
                  </tr>
                </thead>
                <tbody>
                  {value.grants.map((grant) => {
                    const live = value.sessions.filter((session) => session.grantId === grant.id).length;
                    return (
                      <tr key={grant.id}>
                        <th scope="row">
                          {grant.subject.type} {grant.subject.id}
                        </th>
                        <td>
                          <ol class="chain">
                            {grant.chain.map((link) => (
                              <li key={link.grantId}>
                                {link.subject ? `${link.subject.type} ${link.subject.id}` : `grant ${link.grantId} (not found)`}{' '}
                                <span class="muted">(by {link.createdBy ?? '?'})</span>
                              </li>
                            ))}
                          </ol>
                        </td>
                        <td>
                          <Time iso={grant.validUntil} />
                        </td>
                        <td>{live}</td>
                        {mayRevoke && (
                        <td>
                          {confirming === grant.id ? (
                            <form onSubmit={cutOff(grant.id)}>
                              <p id={`warn-${grant.id}`}>
                                Revokes this grant and what was delegated from it, and cuts off {live} live session{live === 1 ? '' : 's'}. Type {value.profile} to confirm.
                              </p>
                              <label>
                                Profile name
                                <input name="confirm" required aria-describedby={`warn-${grant.id}`} />
                              </label>
                              <button type="submit" class="primary">
                                Revoke and cut off
                              </button>{' '}
                              <button type="button" onClick={() => setConfirming(undefined)}>
                                Cancel
                              </button>
                            </form>
                          ) : (
                            <button type="button" onClick={() => setConfirming(grant.id)}>
                              Cut off…
                            </button>
                          )}
                        </td>
                        )}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              <table>
                <caption>Live sessions</caption>
                <thead>
                  <tr>
                    <th scope="col">Key</th>
                    <th scope="col">Principal</th>
                    <th scope="col">Issued</th>
                    <th scope="col">Expires</th>
                    <th scope="col">Last use</th>
                  </tr>
                </thead>
                <tbody>
                  {value.sessions.length === 0 ? (
                    <EmptyRow columns={5}>No live sessions.</EmptyRow>
                  ) : (
                    value.sessions.map((session) => (
                      <tr key={session.accessKeyId}>
                        <th scope="row">
                          <a href={href(`keys/${encodeURIComponent(session.accessKeyId)}`)}>{session.accessKeyId}</a>
                        </th>
                        <td>{session.principal}</td>
                        <td>
                          <Time iso={session.issuedAt} />
                        </td>
                        <td>
                          <Time iso={session.expiration} />
                        </td>
                        <td>
                          {session.lastUse ? (
                            <>
                              <Time iso={session.lastUse.at} /> {session.lastUse.eventName} from {session.lastUse.sourceIPAddress}
                            </>
                          ) : (
                            <span class="muted">none recorded</span>
                          )}
                        </td>
                      </tr>
                    ))
                  )}
                </tbody>
              </table>
            </>
          )
        }
      </Show>
    </section>
  );
}
