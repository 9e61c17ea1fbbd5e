// `alerts?rule=`: raised alerts, newest first, each linking to its key.
import { api } from '../api.js';
import { Show, useLoad } from '../ui.js';
import { AlertsTable } from './keys.js';

interface Alert {
  readonly id: string;
  readonly type: string;
  readonly at: string;
  readonly principal: string;
  readonly rule?: string;
  readonly severity?: string;
  readonly summary?: string;
  readonly accessKeyId?: string;
}

export function AlertsPage({ query, since }: { readonly query: URLSearchParams; readonly since?: string }) {
  const rule = query.get('rule') ?? '';
  const params = new URLSearchParams({ ...(rule ? { rule } : {}), ...(since ? { since } : {}) });
  const [alerts] = useLoad(() => api<{ alerts: Alert[] }>(`/alerts${params.size > 0 ? `?${params.toString()}` : ''}`), [params.toString()]);
  return (
    <section aria-labelledby="alerts-title">
      <h1 id="alerts-title">{since ? 'Alerts of the last 24 hours' : 'Alerts'}</h1>
      <Show loaded={alerts}>{(value) => <AlertsTable alerts={value.alerts} caption={rule ? `Alerts of rule ${rule}` : 'Raised alerts, newest first'} />}</Show>
    </section>
  );
}
