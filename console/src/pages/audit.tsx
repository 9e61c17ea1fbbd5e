// `audit?principal=&profile=&type=&accessKeyId=&from=&to=`: the timeline, newest first. The
// filters live in the address (a view can be shared), more is loaded by cursor, each row opens to
// its JSON, and every access key links to its trace.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, download } from '../api.js';
import { href, navigate } from '../router.js';
import { asError, ErrorNotice, Loading, Time } from '../ui.js';

const FILTERS = ['principal', 'profile', 'type', 'accessKeyId', 'from', 'to'] as const;

interface AuditEvent {
  readonly id: string;
  readonly type: string;
  readonly at: string;
  readonly principal: string;
  readonly profile?: string;
  readonly accessKeyId?: string;
}

export function AuditPage({ query }: { readonly query: URLSearchParams }) {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, query.get(name) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const key = FILTERS.map((name) => filters[name]).join('|');
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [cursor, setCursor] = useState<string | undefined>();
  const [state, setState] = useState<'loading' | 'idle' | Error>('loading');
  const [exportFailure, setExportFailure] = useState<Error | undefined>();
  const [exported, setExported] = useState<{ format: 'csv' | 'ndjson'; count: number; nextCursor?: string } | undefined>();
  const exportAs = (format: 'csv' | 'ndjson', from?: string) => {
    setExportFailure(undefined);
    const params = new URLSearchParams(Object.entries(filters).filter(([, value]) => value !== ''));
    params.set('format', format);
    if (from) params.set('cursor', from);
    download(`/audit/events?${params.toString()}`).then(
      (result) => setExported({ format, ...result }),
      (error: unknown) => setExportFailure(asError(error)),
    );
  };

  // The filters a page of events was asked for: an answer for filters since changed is dropped, so
  // a slow read of the unfiltered timeline never lands on top of the filtered one.
  const asked = useRef(key);
  asked.current = key;
  const load = (after?: string) => {
    const params = new URLSearchParams(Object.entries(filters).filter(([, value]) => value !== ''));
    params.set('limit', '50');
    if (after) params.set('cursor', after);
    setState('loading');
    const forKey = key;
    api<{ events: AuditEvent[]; nextCursor?: string }>(`/audit/events?${params.toString()}`).then(
      (page) => {
        if (asked.current !== forKey) return;
        setEvents((shown) => (after ? [...shown, ...page.events] : page.events));
        setCursor(page.nextCursor);
        setState('idle');
      },
      (error: unknown) => asked.current === forKey && setState(asError(error)),
    );
  };
  useEffect(() => load(), [key]);

  const apply = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const params = new URLSearchParams();
    for (const name of FILTERS) {
      const value = String(form.get(name) ?? '').trim();
      if (value !== '') params.set(name, value);
    }
    navigate(`audit${params.size > 0 ? `?${params.toString()}` : ''}`);
  };

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit timeline</h1>
      <form class="filters" onSubmit={apply} key={key}>
        {FILTERS.map((name) => (
          <label key={name}>
            {name === 'accessKeyId' ? 'Access key' : name[0]?.toUpperCase() + name.slice(1)}
            <input name={name} defaultValue={filters[name]} placeholder={name === 'from' || name === 'to' ? '2026-06-01T12:00:00Z' : ''} />
          </label>
        ))}
        <button type="submit" class="primary">
          Filter
        </button>
      </form>
      <p>
        Export everything these filters match (recorded in the audit trail):{' '}
        <button type="button" onClick={() => exportAs('csv')}>
          Export CSV
        </button>{' '}
        <button type="button" onClick={() => exportAs('ndjson')}>
          Export NDJSON
        </button>
      </p>
      {exportFailure && <ErrorNotice error={exportFailure} />}
      {exported && (
        <p role="status">
          Exported {exported.count} events.
          {exported.nextCursor && (
            <>
              {' '}
              More matched than one file holds:{' '}
              <button type="button" onClick={() => exportAs(exported.format, exported.nextCursor)}>
                Export the next ones
              </button>
            </>
          )}
        </p>
      )}
      <table>
        <caption>Events, newest first ({events.length} shown)</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Type</th>
            <th scope="col">Principal</th>
            <th scope="col">Profile</th>
            <th scope="col">Access key</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.id}>
              <td>
                <Time iso={event.at} />
              </td>
              <th scope="row">
                <details>
                  <summary>{event.type}</summary>
                  <pre>
                    <code>{JSON.stringify(event, null, 2)}</code>
                  </pre>
                </details>
              </th>
              <td>{event.principal}</td>
              <td>{event.profile ?? '—'}</td>
              <td>{event.accessKeyId ? <a href={href(`keys/${encodeURIComponent(event.accessKeyId)}`)}>{event.accessKeyId}</a> : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {state === 'loading' && <Loading />}
      {state instanceof Error && <ErrorNotice error={state} />}
      {state === 'idle' && events.length === 0 && <p role="status">No events match.</p>}
      {state === 'idle' && cursor && (
        <button type="button" onClick={() => load(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}
