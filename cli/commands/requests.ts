// Access requests: `tvm request` asks for a requestable profile, `tvm approve` and `tvm deny` decide,
// `tvm requests` lists and follows them up (show, cancel, revoke). The API decides who may do what.
import { Command } from 'commander';
import type { PublicRequest } from '../../shared/domain/model.js';
import type { RevokedRequest } from '../../shared/domain/manage-requests.js';
import { connect } from '../api.js';
import { parseAccessDuration, parseAction, parseProfileName, parseReason, parseRequestId, parseResource, parseTime, repeatable, scopeOf } from '../arguments.js';
import { printCutOff } from '../cut-offs.js';
import { formatScope, formatSeconds, printHeading, render, segment } from '../formats.js';
import type { CliContext } from '../context.js';
import { printFields, printTable, type Column } from '../output.js';

const formatApprovals = (_: unknown, request: PublicRequest) => `${request.approvals.length}/${request.approvalsRequired}`;

const REQUEST_COLUMNS: readonly Column<PublicRequest>[] = [
  { key: 'id', header: 'ID' },
  { key: 'profile', header: 'PROFILE' },
  { key: 'requester', header: 'REQUESTER' },
  { key: 'status', header: 'STATUS' },
  { key: 'durationSeconds', header: 'FOR', format: formatSeconds },
  { key: 'approvals', header: 'APPROVALS', format: formatApprovals },
  { key: 'expiresAt', header: 'DECIDE BY' },
];

const REQUEST_FIELDS: readonly Column<PublicRequest>[] = [
  { key: 'id', header: 'id' },
  { key: 'profile', header: 'profile' },
  { key: 'requester', header: 'requester' },
  { key: 'status', header: 'status' },
  { key: 'durationSeconds', header: 'for', format: formatSeconds },
  { key: 'reason', header: 'reason' },
  { key: 'scope', header: 'scope', format: formatScope },
  { key: 'startAt', header: 'not before' },
  { key: 'approvals', header: 'approvals', format: formatApprovals },
  { key: 'approverGroups', header: 'approvers', format: (groups) => (Array.isArray(groups) ? groups.join(', ') : '-') },
  { key: 'expiresAt', header: 'decide by' },
  { key: 'grantId', header: 'grant' },
  { key: 'grantValidFrom', header: 'access from' },
  { key: 'grantValidUntil', header: 'access until' },
];

type Step = PublicRequest['history'][number];
const HISTORY_COLUMNS: readonly Column<Step>[] = [
  { key: 'at', header: 'AT' },
  { key: 'action', header: 'STEP' },
  { key: 'by', header: 'BY' },
  { key: 'comment', header: 'COMMENT' },
];

function printRequest(context: CliContext, request: PublicRequest): void {
  printFields(context.stdout, request, REQUEST_FIELDS);
  printHeading(context, 'history');
  printTable(context.stdout, request.history, HISTORY_COLUMNS);
}

interface AskOptions {
  readonly duration: number;
  readonly reason?: string;
  readonly action?: string[];
  readonly resource?: string[];
  readonly startAt?: string;
}

export function createRequestCommand(context: CliContext): Command {
  return new Command('request')
    .description('ask for time-boxed access to a requestable profile; its approvers decide (POST /requests)')
    .argument('<profile>', 'the profile', parseProfileName)
    .requiredOption('--duration <span>', 'how long the access lasts once approved: 2h, 90m, 1d', parseAccessDuration)
    .option('--reason <text>', 'why (required by most profiles)', parseReason)
    .option('--action <action>', 'only this IAM action (repeatable; default: the profile\'s)', repeatable(parseAction))
    .option('--resource <arn>', 'only this resource ARN pattern (repeatable)', repeatable(parseResource))
    .option('--start-at <time>', 'not before this time (ISO 8601 or +4h)', (value: string) => parseTime(value))
    .addHelpText('after', '\nExample:\n  tvm request prod-read --duration 2h --reason "INC-4711: read the failing job\'s logs"')
    .action(async (profile: string, options: AskOptions, command: Command) => {
      const scope = scopeOf(options.action, options.resource);
      const body = {
        profile,
        durationSeconds: options.duration,
        ...(options.reason !== undefined ? { reason: options.reason } : {}),
        ...(scope ? { scope } : {}),
        ...(options.startAt !== undefined ? { startAt: options.startAt } : {}),
      };
      const api = await connect(context, command);
      const request = await api.request<PublicRequest>('POST', '/requests', { body });
      render(context, command, request, () => {
        printRequest(context, request);
        context.stdout.write(`\nwaiting for ${request.approvalsRequired} approval(s) from ${request.approverGroups.join(' or ')}; see tvm requests show ${request.id}\n`);
      });
    });
}

