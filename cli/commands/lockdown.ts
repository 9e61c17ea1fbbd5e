// `tvm lockdown status|on|off`: restrict profiles to a named few when espionage is suspected.
// Lifting needs a second member of tvm-security (the API refuses the activator).
import { Command } from 'commander';
import type { LockdownDetails } from '../../shared/domain/manage-lockdown.js';
import { connect } from '../api.js';
import { printCutOff, type CutOffAnswer } from '../cut-offs.js';
import { collectLockdownProfiles, parsePrincipalId, parseReason, repeatable } from '../arguments.js';
import { render } from '../formats.js';
import type { CliContext } from '../context.js';
import { printFields, type Column } from '../output.js';

type Activation = LockdownDetails & Omit<CutOffAnswer, 'roleWideFallback'> & { fallback: boolean };

// Fields a caller outside tvm-security and tvm-admin is not shown are simply absent.
const STATUS_FIELDS: readonly Column<LockdownDetails>[] = [
  { key: 'active', header: 'lockdown', format: (value) => (value ? 'ACTIVE' : 'inactive') },
  { key: 'profiles', header: 'profiles', format: (value) => ((value as string[]).includes('*') ? '* (every profile)' : (value as string[]).join(', ')) },
  { key: 'roles', header: 'roles', format: (value) => listOrNone(value as string[]) },
  { key: 'allow', header: 'allowed groups', format: (value) => listOrNone((value as LockdownDetails['allow'])?.groups) },
  { key: 'allow', header: 'allowed principals', format: (value) => listOrNone((value as LockdownDetails['allow'])?.principals) },
  { key: 'reason', header: 'reason' },
  { key: 'activatedBy', header: 'activated by' },
  { key: 'activatedAt', header: 'activated' },
];

interface OnOptions {
  readonly profile: string[];
  readonly allowGroup?: string[];
  readonly allowPrincipal?: string[];
  readonly reason: string;
  readonly revokeActiveSessions?: boolean;
}

export function createLockdownCommand(context: CliContext): Command {
  const showStatus = (status: LockdownDetails) => printFields(context.stdout, status, STATUS_FIELDS);

  const status = new Command('status').description('show whether a lockdown is active, on what and for whom (GET /lockdown)').action(
    async (_options: unknown, command: Command) => {
      const api = await connect(context, command);
      const answer = await api.request<LockdownDetails>('GET', '/lockdown');
      render(context, command, answer, showStatus);
    },
  );

  const on = new Command('on')
    .description('activate a lockdown: only the allowed may vend the locked profiles (PUT /lockdown, tvm-security)')
    .requiredOption('--profile <name|*>', 'a profile to lock (repeatable), or * for every profile', collectLockdownProfiles)
    .option('--allow-group <group>', 'members of this group may still vend (repeatable)', repeatable(parsePrincipalId))
    .option('--allow-principal <id>', 'this principal may still vend (repeatable)', repeatable(parsePrincipalId))
    .requiredOption('--reason <text>', 'why, for the audit trail and anyone refused', parseReason)
    .option('--revoke-active-sessions', "also cut off live sessions of everyone not allowed, on the locked profiles' roles")
    .addHelpText(
      'after',
      `
Examples:
  tvm lockdown on --profile demo-deploy --allow-group top-brass --reason 'suspected espionage' --revoke-active-sessions
  tvm lockdown on --profile '*' --allow-principal ciso@example.com --reason 'incident 42'`,
    )
    .action(async (options: OnOptions, command: Command) => {
      const api = await connect(context, command);
      const answer = await api.request<Activation>('PUT', '/lockdown', {
        body: {
          profiles: options.profile,
          allow: { groups: options.allowGroup ?? [], principals: options.allowPrincipal ?? [] },
          reason: options.reason,
          revokeActiveSessions: options.revokeActiveSessions === true,
        },
      });
      render(context, command, answer, () => {
        showStatus(answer);
        if (options.revokeActiveSessions) printCutOff(context, { ...answer, roleWideFallback: answer.fallback });
      });
    });

  const off = new Command('off')
    .description('lift the lockdown; needs a second member of tvm-security, not the activator (DELETE /lockdown)')
    .requiredOption('--reason <text>', 'why, for the audit trail', parseReason)
    .action(async (options: { reason: string }, command: Command) => {
      const api = await connect(context, command);
      const answer = await api.request<LockdownDetails>('DELETE', '/lockdown', { body: { reason: options.reason } });
      render(context, command, answer, () => context.stdout.write('lockdown lifted (sessions cut off while it was active stay cut off)\n'));
    });

  return new Command('lockdown')
    .description('the "top brass" lockdown: restrict profiles to a named few')
    .addCommand(status)
    .addCommand(on)
    .addCommand(off);
}

function listOrNone(values: readonly string[] | undefined): string {
  return values?.length ? values.join(', ') : '(none)';
}
