// `tvm audit events|trace|access|verify`: the security team's questions to the audit trail
// (tvm-security or tvm-admin).
import { Command, Option } from 'commander';
import type { AlertRaisedEvent, AuditEvent, CredentialIssuedEvent } from '../../shared/domain/audit.js';
import { AUDIT_EVENT_TYPES } from '../../shared/domain/audit.js';
import type { AuditPage, BrokenLink } from '../../shared/domain/ports.js';
import type { KeyRevocation, KeyTrace, KeyUse } from '../../shared/domain/trace-access-key.js';
import type { VerifyResult } from '../../shared/domain/verify-audit.js';
import type { GrantWithChain, LiveSession, ProfileAccess } from '../../shared/domain/who-has-access.js';
import type { ApiClient } from '../api.js';
import { connect } from '../api.js';
import { parseAccessKeyId, parseCursor, parseLimit, parsePrincipalId, parseProfileName, parseTime } from '../arguments.js';
import { CliError, EXIT } from '../errors.js';
import { formatSubject, formatYesNo, printHeading, render, segment } from '../formats.js';
import type { CliContext } from '../context.js';
import { formatValue, printFields, printTable, type Column } from '../output.js';
import { ALERT_COLUMNS } from './alerts.js';

/** `--all` reads at most this many pages (of up to 100 events): a bound, not a dump of the table. */
export const MAX_PAGES = 50;

const TIME_HELP = 'a date (2026-12-01), ISO 8601, now, or relative (-24h, -7d)';

const EVENT_COLUMNS: readonly Column<AuditEvent>[] = [
  { key: 'at', header: 'AT' },
  { key: 'type', header: 'TYPE' },
  { key: 'principal', header: 'PRINCIPAL' },
  // An event about several profiles (a lockdown, an engagement) lists them all; `*` is every profile.
  { key: 'profile', header: 'PROFILE', format: (profile, event) => formatValue(event.profiles ?? profile) },
  { key: 'accessKeyId', header: 'ACCESS KEY' },
  { key: 'type', header: 'DETAIL', format: (_type, event) => describeEvent(event) },
];

interface EventsOptions {
  readonly principal?: string;
  readonly profile?: string;
  readonly type?: string;
  readonly accessKeyId?: string;
  readonly from?: string;
  readonly to?: string;
  readonly limit?: number;
  readonly cursor?: string;
  readonly all?: boolean;
}

