// Home: the lockdown's state for everyone; for the security team, the alerts of the last 24 hours.
import { api } from '../api.js';
import { href } from '../router.js';
import { Show, useLoad } from '../ui.js';
import { AlertsPage } from './alerts.js';

export function HomePage({ security }: { readonly security: boolean }) {
  const [lockdown] = useLoad(() => api<{ active: boolean; profiles: readonly string[] }>('/lockdown'), []);
  const since = new Date(Date.now() - 24 * 3_600_000).toISOString();
  return (
    <>
      <section aria-labelledby="home-title">
        <h1 id="home-title">tvm</h1>
        <Show loaded={lockdown}>
          {(value) => (
            <p data-testid="home-lockdown">
              Lockdown: <strong>{value.active ? `active on ${value.profiles.join(', ')}` : 'not active'}</strong>
              {security && (
                <>
                  {' '}
                  (<a href={href('lockdown')}>manage</a>)
                </>
              )}
            </p>
          )}
        </Show>
        <p>
          <a href={href('me')}>Your grants and how to get credentials</a>
        </p>
      </section>
      {security && <AlertsPage query={new URLSearchParams()} since={since} />}
    </>
  );
}
