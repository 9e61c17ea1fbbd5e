// `tvm grants list|create|revoke`: who may vend which profile, until when; admins grant anything,
// holders of a canDelegate grant delegate within it (the API checks which).
import { Command, Option } from 'commander';
import type { RevokedGrant } from '../../shared/domain/manage-grants.js';
import type { Grant } from '../../shared/domain/model.js';
import { connect } from '../api.js';
import { printCutOff } from '../cut-offs.js';
import {
  parseAction,
  parseGrantId,
  parsePrincipalId,
  parseProfileName,
  parseReason,
  parseResource,
  parseSessionSeconds,
  parseSubject,
  parseTime,
  repeatable,
  scopeOf,
} from '../arguments.js';
import { CliError, EXIT } from '../errors.js';
import { formatScope, formatSeconds, formatSubject, formatYesNo, render, segment } from '../formats.js';
import type { CliContext } from '../context.js';
import { printFields, printTable, type Column } from '../output.js';

export const GRANT_COLUMNS: readonly Column<Grant>[] = [
  { key: 'id', header: 'ID' },
  { key: 'profile', header: 'PROFILE' },
  { key: 'subject', header: 'SUBJECT', format: formatSubject },
  { key: 'validUntil', header: 'VALID UNTIL' },
  { key: 'status', header: 'STATUS' },
  { key: 'canDelegate', header: 'DELEGATE', format: formatYesNo },
  { key: 'parentGrantId', header: 'PARENT' },
  { key: 'createdBy', header: 'CREATED BY' },
];

const GRANT_FIELDS: readonly Column<Grant>[] = [
  { key: 'id', header: 'id' },
  { key: 'profile', header: 'profile' },
  { key: 'subject', header: 'subject', format: formatSubject },
  { key: 'status', header: 'status' },
  { key: 'validFrom', header: 'valid from' },
  { key: 'validUntil', header: 'valid until' },
  { key: 'maxSessionSeconds', header: 'max session', format: formatSeconds },
  { key: 'scope', header: 'scope', format: formatScope },
  { key: 'canDelegate', header: 'can delegate', format: formatYesNo },
  { key: 'parentGrantId', header: 'parent' },
  { key: 'depth', header: 'depth' },
  { key: 'engagementId', header: 'engagement' },
  { key: 'createdBy', header: 'created by' },
  { key: 'createdAt', header: 'created' },
  { key: 'reason', header: 'reason' },
  { key: 'revokedBy', header: 'revoked by' },
  { key: 'revokedAt', header: 'revoked' },
  { key: 'revokedReason', header: 'revoked because' },
];

interface CreateOptions {
  readonly profile: string;
  readonly user?: string;
  readonly group?: string;
  readonly validUntil: string;
  readonly validFrom?: string;
  readonly maxSessionSeconds?: number;
  readonly action?: string[];
  readonly resource?: string[];
  readonly canDelegate?: boolean;
  readonly parent?: string;
  readonly reason?: string;
}

const TIME_HELP = 'a date (2027-01-01), ISO 8601 (2026-12-01T09:30:00Z) or relative to now (+4h, +7d)';

