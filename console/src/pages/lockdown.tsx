// `lockdown`: its state; activating it (profiles, who stays allowed, why, whether to cut live
// sessions); lifting it, which takes a second member of tvm-security: the activator is told why not.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { asError, ErrorNotice, Show, Time, useLoad } from '../ui.js';

interface Lockdown {
  readonly active: boolean;
  readonly profiles: readonly string[];
  readonly roles?: readonly string[];
  readonly allow?: { readonly groups?: readonly string[]; readonly principals?: readonly string[] };
  readonly reason?: string;
  readonly activatedBy?: string;
  readonly activatedAt?: string;
  readonly revokedSessions?: readonly unknown[];
}

const list = (text: FormDataEntryValue | null) =>
  String(text ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

export function LockdownPage({ principal }: { readonly principal: string }) {
  const [lockdown, reload] = useLoad(() => api<Lockdown>('/lockdown'), []);
  const [failure, setFailure] = useState<Error | undefined>();
  const [done, setDone] = useState<string | undefined>();

  const submit = (send: (form: FormData) => Promise<unknown>, said: string) => (event: Event) => {
    event.preventDefault();
    setFailure(undefined);
    setDone(undefined);
    send(new FormData(event.currentTarget as HTMLFormElement)).then(
      () => {
        setDone(said);
        reload();
      },
      (error: unknown) => setFailure(asError(error)),
    );
  };

  return (
    <section aria-labelledby="lockdown-title">
      <h1 id="lockdown-title">Lockdown</h1>
      {done && <p role="status">{done}</p>}
      {failure && <ErrorNotice error={failure} />}
      <Show loaded={lockdown}>
        {(value) =>
          value.active ? (
            <>
              <p class="state" data-testid="lockdown-state">
                <strong>Active</strong> since <Time iso={value.activatedAt} />, by {value.activatedBy ?? '?'}: {value.reason}
              </p>
              <dl class="facts">
                <dt>Profiles</dt>
                <dd>{value.profiles.join(', ')}</dd>
                <dt>Allowed groups</dt>
                <dd>{(value.allow?.groups ?? []).join(', ') || 'none'}</dd>
                <dt>Allowed people</dt>
                <dd>{(value.allow?.principals ?? []).join(', ') || 'none'}</dd>
              </dl>
              <h2>Lift it</h2>
              {value.activatedBy === principal && (
                <p id="second-person">You activated this lockdown: a second member of tvm-security must lift it.</p>
              )}
              <form onSubmit={submit((form) => api('/lockdown', { method: 'DELETE', body: { reason: String(form.get('reason') ?? '') } }), 'The lockdown is lifted.')}>
                <label>
                  Reason for lifting
                  <input name="reason" required />
                </label>
                <button type="submit" aria-describedby={value.activatedBy === principal ? 'second-person' : undefined}>
                  Lift lockdown
                </button>
              </form>
            </>
          ) : (
            <>
              <p class="state" data-testid="lockdown-state">
                <strong>Not active</strong>: everyone with a grant can get credentials.
              </p>
              <h2>Activate</h2>
              <form
                onSubmit={submit(
                  (form) =>
                    api('/lockdown', {
                      method: 'PUT',
                      body: {
                        profiles: list(form.get('profiles')),
                        allow: { groups: list(form.get('groups')), principals: list(form.get('principals')) },
                        reason: String(form.get('reason') ?? ''),
                        revokeActiveSessions: form.get('cut') === 'on',
                      },
                    }),
                  'The lockdown is active.',
                )}
              >
                <label>
                  Profiles (comma-separated, or *)
                  <input name="profiles" required />
                </label>
                <label>
                  Allowed groups (comma-separated)
                  <input name="groups" />
                </label>
                <label>
                  Allowed people (comma-separated)
                  <input name="principals" />
                </label>
                <label>
                  Reason
                  <input name="reason" required />
                </label>
                <label class="inline">
                  <input type="checkbox" name="cut" /> Cut off live sessions of everyone else
                </label>
                <button type="submit" class="primary">
                  Activate lockdown
                </button>
              </form>
            </>
          )
        }
      </Show>
    </section>
  );
}
