// Paths under the console's base (`keys/ASIA…`, `audit?principal=…`): the address bar is the state,
// so every view is a link someone can share.
import { useEffect, useState } from 'preact/hooks';

const BASE = import.meta.env.BASE_URL;

export interface Route {
  /** The path under the console, without a leading slash: '' for home. */
  readonly path: string;
  readonly query: URLSearchParams;
}

export function currentRoute(): Route {
  const path = (location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '').replace(/\/$/, '');
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    decoded = path; // a malformed escape: the page that cannot match it says "not found"
  }
  return { path: decoded, query: new URLSearchParams(location.search) };
}

/** The current path and query, relative to the console, as a deep link carries them. */
export const here = () => `${location.pathname.slice(BASE.length)}${location.search}`;

export const href = (path: string) => `${BASE}${path}`;

export function navigate(path: string): void {
  history.pushState(null, '', href(path));
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return route;
}

/** Same-origin links under the console move without reloading; others (and modified clicks) as usual. */
export function interceptLinks(): void {
  document.addEventListener('click', (event) => {
    const link = (event.target as Element | null)?.closest?.('a');
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith(BASE) || link.target !== '') return;
    event.preventDefault();
    navigate(`${url.pathname.slice(BASE.length)}${url.search}`);
  });
}
