// The console's frame: sign-in (any page is a deep link that survives it), navigation by group
// (the API enforces; the console only hides what would be refused), the theme, the pages.
import { useEffect, useState } from 'preact/hooks';
import { CALLBACK_PATH, completeSignIn, currentSession, signIn, signOut, type Session } from './auth.js';
import { AccessPage } from './pages/access.js';
import { GrantsPage, ProfilesPage } from './pages/admin.js';
import { EngagementPage } from './pages/engagement.js';
import { AlertsPage } from './pages/alerts.js';
import { AuditPage } from './pages/audit.js';
import { HomePage } from './pages/home.js';
import { KeyPage } from './pages/keys.js';
import { LockdownPage } from './pages/lockdown.js';
import { MePage } from './pages/me.js';
import { RequestPage } from './pages/request.js';
import { RequestsPage } from './pages/requests.js';
import { VerifyPage } from './pages/verify.js';
import { href, here, navigate, useRoute, type Route } from './router.js';
import { asError, ErrorNotice, Loading } from './ui.js';

const SECURITY_GROUP = 'tvm-security';
const ADMIN_GROUP = 'tvm-admin';

type Theme = 'light' | 'dark' | 'system';

function useTheme(): [Theme, (theme: Theme) => void] {
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem('tvm.theme') as Theme | null) ?? 'system');
  useEffect(() => {
    if (theme === 'system') document.documentElement.removeAttribute('data-theme');
    else document.documentElement.setAttribute('data-theme', theme);
    localStorage.setItem('tvm.theme', theme);
  }, [theme]);
  return [theme, setTheme];
}

export function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session | undefined>(currentSession);
  const [failure, setFailure] = useState<Error | undefined>();
  // Signed out on purpose: stay out (an IdP with a session cookie would sign straight back in).
  const [signedOut, setSignedOut] = useState(false);
  const [theme, setTheme] = useTheme();

  useEffect(() => {
    if (route.path === CALLBACK_PATH) {
      completeSignIn(location.search).then(
        (returnTo) => {
          setSession(currentSession());
          navigate(returnTo);
        },
        (error: unknown) => setFailure(asError(error)),
      );
    } else if (session === undefined && !signedOut) {
      signIn(here()).catch((error: unknown) => setFailure(asError(error)));
    }
  }, [route.path, session, signedOut]);

  if (signedOut) {
    return (
      <main id="main" class="page">
        <h1>Signed out</h1>
        <p>Your token is gone from this tab.</p>
        <button type="button" class="primary" onClick={() => setSignedOut(false)}>
          Sign in
        </button>
      </main>
    );
  }

  if (failure) {
    return (
      <main id="main" class="page">
        <h1>Sign-in failed</h1>
        <ErrorNotice error={failure} />
        <p>
          <a href={href('')}>Try again</a>
        </p>
      </main>
    );
  }
  if (session === undefined || route.path === CALLBACK_PATH) {
    return (
      <main id="main" class="page">
        <Loading />
      </main>
    );
  }

  const may = (group: string) => session.groups.includes(group) || session.groups.includes(ADMIN_GROUP);
  const links: [string, string, boolean][] = [
    ['', 'Home', true],
    ['me', 'Me', true],
    ['requests', 'Requests', true],
    ['audit', 'Audit', may(SECURITY_GROUP)],
    ['alerts', 'Alerts', may(SECURITY_GROUP)],
    ['access', 'Access', may(SECURITY_GROUP)],
    ['lockdown', 'Lockdown', may(SECURITY_GROUP)],
    ['verify', 'Verify', may(SECURITY_GROUP)],
    ['profiles', 'Profiles', may(ADMIN_GROUP)],
    ['grants', 'Grants', may(ADMIN_GROUP)],
  ];
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">tvm</span>
        <nav aria-label="Main">
          <ul>
            {links
              .filter(([, , shown]) => shown)
              .map(([path, label]) => (
                <li key={path}>
                  <a href={href(path)} aria-current={route.path === path ? 'page' : undefined}>
                    {label}
                  </a>
                </li>
              ))}
          </ul>
        </nav>
        <label class="theme">
          Theme{' '}
          <select value={theme} onChange={(event) => setTheme((event.target as HTMLSelectElement).value as Theme)}>
            <option value="system">System</option>
            <option value="light">Light</option>
            <option value="dark">Dark</option>
          </select>
        </label>
        <span class="who">{session.principal}</span>
        <button
          type="button"
          onClick={() => {
            signOut();
            setSignedOut(true);
            setSession(undefined);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" class="page">
        <Page route={route} session={session} security={may(SECURITY_GROUP)} />
      </main>
    </>
  );
}

function Page({ route, session, security }: { readonly route: Route; readonly session: Session; readonly security: boolean }) {
  const { path, query } = route;
  if (path === '') return <HomePage security={security} />;
  if (path === 'me') return <MePage />;
  if (path === 'requests') return <RequestsPage query={query} principal={session.principal} groups={session.groups} overseer={security} />;
  if (path.startsWith('requests/')) return <RequestPage id={path.slice('requests/'.length)} principal={session.principal} groups={session.groups} admin={session.groups.includes(ADMIN_GROUP)} />;
  if (path === 'audit') return <AuditPage query={query} />;
  if (path.startsWith('keys/')) return <KeyPage accessKeyId={path.slice('keys/'.length)} />;
  if (path === 'alerts') return <AlertsPage query={query} />;
  if (path === 'access') return <AccessPage query={query} mayRevoke={session.groups.includes(ADMIN_GROUP)} />;
  if (path === 'lockdown') return <LockdownPage principal={session.principal} />;
  if (path === 'verify') return <VerifyPage />;
  if (path.startsWith('engagements/')) return <EngagementPage id={path.slice('engagements/'.length)} mayNameOthers={session.groups.includes(ADMIN_GROUP)} />;
  if (path === 'profiles') return <ProfilesPage />;
  if (path === 'grants') return <GrantsPage />;
  return (
    <section>
      <h1>Not found</h1>
      <p role="alert" class="error">
        <strong>NOT_FOUND</strong>: there is no page {path} in the console.
      </p>
    </section>
  );
}