export function createAuditCommand(context: CliContext): Command {
  const events = new Command('events')
    .description('audit events, newest first, one page at a time (GET /audit/events)')
    .option('--principal <id>', 'only events of this principal', parsePrincipalId)
    .option('--profile <name>', 'only events about this profile', parseProfileName)
    .addOption(new Option('--type <type>', 'only events of this type').choices(AUDIT_EVENT_TYPES))
    .option('--access-key-id <id>', 'only events about this access key', parseAccessKeyId)
    .option('--from <time>', `not before: ${TIME_HELP}`, (value: string) => parseTime(value))
    .option('--to <time>', `not after: ${TIME_HELP}`, (value: string) => parseTime(value))
    .option('--limit <n>', 'events per page, 1-100 (default 50)', parseLimit)
    .option('--cursor <cursor>', 'continue after this page (the nextCursor of the one before)', parseCursor)
    .option('--all', `follow nextCursor through every page (at most ${MAX_PAGES} pages)`)
    .addHelpText(
      'after',
      `
Examples:
  tvm audit events --principal alice@example.com --from -24h
  tvm audit events --access-key-id ASIA… --type credential.used --all --json`,
    )
    .action(async (options: EventsOptions, command: Command) => {
      const api = await connect(context, command);
      const { all, ...query } = options;
      const page = all ? await readAllPages(api, query) : await api.request<AuditPage>('GET', '/audit/events', { query: { ...query } });
      render(context, command, page, () => {
        printTable(context.stdout, page.events, EVENT_COLUMNS);
        if (page.nextCursor) context.stdout.write(`more: --cursor '${page.nextCursor}'\n`);
      });
    });

  const trace = new Command('trace')
    .description("where a key came from and everything it did: issuance, uses, revocations, alerts (GET /audit/keys/{accessKeyId})")
    .argument('<accessKeyId>', 'an AWS access key id (ASIA…)', parseAccessKeyId)
    .action(async (accessKeyId: string, _options: unknown, command: Command) => {
      const api = await connect(context, command);
      const answer = await api.request<KeyTrace>('GET', `/audit/keys/${segment(accessKeyId)}`);
      render(context, command, answer, () => showTrace(context, answer));
    });

  const access = new Command('access')
    .description('who has access to a profile now: grants with their delegation chain, live sessions (GET /audit/access)')
    .argument('<profile>', 'profile name', parseProfileName)
    .action(async (profile: string, _options: unknown, command: Command) => {
      const api = await connect(context, command);
      const answer = await api.request<ProfileAccess>('GET', '/audit/access', { query: { profile } });
      render(context, command, answer, () => showAccess(context, answer));
    });

  const verify = new Command('verify')
    .description('check the hash chains of the audit trail (GET /audit/verify; default the last 24 h, at most 31 days)')
    .option('--from <time>', `start: ${TIME_HELP}`, (value: string) => parseTime(value))
    .option('--to <time>', `end (default now): ${TIME_HELP}`, (value: string) => parseTime(value))
    .addHelpText('after', `\nExit status: ${EXIT.ok} when every chain checks out, ${EXIT.refused} when any link is broken (listed).`)
    .action(async (options: { from?: string; to?: string }, command: Command) => {
      const api = await connect(context, command);
      const result = await api.request<VerifyResult>('GET', '/audit/verify', { query: { from: options.from, to: options.to } });
      render(context, command, result, () => showVerify(context, result));
      // A broken chain is an answer, not a failure to get one, but scripts must not read it as success.
      if (!result.ok) {
        throw new CliError(`the audit trail is broken: ${result.broken.length} link(s) failed verification`, EXIT.refused, 'AUDIT_CHAIN_BROKEN');
      }
    });

  return new Command('audit')
    .description("query the audit trail (tvm-security, tvm-admin)")
    .addCommand(events)
    .addCommand(trace)
    .addCommand(access)
    .addCommand(verify);
}

/** Every page from the first (or --cursor) on, as one page: `nextCursor` only if the bound stopped it. */
async function readAllPages(api: ApiClient, query: Omit<EventsOptions, 'all'>): Promise<AuditPage> {
  const events: AuditEvent[] = [];
  let cursor = query.cursor;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page = await api.request<AuditPage>('GET', '/audit/events', { query: { ...query, cursor } });
    events.push(...page.events);
    if (!page.nextCursor) return { events };
    cursor = page.nextCursor;
  }
  return { events, nextCursor: cursor };
}

/** One line on what the event says, by type. */
export function describeEvent(event: AuditEvent): string {
  switch (event.type) {
    case 'credential.issued':
      return `grant ${event.grantId}, ${event.durationSeconds} s, expires ${event.expiration}`;
    case 'credential.denied':
      return `${event.code}: ${event.message}`;
    case 'credential.used':
      return `${event.eventSource} ${event.eventName} from ${event.sourceIPAddress}${event.errorCode ? ` (${event.errorCode})` : ''}${event.issuance ? '' : ' [session not issued by tvm]'}`;
    case 'alert.raised':
      return `${event.severity} ${event.rule}: ${event.summary}`;
    default: {
      const detail = event.detail ?? {};
      const why = detail.reason ?? detail.cause;
      return [event.grantId ? `grant ${event.grantId}` : '', typeof why === 'string' ? why : ''].filter(Boolean).join(', ') || '-';
    }
  }
}

const ISSUANCE_FIELDS: readonly Column<CredentialIssuedEvent>[] = [
  { key: 'principal', header: 'issued to' },
  { key: 'at', header: 'issued' },
  { key: 'expiration', header: 'expires' },
  { key: 'profile', header: 'profile' },
  { key: 'grantId', header: 'grant' },
  { key: 'roleArn', header: 'role' },
  { key: 'sessionName', header: 'session name' },
  { key: 'sourceIdentity', header: 'source identity' },
  { key: 'sourceIp', header: 'from' },
  { key: 'requestId', header: 'request' },
];

const USE_COLUMNS: readonly Column<KeyUse>[] = [
  { key: 'eventTime', header: 'TIME' },
  { key: 'eventSource', header: 'SERVICE' },
  { key: 'eventName', header: 'CALL' },
  { key: 'awsRegion', header: 'REGION' },
  { key: 'sourceIPAddress', header: 'SOURCE IP' },
  { key: 'errorCode', header: 'ERROR' },
];

