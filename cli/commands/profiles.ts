// `tvm profiles list|show|put|delete`: the roles tvm vends for, and the most a session may do.
import { Command, Option } from 'commander';
import type { PublicProfile } from '../../shared/domain/manage-profiles.js';
import { connect } from '../api.js';
import {
  parseAccessDuration,
  parseAction,
  parsePrincipalId,
  parseExternalId,
  parseProfileName,
  parseReason,
  parseResource,
  parseRoleArn,
  parseSessionSeconds,
  repeatable,
  scopeOf,
} from '../arguments.js';
import { CliError, EXIT } from '../errors.js';
import { formatScope, formatSeconds, render, segment } from '../formats.js';
import type { CliContext } from '../main.js';
import { printFields, printTable, type Column } from '../output.js';

const LIST_COLUMNS: readonly Column<PublicProfile>[] = [
  { key: 'name', header: 'NAME' },
  { key: 'roleArn', header: 'ROLE' },
  { key: 'maxSessionSeconds', header: 'MAX SESSION', format: formatSeconds },
  { key: 'sensitivity', header: 'SENSITIVITY' },
  { key: 'description', header: 'DESCRIPTION' },
];

const PROFILE_FIELDS: readonly Column<PublicProfile>[] = [
  { key: 'name', header: 'name' },
  { key: 'roleArn', header: 'role' },
  { key: 'description', header: 'description' },
  { key: 'maxSessionSeconds', header: 'max session', format: (value) => `${formatSeconds(value)} (${String(value)} s)` },
  { key: 'scope', header: 'scope', format: formatScope },
  { key: 'sensitivity', header: 'sensitivity' },
  { key: 'externalIdSet', header: 'external id', format: (value) => (value ? 'set (never shown)' : 'none') },
  { key: 'requestable', header: 'requestable', format: formatRequestable },
  { key: 'createdAt', header: 'created' },
  { key: 'updatedAt', header: 'updated' },
  { key: 'updatedBy', header: 'updated by' },
];

interface PutOptions {
  readonly roleArn: string;
  readonly description?: string;
  readonly maxSessionSeconds?: number;
  readonly action?: string[];
  readonly resource?: string[];
  readonly sensitivity?: 'standard' | 'restricted';
  readonly externalId?: string;
  readonly removeExternalId?: boolean;
  readonly requestableBy?: string[];
  readonly approvals?: '1' | '2';
  readonly maxRequest?: number;
  readonly pendingFor?: number;
  readonly reasonOptional?: boolean;
}

function formatRequestable(value: unknown): string {
  if (!value) return 'no';
  const { approverGroups, approvals, maxDurationSeconds, requireReason } = value as NonNullable<PublicProfile['requestable']>;
  return `by ${approverGroups.join(' or ')}, ${approvals} approval(s), up to ${formatSeconds(maxDurationSeconds)}${requireReason ? ', reason required' : ''}`;
}