export function createGrantsCommand(context: CliContext): Command {
  const list = new Command('list')
    .description('list grants, oldest first (GET /grants: tvm-admin; anyone with --mine)')
    .option('--mine', 'only the grants you created (delegated), revoked ones included')
    .addOption(new Option('--created-by <id>', 'only grants this principal created (tvm-admin)').argParser(parsePrincipalId).conflicts('mine'))
    .option('--profile <name>', 'only grants of this profile', parseProfileName)
    .option('--subject <user:id|group:id>', 'only grants to this user or group', parseSubject)
    .addHelpText(
      'after',
      `
Examples:
  tvm grants list --mine                  the grants you delegated, to find one to revoke
  tvm grants list --profile billing-read  every grant on a profile (tvm-admin)`,
    )
    .action(async (options: { mine?: boolean; createdBy?: string; profile?: string; subject?: string }, command: Command) => {
      const api = await connect(context, command);
      const createdBy = options.mine ? 'me' : options.createdBy;
      const answer = await api.request<{ grants: Grant[] }>('GET', '/grants', {
        query: { profile: options.profile, subject: options.subject, createdBy },
      });
      render(context, command, answer, () => printTable(context.stdout, answer.grants, GRANT_COLUMNS));
    });

  const create = new Command('create')
    .description('grant a profile to a user or group (POST /grants: tvm-admin, or a delegator within their own grant)')
    .requiredOption('--profile <name>', 'the profile to grant', parseProfileName)
    .addOption(new Option('--user <id>', 'grant to this principal').argParser(parsePrincipalId).conflicts('group'))
    .addOption(new Option('--group <id>', 'grant to everyone in this group').argParser(parsePrincipalId))
    .requiredOption('--valid-until <time>', `end of the grant: ${TIME_HELP}`, (value: string) => parseTime(value))
    .option('--valid-from <time>', `start of the grant (default now): ${TIME_HELP}`, (value: string) => parseTime(value))
    .option('--max-session-seconds <seconds>', 'longest session, 900-43200 (default: the profile\'s, or the parent grant\'s)', parseSessionSeconds)
    .option('--action <action>', 'IAM action sessions may be given (repeatable; default: the profile\'s)', repeatable(parseAction))
    .option('--resource <arn>', 'resource ARN pattern sessions may be given (repeatable)', repeatable(parseResource))
    .option('--can-delegate', 'the holder may grant this profile on, within this grant')
    .option('--parent <grantId>', 'which of your grants to delegate from, when you hold several on the profile', parseGrantId)
    .option('--reason <text>', 'why, for the audit trail', parseReason)
    .addHelpText(
      'after',
      `
Examples:
  tvm grants create --profile billing-read --group finance --valid-until 2027-01-01T00:00:00Z
  tvm grants create --profile demo-deploy --user eve@example.com --valid-until +7d --action s3:PutObject --resource 'arn:aws:s3:::site/*'`,
    )
    .action(async (options: CreateOptions, command: Command) => {
      const body = grantBody(options);
      const api = await connect(context, command);
      const grant = await api.request<Grant>('POST', '/grants', { body });
      render(context, command, grant, () => printFields(context.stdout, grant, GRANT_FIELDS));
    });

  const revoke = new Command('revoke')
    .description('revoke a grant and every grant delegated from it, or give up your own (DELETE /grants/{id})')
    .argument('<id>', 'grant id', parseGrantId)
    .action(async (id: string, _options: unknown, command: Command) => {
      const api = await connect(context, command);
      const grant = await api.request<RevokedGrant>('DELETE', `/grants/${segment(id)}`);
      render(context, command, grant, () => {
        if (grant.alreadyRevoked) {
          const when = grant.revokedAt ? ` at ${grant.revokedAt}${grant.revokedBy ? ` by ${grant.revokedBy}` : ''}` : '';
          context.stdout.write(`grant ${grant.id} (${grant.profile} for ${formatSubject(grant.subject)}) was already revoked${when}: nothing changed\n`);
          return;
        }
        context.stdout.write(`revoked grant ${grant.id} (${grant.profile} for ${formatSubject(grant.subject)})\n`);
        if (grant.revokedDescendants.length > 0) {
          context.stdout.write(`and ${grant.revokedDescendants.length} delegated from it: ${grant.revokedDescendants.join(', ')}\n`);
        }
        printCutOff(context, grant);
      });
    });

  return new Command('grants')
    .description('list, create and revoke grants (who may vend which profile)')
    .addCommand(list)
    .addCommand(create)
    .addCommand(revoke);
}

/** The POST body: only what was given, so the API applies the profile's or parent grant's limits. */
export function grantBody(options: CreateOptions): Record<string, unknown> {
  const subject = subjectOf(options);
  const scope = scopeOf(options.action, options.resource);
  return {
    profile: options.profile,
    subject,
    validUntil: options.validUntil,
    ...(options.validFrom !== undefined ? { validFrom: options.validFrom } : {}),
    ...(options.maxSessionSeconds !== undefined ? { maxSessionSeconds: options.maxSessionSeconds } : {}),
    ...(scope ? { scope } : {}),
    ...(options.canDelegate ? { canDelegate: true } : {}),
    ...(options.parent !== undefined ? { parentGrantId: options.parent } : {}),
    ...(options.reason !== undefined ? { reason: options.reason } : {}),
  };
}

// Commander can say two options conflict, not that one of them is required.
function subjectOf(options: CreateOptions): { type: 'user' | 'group'; id: string } {
  if (options.user !== undefined) return { type: 'user', id: options.user };
  if (options.group !== undefined) return { type: 'group', id: options.group };
  throw new CliError('one of --user <id> or --group <id> is required', EXIT.usage, 'USAGE');
}