const REVOCATION_COLUMNS: readonly Column<KeyRevocation>[] = [
  { key: 'at', header: 'AT' },
  { key: 'kind', header: 'KIND' },
  { key: 'by', header: 'BY' },
  { key: 'reason', header: 'REASON' },
  { key: 'kind', header: 'REF', format: (_kind, revocation) => (revocation.kind === 'grant' ? revocation.grantId : revocation.eventId) },
];

function showTrace(context: CliContext, trace: KeyTrace): void {
  context.stdout.write(`access key: ${trace.accessKeyId}\n`);
  if (trace.issuance) printFields(context.stdout, trace.issuance, ISSUANCE_FIELDS);
  else context.stdout.write('issued by: nobody tvm knows (a session of a target role tvm did not issue)\n');
  printHeading(context, 'uses');
  printTable(context.stdout, trace.uses, USE_COLUMNS);
  // Hot keys have more uses than one answer holds: the rest are a page of `audit events` away.
  if (trace.usesTruncated) {
    context.stdout.write(
      `(the newest ${trace.uses.length} uses; older ones: tvm audit events --access-key-id ${trace.accessKeyId} --type credential.used` +
        `${trace.olderUsesCursor ? ` --cursor '${trace.olderUsesCursor}'` : ''})\n`,
    );
  }
  printHeading(context, 'revocations');
  printTable(context.stdout, trace.revocations, REVOCATION_COLUMNS);
  printHeading(context, 'alerts');
  printTable<AlertRaisedEvent>(context.stdout, trace.alerts, ALERT_COLUMNS);
}

const ACCESS_GRANT_COLUMNS: readonly Column<GrantWithChain>[] = [
  { key: 'subject', header: 'SUBJECT', format: formatSubject },
  { key: 'id', header: 'GRANT' },
  { key: 'validUntil', header: 'VALID UNTIL' },
  { key: 'canDelegate', header: 'DELEGATE', format: formatYesNo },
  { key: 'engagementId', header: 'ENGAGEMENT' },
  {
    key: 'chain',
    header: 'CHAIN (root first)',
    format: (chain) => {
      const links = chain as GrantWithChain['chain'];
      return `${links[0]?.createdBy ?? '?'} → ${links.map((link) => (link.subject ? formatSubject(link.subject) : `?${link.grantId}`)).join(' → ')}`;
    },
  },
];

const SESSION_COLUMNS: readonly Column<LiveSession>[] = [
  { key: 'accessKeyId', header: 'ACCESS KEY' },
  { key: 'principal', header: 'PRINCIPAL' },
  { key: 'grantId', header: 'GRANT' },
  { key: 'issuedAt', header: 'ISSUED' },
  { key: 'expiration', header: 'EXPIRES' },
  {
    key: 'lastUse',
    header: 'LAST USE',
    format: (lastUse) => {
      const use = lastUse as LiveSession['lastUse'];
      return use ? `${use.eventName} at ${use.at} from ${use.sourceIPAddress}` : 'never';
    },
  },
];

function showAccess(context: CliContext, access: ProfileAccess): void {
  context.stdout.write(`profile: ${access.profile}\nat:      ${access.at}\n`);
  printHeading(context, 'grants usable now');
  printTable(context.stdout, access.grants, ACCESS_GRANT_COLUMNS);
  printHeading(context, 'live sessions');
  printTable(context.stdout, access.sessions, SESSION_COLUMNS);
}

function showVerify(context: CliContext, result: VerifyResult): void {
  const verdict = result.ok ? 'ok' : 'BROKEN';
  context.stdout.write(`${verdict}: ${result.checked} events checked from ${result.from} to ${result.to}\n`);
  // What was written after a day's anchor rests on the hash chain alone.
  for (const { day, at, chains } of result.anchors ?? []) context.stdout.write(`anchored: ${day}'s ${chains} chains as of ${at}\n`);
  if (!result.ok) printTable<BrokenLink>(context.stdout, result.broken, [
    { key: 'id', header: 'EVENT' },
    { key: 'reason', header: 'REASON' },
  ]);
}
