// `me`: who the API says you are and the grants you can use now, each with how to get its
// credentials (the CLI vends them when asked; the console never keeps a secret) and a button that
// signs in to the AWS console with it (the sign-in URL is followed at once, never kept). A
// restricted profile may first ask for a fresher sign-in: then the button's work resumes after it.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useStepUp } from '../step-up.js';
import { asError, EmptyRow, ErrorNotice, Show, Time, useLoad } from '../ui.js';

interface Me {
  readonly principal: string;
  readonly groups: readonly string[];
  readonly grants: readonly {
    readonly grantId: string;
    readonly profile: string;
    readonly subject: { readonly type: string; readonly id: string };
    readonly validUntil: string;
    readonly maxSessionSeconds: number;
    readonly canDelegate: boolean;
  }[];
}

export function MePage() {
  const [me] = useLoad(() => api<Me>('/me'), []);
  /** The profile being signed in to the AWS console, while its sign-in URL is asked for. */
  const [opening, setOpening] = useState<string | undefined>();
  const [failure, setFailure] = useState<Error | undefined>();
  const stepUp = useStepUp('console-sign-in', (action) => openConsole(action.profile, true));
  const openConsole = (profile: string, replayed = false) => {
    setOpening(profile);
    setFailure(undefined);
    // A console session lasts the hour AWS signs tvm's sessions in for: the API says so if the grant allows less.
    api<{ signinUrl: string }>('/credentials?format=console', { method: 'POST', body: { profile } })
      .then(({ signinUrl }) => {
        if (!/^https?:\/\//.test(signinUrl)) throw new Error('the API answered no sign-in URL');
        window.location.assign(signinUrl);
      })
      .catch((error: unknown) => {
        // Being signed in again: the buttons stay disabled until the browser leaves.
        if (stepUp.begin(error, { kind: 'console-sign-in', profile }, replayed)) return;
        setOpening(undefined);
        setFailure(asError(error));
      });
  };
  const problem = failure ?? stepUp.failure;
  return (
    <section aria-labelledby="me-title">
      <h1 id="me-title">Me</h1>
      <Show loaded={me}>
        {(value) => (
          <>
            <dl class="facts">
              <dt>Principal</dt>
              <dd data-testid="principal">{value.principal}</dd>
              <dt>Groups</dt>
              <dd>{value.groups.length === 0 ? <span class="muted">none</span> : value.groups.join(', ')}</dd>
            </dl>
            {problem && <ErrorNotice error={problem} />}
            <p role="status">{stepUp.message ?? (opening && `Signing in to the AWS console as ${opening}…`)}</p>
            <table>
              <caption>Grants you can use now</caption>
              <thead>
                <tr>
                  <th scope="col">Profile</th>
                  <th scope="col">Granted to</th>
                  <th scope="col">Valid until</th>
                  <th scope="col">Longest session</th>
                  <th scope="col">Can delegate</th>
                  <th scope="col">AWS console</th>
                </tr>
              </thead>
              <tbody>
                {value.grants.length === 0 ? (
                  <EmptyRow columns={6}>No grants: ask an admin or a delegator for one.</EmptyRow>
                ) : (
                  value.grants.map((grant) => (
                    <tr key={grant.grantId}>
                      <th scope="row">{grant.profile}</th>
                      <td>
                        {grant.subject.type} {grant.subject.id}
                      </td>
                      <td>
                        <Time iso={grant.validUntil} />
                      </td>
                      <td>{Math.round(grant.maxSessionSeconds / 60)} min</td>
                      <td>{grant.canDelegate ? 'yes' : 'no'}</td>
                      <td>
                        <button
                          type="button"
                          aria-label={`Open AWS console as ${grant.profile}`}
                          disabled={opening !== undefined}
                          onClick={() => openConsole(grant.profile)}
                        >
                          Open AWS console
                        </button>
                      </td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
            {value.grants.length > 0 && <CredentialsHowTo profile={value.grants[0]?.profile ?? ''} />}
          </>
        )}
      </Show>
    </section>
  );
}

/** The shell exports and the ~/.aws/config stanza, with a profile filled in: nothing secret. */
function CredentialsHowTo({ profile }: { readonly profile: string }) {
  return (
    <section aria-labelledby="creds-title">
      <h2 id="creds-title">Get credentials</h2>
      <p>In a shell, for the next hour:</p>
      <pre>
        <code>{`eval "$(tvm credentials ${profile} --format env)"`}</code>
      </pre>
      <p>
        Or for every AWS tool, in <code>~/.aws/config</code>:
      </p>
      <pre>
        <code>{`[profile ${profile}]\ncredential_process = tvm credentials ${profile} --format credential-process`}</code>
      </pre>
      <p>The AWS console, from a shell:</p>
      <pre>
        <code>{`tvm console ${profile}`}</code>
      </pre>
    </section>
  );
}
