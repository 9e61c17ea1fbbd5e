// `verify`: the tamper-evidence check of a range (default the last 24 hours), with the broken links.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { asError, ErrorNotice, Loading, Time } from '../ui.js';

interface VerifyReport {
  readonly ok: boolean;
  readonly checked: number;
  readonly broken: readonly { readonly id: string; readonly reason: string }[];
  readonly from: string;
  readonly to: string;
}

export function VerifyPage() {
  const [state, setState] = useState<'idle' | 'running' | VerifyReport | Error>('idle');
  const run = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const params = new URLSearchParams();
    for (const name of ['from', 'to']) {
      const value = String(form.get(name) ?? '').trim();
      if (value !== '') params.set(name, value);
    }
    setState('running');
    api<VerifyReport>(`/audit/verify${params.size > 0 ? `?${params.toString()}` : ''}`).then(setState, (error: unknown) =>
      setState(asError(error)),
    );
  };
  return (
    <section aria-labelledby="verify-title">
      <h1 id="verify-title">Verify the audit trail</h1>
      <form onSubmit={run}>
        <label>
          From (default 24 hours ago)
          <input name="from" placeholder="2026-06-01T00:00:00Z" />
        </label>
        <label>
          To (default now)
          <input name="to" placeholder="2026-06-02T00:00:00Z" />
        </label>
        <button type="submit" class="primary">
          Verify
        </button>
      </form>
      {state === 'running' && <Loading />}
      {state instanceof Error && <ErrorNotice error={state} />}
      {typeof state === 'object' && !(state instanceof Error) && (
        <>
          <p role="status" data-testid="verify-result">
            <strong>{state.ok ? 'Intact' : 'Broken'}</strong>: {state.checked} events checked from <Time iso={state.from} /> to <Time iso={state.to} />.
          </p>
          {state.broken.length > 0 && (
            <table>
              <caption>Broken links</caption>
              <thead>
                <tr>
                  <th scope="col">Event or chain</th>
                  <th scope="col">Finding</th>
                </tr>
              </thead>
              <tbody>
                {state.broken.map((link) => (
                  <tr key={`${link.id}-${link.reason}`}>
                    <th scope="row">{link.id}</th>
                    <td>{link.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
