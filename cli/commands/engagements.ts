// `tvm engagements list|create|show|handover`: contractors get access while they build; the handover
// ends it and gives the owner (or whoever is named) full control.
import { Command } from 'commander';
import type { EngagementView, HandoverResult } from '../../shared/domain/manage-engagements.js';
import type { Engagement } from '../../shared/domain/model.js';
import { connect } from '../api.js';
import { printCutOff } from '../cut-offs.js';
import { parseEngagementId, parsePrincipalId, parseProfileName, parseReason, parseTime, repeatable } from '../arguments.js';
import { printHeading, render, segment } from '../formats.js';
import type { CliContext } from '../context.js';
import { printFields, printTable, type Column } from '../output.js';
import { GRANT_COLUMNS } from './grants.js';

const ENGAGEMENT_FIELDS: readonly Column<Engagement>[] = [
  { key: 'id', header: 'id' },
  { key: 'name', header: 'name' },
  { key: 'status', header: 'status' },
  { key: 'owner', header: 'owner' },
  { key: 'contractors', header: 'contractors' },
  { key: 'profiles', header: 'profiles', format: (value) => (value as Engagement['profiles']).map((entry) => entry.profile).join(', ') },
  { key: 'validUntil', header: 'valid until' },
  { key: 'createdBy', header: 'created by' },
  { key: 'createdAt', header: 'created' },
  { key: 'version', header: 'version' },
];

const ENGAGEMENT_COLUMNS: readonly Column<Engagement>[] = [
  { key: 'id', header: 'ID' },
  { key: 'name', header: 'NAME' },
  { key: 'status', header: 'STATUS' },
  { key: 'owner', header: 'OWNER' },
  { key: 'contractors', header: 'CONTRACTORS', format: (value) => (value as string[]).join(', ') },
  { key: 'validUntil', header: 'VALID UNTIL' },
];

const HANDOVER_FIELDS: readonly Column<NonNullable<Engagement['handover']>>[] = [
  { key: 'at', header: 'handed over' },
  { key: 'by', header: 'by' },
  { key: 'to', header: 'to' },
  { key: 'note', header: 'note' },
];

interface CreateOptions {
  readonly name: string;
  readonly owner: string;
  readonly contractor: string[];
  readonly profile: string[];
  readonly validUntil: string;
}

export function createEngagementsCommand(context: CliContext): Command {
  const showEngagement = (engagement: EngagementView) => {
    printFields(context.stdout, engagement, ENGAGEMENT_FIELDS);
    if (engagement.handover) {
      printHeading(context, 'handover');
      printFields(context.stdout, engagement.handover, HANDOVER_FIELDS);
    }
    printHeading(context, 'grants');
    printTable(context.stdout, engagement.grants, GRANT_COLUMNS);
  };

  const list = new Command('list')
    .description('list the engagements you own, work on or were handed, oldest first; tvm-admin and tvm-security see all (GET /engagements)')
    .action(async (_options: unknown, command: Command) => {
      const api = await connect(context, command);
      const answer = await api.request<{ engagements: Engagement[] }>('GET', '/engagements');
      render(context, command, answer, () => printTable(context.stdout, answer.engagements, ENGAGEMENT_COLUMNS));
    });

  const create = new Command('create')
    .description('start an engagement: one grant per contractor per profile (POST /engagements: tvm-admin, or an owner within their delegable grants)')
    .requiredOption('--name <text>', 'what the engagement is, e.g. "website rebuild"')
    .requiredOption('--owner <id>', 'who takes control at the handover', parsePrincipalId)
    .requiredOption('--contractor <id>', 'a contractor (repeatable)', repeatable(parsePrincipalId))
    .requiredOption('--profile <name>', 'a profile the contractors work on (repeatable)', repeatable(parseProfileName))
    .requiredOption('--valid-until <time>', 'end of the contractors\' access: ISO 8601 or +30d', (value: string) => parseTime(value))
    .action(async (options: CreateOptions, command: Command) => {
      const api = await connect(context, command);
      const engagement = await api.request<EngagementView>('POST', '/engagements', {
        body: {
          name: options.name,
          owner: options.owner,
          contractors: options.contractor,
          profiles: options.profile.map((profile) => ({ profile })),
          validUntil: options.validUntil,
        },
      });
      render(context, command, engagement, showEngagement);
    });

  const show = new Command('show')
    .description('show an engagement, its grants and their state (GET /engagements/{id})')
    .argument('<id>', 'engagement id', parseEngagementId)
    .action(async (id: string, _options: unknown, command: Command) => {
      const api = await connect(context, command);
      const engagement = await api.request<EngagementView>('GET', `/engagements/${segment(id)}`);
      render(context, command, engagement, showEngagement);
    });

  const handover = new Command('handover')
    .description("end the contractors' access, cut off their live sessions and hand control over (POST /engagements/{id}/handover: owner or tvm-admin)")
    .argument('<id>', 'engagement id', parseEngagementId)
    .option('--to <id>', 'who receives full control (repeatable; default the owner)', repeatable(parsePrincipalId))
    .option('--note <text>', 'for the audit trail', parseReason)
    .action(async (id: string, options: { to?: string[]; note?: string }, command: Command) => {
      const api = await connect(context, command);
      const result = await api.request<HandoverResult>('POST', `/engagements/${segment(id)}/handover`, {
        body: { ...(options.to ? { to: options.to } : {}), ...(options.note !== undefined ? { note: options.note } : {}) },
      });
      render(context, command, result, () => showHandover(context, result));
    });

  return new Command('engagements')
    .description('contractor engagements and their handover')
    .addCommand(list)
    .addCommand(create)
    .addCommand(show)
    .addCommand(handover);
}

function showHandover(context: CliContext, result: HandoverResult): void {
  printFields(context.stdout, result, [
    { key: 'engagementId', header: 'engagement' },
    { key: 'status', header: 'status' },
    { key: 'at', header: 'at' },
    { key: 'revokedGrants', header: 'revoked grants' },
    { key: 'newGrants', header: 'new grants' },
  ]);
  printCutOff(context, result);
}
