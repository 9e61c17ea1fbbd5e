// Small pieces every page uses: loading data with its error shown (code and message, announced),
// times in UTC and local time.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.js';

export type Loaded<T> = { readonly state: 'loading' } | { readonly state: 'done'; readonly value: T } | { readonly state: 'failed'; readonly error: Error };

export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): [Loaded<T>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setLoaded({ state: 'loading' });
    load().then(
      (value) => current && setLoaded({ state: 'done', value }),
      (error: unknown) => current && setLoaded({ state: 'failed', error: asError(error) }),
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  return [loaded, () => setRound((n) => n + 1)];
}

/** What a rejected promise carries, as an Error to show. */
export const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/** The one row of a table that has nothing to list, saying so. */
export function EmptyRow({ columns, children }: { readonly columns: number; readonly children: ComponentChildren }) {
  return (
    <tr>
      <td colSpan={columns} class="muted">
        {children}
      </td>
    </tr>
  );
}

export function ErrorNotice({ error }: { readonly error: Error }) {
  const code = error instanceof ApiError ? error.code : 'ERROR';
  return (
    <p role="alert" class="error">
      <strong>{code}</strong>: {error.message}
    </p>
  );
}

export function Loading() {
  return (
    <p role="status" class="muted">
      Loading…
    </p>
  );
}

export function Show<T>({ loaded, children }: { readonly loaded: Loaded<T>; readonly children: (value: T) => ComponentChildren }) {
  if (loaded.state === 'loading') return <Loading />;
  if (loaded.state === 'failed') return <ErrorNotice error={loaded.error} />;
  return <>{children(loaded.value)}</>;
}

/** An instant in UTC, with the viewer's local time beside it. */
export function Time({ iso }: { readonly iso: string | undefined }) {
  if (iso === undefined) return <span class="muted">—</span>;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return <span>{iso}</span>;
  const utc = date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const local = date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  return (
    <time dateTime={date.toISOString()} title={`local time: ${local}`}>
      {utc} <span class="muted">({local})</span>
    </time>
  );
}
