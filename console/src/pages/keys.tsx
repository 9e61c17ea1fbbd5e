// `keys/{accessKeyId}`: where a key came from and everything it did, oldest first: who (principal,
// groups at issuance), which grant, issued and expires, every use, cut-offs and alerts.
import { api } from '../api.js';
import { href } from '../router.js';
import { EmptyRow, Show, Time, useLoad } from '../ui.js';

interface Event {
  readonly id: string;
  readonly type: string;
  readonly at: string;
  readonly principal: string;
  readonly [field: string]: unknown;
}

interface KeyTrace {
  readonly accessKeyId: string;
  readonly issuance?: Event & { profile?: string; grantId?: string; roleArn?: string; expiration?: string; groups?: string[]; sourceIdentity?: string };
  readonly uses: readonly (Event & { eventTime?: string; eventSource?: string; eventName?: string; sourceIPAddress?: string; awsRegion?: string; errorCode?: string })[];
  readonly revocations: readonly { kind: string; at: string; by?: string; reason?: string }[];
  readonly alerts: readonly (Event & { rule?: string; severity?: string; summary?: string })[];
  readonly usesTruncated?: boolean;
}

export function KeyPage({ accessKeyId }: { readonly accessKeyId: string }) {
  const [trace] = useLoad(() => api<KeyTrace>(`/audit/keys/${encodeURIComponent(accessKeyId)}`), [accessKeyId]);
  return (
    <section aria-labelledby="key-title">
      <h1 id="key-title">
        Key <code>{accessKeyId}</code>
      </h1>
      <Show loaded={trace}>
        {(value) => (
          <>
            <h2>Issued</h2>
            {value.issuance ? (
              <dl class="facts">
                <dt>Principal</dt>
                <dd data-testid="key-principal">{value.issuance.principal}</dd>
                <dt>Groups at issuance</dt>
                <dd>{(value.issuance.groups ?? []).join(', ') || <span class="muted">none</span>}</dd>
                <dt>Profile</dt>
                <dd>{value.issuance.profile ? <a href={href(`access?profile=${encodeURIComponent(value.issuance.profile)}`)}>{value.issuance.profile}</a> : '—'}</dd>
                <dt>Grant</dt>
                <dd>{value.issuance.grantId ?? '—'}</dd>
                <dt>Role</dt>
                <dd>{value.issuance.roleArn ?? '—'}</dd>
                <dt>Issued</dt>
                <dd>
                  <Time iso={value.issuance.at} />
                </dd>
                <dt>Expires</dt>
                <dd>
                  <Time iso={value.issuance.expiration} />
                </dd>
              </dl>
            ) : (
              <p role="status">Not issued by tvm: every use below is by a session tvm never vended.</p>
            )}
            <table>
              <caption>
                Uses, oldest first ({value.uses.length}
                {value.usesTruncated ? ', more in the audit timeline' : ''})
              </caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Call</th>
                  <th scope="col">Source IP</th>
                  <th scope="col">Region</th>
                  <th scope="col">Outcome</th>
                </tr>
              </thead>
              <tbody>
                {value.uses.length === 0 ? (
                  <EmptyRow columns={5}>No recorded use yet.</EmptyRow>
                ) : (
                  value.uses.map((use) => (
                    <tr key={use.id}>
                      <td>
                        <Time iso={use.eventTime ?? use.at} />
                      </td>
                      <th scope="row">
                        {use.eventSource} {use.eventName}
                      </th>
                      <td>{use.sourceIPAddress}</td>
                      <td>{use.awsRegion}</td>
                      <td>{use.errorCode ? <span class="error">refused: {use.errorCode}</span> : 'allowed'}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
            <table>
              <caption>Cut-offs</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">What</th>
                  <th scope="col">By</th>
                  <th scope="col">Why</th>
                </tr>
              </thead>
              <tbody>
                {value.revocations.length === 0 ? (
                  <EmptyRow columns={4}>Not cut off.</EmptyRow>
                ) : (
                  value.revocations.map((revocation, index) => (
                    <tr key={index}>
                      <td>
                        <Time iso={revocation.at} />
                      </td>
                      <th scope="row">{revocation.kind === 'session' ? 'session cut off' : 'grant revoked'}</th>
                      <td>{revocation.by ?? '—'}</td>
                      <td>{revocation.reason ?? '—'}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
            <AlertsTable alerts={value.alerts} caption="Alerts on this key" />
          </>
        )}
      </Show>
    </section>
  );
}

export interface AlertRow {
  readonly id: string;
  readonly at: string;
  readonly rule?: string;
  readonly severity?: string;
  readonly summary?: string;
  readonly accessKeyId?: string;
}

export function AlertsTable({ alerts, caption }: { readonly alerts: readonly AlertRow[]; readonly caption: string }) {
  return (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Rule</th>
          <th scope="col">Severity</th>
          <th scope="col">Key</th>
          <th scope="col">Summary</th>
        </tr>
      </thead>
      <tbody>
        {alerts.length === 0 ? (
          <EmptyRow columns={5}>No alerts.</EmptyRow>
        ) : (
          alerts.map((alert) => (
            <tr key={alert.id}>
              <td>
                <Time iso={alert.at} />
              </td>
              <th scope="row">{alert.rule}</th>
              <td>{alert.severity}</td>
              <td>{alert.accessKeyId ? <a href={href(`keys/${encodeURIComponent(alert.accessKeyId)}`)}>{alert.accessKeyId}</a> : '—'}</td>
              <td>{alert.summary}</td>
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}