export function createProfilesCommand(context: CliContext): Command {
  const showProfile = (profile: PublicProfile) => printFields(context.stdout, profile, PROFILE_FIELDS);

  const list = new Command('list').description('list every profile (GET /profiles)').action(async (_options: unknown, command: Command) => {
    const api = await connect(context, command);
    const answer = await api.request<{ profiles: PublicProfile[] }>('GET', '/profiles');
    render(context, command, answer, () => printTable(context.stdout, answer.profiles, LIST_COLUMNS));
  });

  const show = new Command('show')
    .description('show one profile (GET /profiles/{name})')
    .argument('<name>', 'profile name', parseProfileName)
    .action(async (name: string, _options: unknown, command: Command) => {
      const api = await connect(context, command);
      const profile = await api.request<PublicProfile>('GET', `/profiles/${segment(name)}`);
      render(context, command, profile, showProfile);
    });

  const put = new Command('put')
    .description('create or replace a profile (PUT /profiles/{name}, tvm-admin); options left out take their defaults')
    .argument('<name>', 'profile name: 1-64 of a-z, 0-9, ".", "_", "-"', parseProfileName)
    .requiredOption('--role-arn <arn>', 'the IAM role sessions of this profile assume', parseRoleArn)
    .option('--description <text>', 'what the profile is for', parseReason)
    .option('--max-session-seconds <seconds>', 'longest session, 900-43200 (default 3600)', parseSessionSeconds)
    .option('--action <action>', 'IAM action a session may be given, e.g. s3:GetObject (repeatable)', repeatable(parseAction))
    .option('--resource <arn>', 'resource ARN pattern a session may be given (repeatable)', repeatable(parseResource))
    .addOption(new Option('--sensitivity <level>', 'standard or restricted (default standard)').choices(['standard', 'restricted']))
    .addOption(
      new Option('--external-id <id>', 'ExternalId for AssumeRole (never shown again; left out keeps the stored one)')
        .argParser(parseExternalId)
        .conflicts('removeExternalId'),
    )
    .option('--remove-external-id', 'remove the stored ExternalId')
    .option('--requestable-by <group>', 'people may request it; members of this group approve (repeatable)', repeatable(parsePrincipalId))
    .addOption(new Option('--approvals <n>', 'distinct approvals a request needs (default 1)').choices(['1', '2']))
    .option('--max-request <span>', 'longest access a request may ask for, e.g. 4h (required with --requestable-by)', parseAccessDuration)
    .option('--pending-for <span>', 'how long a request waits for its approvals before it expires (default 1d)', parseAccessDuration)
    .option('--reason-optional', 'requests need no reason')
    .action(async (name: string, options: PutOptions, command: Command) => {
      const api = await connect(context, command);
      const profile = await api.request<PublicProfile>('PUT', `/profiles/${segment(name)}`, { body: profileBody(options) });
      render(context, command, profile, showProfile);
    });

  const remove = new Command('delete')
    .description('delete a profile; its grants stop working for good (DELETE /profiles/{name}, tvm-admin)')
    .argument('<name>', 'profile name', parseProfileName)
    .action(async (name: string, _options: unknown, command: Command) => {
      const api = await connect(context, command);
      const answer = await api.request<{ deleted: string }>('DELETE', `/profiles/${segment(name)}`);
      render(context, command, answer, () => context.stdout.write(`deleted profile ${answer.deleted}\n`));
    });

  return new Command('profiles')
    .description('list, show and administer profiles (the roles tvm vends credentials for)')
    .addCommand(list)
    .addCommand(show)
    .addCommand(put)
    .addCommand(remove);
}

/** The PUT body: only what was given, so the API applies its defaults to the rest. */
export function profileBody(options: PutOptions): Record<string, unknown> {
  const scope = scopeOf(options.action, options.resource);
  return {
    roleArn: options.roleArn,
    ...(options.description !== undefined ? { description: options.description } : {}),
    ...(options.maxSessionSeconds !== undefined ? { maxSessionSeconds: options.maxSessionSeconds } : {}),
    ...(scope ? { scope } : {}),
    ...(options.sensitivity ? { sensitivity: options.sensitivity } : {}),
    // The ExternalId is never shown, so it cannot be sent back: left out keeps it, null removes it.
    ...(options.removeExternalId ? { externalId: null } : options.externalId !== undefined ? { externalId: options.externalId } : {}),
    ...(options.requestableBy ? { requestable: requestableOf(options, options.requestableBy) } : {}),
  };
}

function requestableOf(options: PutOptions, approverGroups: string[]): Record<string, unknown> {
  if (options.maxRequest === undefined) throw new CliError('--max-request <span> is required with --requestable-by', EXIT.usage, 'USAGE');
  return {
    approverGroups,
    maxDurationSeconds: options.maxRequest,
    ...(options.approvals ? { approvals: Number(options.approvals) } : {}),
    ...(options.pendingFor !== undefined ? { pendingSeconds: options.pendingFor } : {}),
    ...(options.reasonOptional ? { requireReason: false } : {}),
  };
}
