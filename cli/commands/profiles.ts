// `tvm profiles list|show|put|delete`: the roles tvm vends for, and the most a session may do.
import { Command, Option } from 'commander';
import type { PublicProfile } from '../../shared/domain/manage-profiles.js';
import { connect, type ApiClient } from '../api.js';
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
import type { CliContext } from '../context.js';
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
  readonly roleArn?: string;
  readonly replace?: boolean;
  readonly notRequestable?: boolean;
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
  readonly reasonRequired?: boolean;
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
    .description(
      'create a profile, or change the options given and keep the rest (PUT /profiles/{name}, tvm-admin); --replace sets the whole profile',
    )
    .argument('<name>', 'profile name: 1-64 of a-z, 0-9, ".", "_", "-"', parseProfileName)
    .option('--role-arn <arn>', 'the IAM role sessions of this profile assume (required to create or --replace)', parseRoleArn)
    .option('--replace', 'set the whole profile from these options: what is left out takes its default (no scope: the role\'s own permissions)')
    .option('--description <text>', 'what the profile is for', parseReason)
    .option('--max-session-seconds <seconds>', 'longest session, 900-43200 (default 3600)', parseSessionSeconds)
    .option('--action <action>', 'IAM action a session may be given, e.g. s3:GetObject (repeatable; replaces the actions)', repeatable(parseAction))
    .option('--resource <arn>', 'resource ARN pattern a session may be given (repeatable; replaces the resources)', repeatable(parseResource))
    .addOption(new Option('--sensitivity <level>', 'standard or restricted (default standard)').choices(['standard', 'restricted']))
    .addOption(
      new Option('--external-id <id>', 'ExternalId for AssumeRole (never shown again; left out keeps the stored one)')
        .argParser(parseExternalId)
        .conflicts('removeExternalId'),
    )
    .option('--remove-external-id', 'remove the stored ExternalId')
    .option('--requestable-by <group>', 'people may request it; members of this group approve (repeatable)', repeatable(parsePrincipalId))
    .addOption(new Option('--approvals <n>', 'distinct approvals a request needs (default 1)').choices(['1', '2']))
    .option('--max-request <span>', 'longest access a request may ask for, e.g. 4h (required to make a profile requestable)', parseAccessDuration)
    .option('--pending-for <span>', 'how long a request waits for its approvals before it expires (default 1d)', parseAccessDuration)
    .option('--reason-optional', 'requests need no reason')
    .addOption(new Option('--reason-required', 'requests need a reason (the default)').conflicts('reasonOptional'))
    .addOption(
      new Option('--not-requestable', 'nobody may request it any more').conflicts([
        'requestableBy',
        'approvals',
        'maxRequest',
        'pendingFor',
        'reasonOptional',
        'reasonRequired',
      ]),
    )
    .addHelpText(
      'after',
      `
Examples:
  tvm profiles put billing-read --role-arn arn:aws:iam::123456789012:role/tvm-billing --action s3:GetObject
  tvm profiles put billing-read --max-session-seconds 900     only the session limit changes`,
    )
    .action(async (name: string, options: PutOptions, command: Command) => {
      const api = await connect(context, command);
      const profile = await putProfile(api, name, options);
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

/** Read-modify-write rounds before giving up: each lost round is someone else's change. */
const PUT_ATTEMPTS = 3;

/**
 * PUT the profile. `--replace` sends only what was given. Otherwise what was given is laid over the
 * profile as stored and sent with If-Match, so a change made meanwhile is never undone: it is read
 * again and the same options applied to it.
 */
async function putProfile(api: ApiClient, name: string, options: PutOptions): Promise<PublicProfile> {
  const path = `/profiles/${segment(name)}`;
  if (options.replace) {
    if (!options.roleArn) throw new CliError('--replace sets the whole profile: give --role-arn <arn>', EXIT.usage, 'USAGE');
    return api.request<PublicProfile>('PUT', path, { body: profileBody(options, undefined) });
  }
  for (let attempt = 1; ; attempt++) {
    const stored = await api.request<PublicProfile>('GET', path).catch((error: unknown) => {
      if (error instanceof CliError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    });
    if (!stored && !options.roleArn) throw new CliError(`profile "${name}" does not exist; give --role-arn <arn> to create it`, EXIT.usage, 'USAGE');
    const headers = stored ? { 'if-match': `"${stored.updatedAt}"` } : { 'if-none-match': '*' };
    try {
      return await api.request<PublicProfile>('PUT', path, { body: profileBody(options, stored), headers });
    } catch (error) {
      // Changed between our read and write (412), or between the API's read and write (409).
      const lostRace = error instanceof CliError && (error.code === 'PRECONDITION_FAILED' || error.code === 'CONFLICT');
      if (!lostRace || attempt >= PUT_ATTEMPTS) throw error;
    }
  }
}

/**
 * The PUT body: what was given over `stored`'s settings (none: only what was given, so the API
 * applies its defaults). The ExternalId is never shown, so never sent back: left out keeps it.
 */
export function profileBody(options: PutOptions, stored: PublicProfile | undefined): Record<string, unknown> {
  const scope = scopeOf(options.action ?? stored?.scope?.actions, options.resource ?? stored?.scope?.resources);
  const description = options.description ?? stored?.description;
  const maxSessionSeconds = options.maxSessionSeconds ?? stored?.maxSessionSeconds;
  const sensitivity = options.sensitivity ?? stored?.sensitivity;
  const requestable = options.notRequestable ? undefined : requestableOf(options, stored?.requestable);
  return {
    roleArn: options.roleArn ?? stored?.roleArn,
    ...(description !== undefined ? { description } : {}),
    ...(maxSessionSeconds !== undefined ? { maxSessionSeconds } : {}),
    ...(scope ? { scope } : {}),
    ...(sensitivity ? { sensitivity } : {}),
    // Null removes the ExternalId; left out, the API keeps the stored one.
    ...(options.removeExternalId ? { externalId: null } : options.externalId !== undefined ? { externalId: options.externalId } : {}),
    ...(requestable ? { requestable } : {}),
  };
}

/** The request settings: those given over the stored ones; none when neither has any. */
function requestableOf(options: PutOptions, stored: PublicProfile['requestable']): Record<string, unknown> | undefined {
  const approverGroups = options.requestableBy ?? stored?.approverGroups;
  const given = options.approvals ?? options.maxRequest ?? options.pendingFor ?? options.reasonOptional ?? options.reasonRequired;
  if (!approverGroups) {
    if (given === undefined) return undefined;
    throw new CliError('--requestable-by <group> is required to make a profile requestable', EXIT.usage, 'USAGE');
  }
  const maxDurationSeconds = options.maxRequest ?? stored?.maxDurationSeconds;
  if (maxDurationSeconds === undefined) throw new CliError('--max-request <span> is required with --requestable-by', EXIT.usage, 'USAGE');
  const approvals = options.approvals ? Number(options.approvals) : stored?.approvals;
  const pendingSeconds = options.pendingFor ?? stored?.pendingSeconds;
  const requireReason = options.reasonOptional ? false : options.reasonRequired ? true : stored?.requireReason;
  return {
    approverGroups,
    maxDurationSeconds,
    ...(approvals !== undefined ? { approvals } : {}),
    ...(pendingSeconds !== undefined ? { pendingSeconds } : {}),
    ...(requireReason !== undefined ? { requireReason } : {}),
  };
}
