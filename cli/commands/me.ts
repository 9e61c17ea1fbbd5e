// `tvm me`: who tvm takes the caller for, and the grants they can use right now.
import { Command } from 'commander';
import type { CallerDescription, UsableGrant } from '../../shared/domain/describe-caller.js';
import { connect } from '../api.js';
import { formatScope, formatSeconds, formatSubject, formatYesNo, printHeading, render } from '../formats.js';
import type { CliContext } from '../context.js';
import { printFields, printTable, type Column } from '../output.js';

const GRANT_COLUMNS: readonly Column<UsableGrant>[] = [
  { key: 'profile', header: 'PROFILE' },
  { key: 'grantId', header: 'GRANT' },
  { key: 'subject', header: 'VIA', format: formatSubject },
  { key: 'validUntil', header: 'VALID UNTIL' },
  { key: 'maxSessionSeconds', header: 'MAX SESSION', format: formatSeconds },
  { key: 'canDelegate', header: 'DELEGATE', format: formatYesNo },
  { key: 'scope', header: 'SCOPE', format: formatScope },
];

export function createMeCommand(context: CliContext): Command {
  return new Command('me')
    .description('show your principal, your groups and the grants you can use now (GET /me)')
    .action(async (_options: unknown, command: Command) => {
      const api = await connect(context, command);
      const me = await api.request<CallerDescription>('GET', '/me');
      render(context, command, me, () => {
        printFields(context.stdout, me, [
          { key: 'principal', header: 'principal' },
          { key: 'groups', header: 'groups' },
        ]);
        printHeading(context, 'grants usable now');
        printTable(context.stdout, me.grants, GRANT_COLUMNS);
      });
    });
}