/** `tvm approve <id>` and `tvm deny <id> --comment …`: a decision by one of the profile's approvers. */
function decisionCommand(context: CliContext, decision: 'approve' | 'deny'): Command {
  const command = new Command(decision)
    .description(decision === 'approve' ? 'approve a pending request (POST /requests/{id}/approve)' : 'deny a pending request, saying why (POST /requests/{id}/deny)')
    .argument('<id>', 'request id', parseRequestId);
  if (decision === 'approve') command.option('--comment <text>', 'a note for the record', parseReason);
  else command.requiredOption('--comment <text>', 'why it is denied', parseReason);
  return command.action(async (id: string, options: { comment?: string }, self: Command) => {
    const api = await connect(context, self);
    const request = await api.request<PublicRequest>('POST', `/requests/${segment(id)}/${decision}`, {
      body: options.comment === undefined ? {} : { comment: options.comment },
    });
    render(context, self, request, () => printRequest(context, request));
  });
}

export const createApproveCommand = (context: CliContext) => decisionCommand(context, 'approve');
export const createDenyCommand = (context: CliContext) => decisionCommand(context, 'deny');

export function createRequestsCommand(context: CliContext): Command {
  const show = new Command('show')
    .description('a request and its history (GET /requests/{id})')
    .argument('<id>', 'request id', parseRequestId)
    .action(async (id: string, _options: unknown, command: Command) => {
      const api = await connect(context, command);
      const request = await api.request<PublicRequest>('GET', `/requests/${segment(id)}`);
      render(context, command, request, () => printRequest(context, request));
    });

  const cancel = new Command('cancel')
    .description('withdraw your pending request (POST /requests/{id}/cancel)')
    .argument('<id>', 'request id', parseRequestId)
    .option('--comment <text>', 'a note for the record', parseReason)
    .action(async (id: string, options: { comment?: string }, command: Command) => {
      const api = await connect(context, command);
      const request = await api.request<PublicRequest>('POST', `/requests/${segment(id)}/cancel`, { body: options.comment === undefined ? {} : { comment: options.comment } });
      render(context, command, request, () => printRequest(context, request));
    });

  const revoke = new Command('revoke')
    .description('end an approved request\'s access now and cut off its live sessions (POST /requests/{id}/revoke)')
    .argument('<id>', 'request id', parseRequestId)
    .option('--comment <text>', 'a note for the record', parseReason)
    .action(async (id: string, options: { comment?: string }, command: Command) => {
      const api = await connect(context, command);
      const revoked = await api.request<RevokedRequest>('POST', `/requests/${segment(id)}/revoke`, { body: options.comment === undefined ? {} : { comment: options.comment } });
      render(context, command, revoked, () => {
        context.stdout.write(`revoked request ${revoked.id} (${revoked.profile} for ${revoked.requester})\n`);
        printCutOff(context, revoked);
      });
    });

  return new Command('requests')
    .description('access requests: yours and those you may decide (GET /requests); show, cancel, revoke')
    .option('--pending', 'only pending requests')
    .option('--mine', 'only your own requests')
    .action(async (options: { pending?: boolean; mine?: boolean }, command: Command) => {
      const api = await connect(context, command);
      const answer = await api.request<{ requests: PublicRequest[]; truncated?: boolean }>('GET', '/requests', {
        query: { status: options.pending ? 'pending' : undefined, mine: options.mine ? 'true' : undefined },
      });
      render(context, command, answer, () => {
        printTable(context.stdout, answer.requests, REQUEST_COLUMNS);
        if (answer.truncated) context.stdout.write(`(the newest ${answer.requests.length}; narrow it with --pending or --mine)\n`);
      });
    })
    .addCommand(show)
    .addCommand(cancel)
    .addCommand(revoke);
}
