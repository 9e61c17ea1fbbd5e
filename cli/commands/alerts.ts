// `tvm alerts`: the alerts tvm raised, newest first (tvm-security, tvm-admin).
import { Command, Option } from 'commander';
import { ALERT_RULES, type AlertRaisedEvent } from '../../shared/domain/audit.js';
import type { AlertsPage } from '../../shared/domain/query-audit.js';
import { connect } from '../api.js';
import { parseCursor, parseLimit, parseTime } from '../arguments.js';
import { render } from '../formats.js';
import type { CliContext } from '../context.js';
import { printTable, type Column } from '../output.js';

export const ALERT_COLUMNS: readonly Column<AlertRaisedEvent>[] = [
  { key: 'at', header: 'AT' },
  { key: 'severity', header: 'SEVERITY' },
  { key: 'rule', header: 'RULE' },
  { key: 'principal', header: 'PRINCIPAL' },
  { key: 'profile', header: 'PROFILE' },
  { key: 'accessKeyId', header: 'ACCESS KEY' },
  { key: 'summary', header: 'SUMMARY' },
];

interface AlertsOptions {
  readonly since?: string;
  readonly rule?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

export function createAlertsCommand(context: CliContext): Command {
  return new Command('alerts')
    .description('list raised alerts, newest first (GET /alerts, tvm-security or tvm-admin)')
    .option('--since <time>', 'not before (default 7 days ago): ISO 8601, or relative (-24h)', (value: string) => parseTime(value))
    .addOption(new Option('--rule <rule>', 'only alerts of this rule').choices(ALERT_RULES))
    .option('--limit <n>', 'alerts per page, 1-100 (default 50)', parseLimit)
    .option('--cursor <cursor>', 'continue after this page (the nextCursor of the one before)', parseCursor)
    .action(async (options: AlertsOptions, command: Command) => {
      const api = await connect(context, command);
      const page = await api.request<AlertsPage>('GET', '/alerts', { query: { ...options } });
      render(context, command, page, () => {
        printTable(context.stdout, page.alerts, ALERT_COLUMNS);
        if (page.nextCursor) context.stdout.write(`more: --cursor '${page.nextCursor}'\n`);
      });
    });
}
