// `tvm configure`: one `[profile tvm-<name>]` stanza per profile the caller can use now (GET /me),
// each running `tvm credentials <name> --format credential-process`. Printed, or with --write merged
// into ~/.aws/config: tvm's old stanzas are replaced, everything else is kept as it was, a backup first.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { profileNameSchema } from '../../shared/domain/schemas.js';
import { connect } from '../api.js';
import { awsConfigPath, mergeAwsConfig, PROFILE_PREFIX, readAwsConfig, renderStanza, writeAwsConfig, type TvmProfileStanza } from '../aws-config.js';
import type { CliContext } from '../context.js';
import { printJson } from '../output.js';
import type { GlobalOptions } from '../settings.js';

interface MeResponse {
  readonly principal: string;
  readonly grants: readonly { readonly profile: string }[];
}

interface ConfigureOptions {
  readonly write?: boolean;
  readonly awsConfig?: string;
  readonly region?: string;
}

export function createConfigureCommand(context: CliContext): Command {
  return new Command('configure')
    .description('print (or --write into ~/.aws/config) a [profile tvm-<name>] per profile you can use, using tvm as credential_process')
    .option('--write', 'merge the profiles into the AWS config file (a backup is written first)')
    .option('--aws-config <path>', 'AWS config file to write (default: $AWS_CONFIG_FILE or ~/.aws/config)')
    .option('--region <region>', 'add `region = <region>` to each profile', parseRegion)
    .addHelpText(
      'after',
      `
The AWS CLI and SDKs then run \`tvm credentials\` themselves, so tvm must find the API and your
token from their environment: TVM_URL/TVM_TOKEN, or url/token_command in ~/.config/tvm/config.json.
Only stanzas tvm wrote ([profile ${PROFILE_PREFIX}…] running \`tvm credentials\`) are replaced.`,
    )
    .action(async (options: ConfigureOptions, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const api = await connect(context, command);
      const me = await api.request<MeResponse>('GET', '/me');
      const names = usableProfiles(me, (bad) => context.stderr.write(`tvm: warning: skipping profile with an unusable name: ${JSON.stringify(bad)}\n`));
      const stanzas: TvmProfileStanza[] = names.map((name) => ({ name, ...(options.region ? { region: options.region } : {}) }));
      const profiles = names.map((name) => `${PROFILE_PREFIX}${name}`);

      if (!options.write) {
        if (globals.json) printJson(context.stdout, { principal: me.principal, profiles, config: stanzas.map(renderStanza).join('\n') });
        else if (stanzas.length === 0) context.stderr.write(`tvm: ${me.principal} has no usable profiles\n`);
        else context.stdout.write(stanzas.map(renderStanza).join('\n'));
        return;
      }

      const path = awsConfigPath(context.env, context.homeDir, options.awsConfig);
      const existing = await readAwsConfig(path);
      const merged = mergeAwsConfig(existing ?? '', stanzas);
      for (const profile of merged.skipped) {
        context.stderr.write(`tvm: warning: [profile ${profile}] in ${path} is not tvm's; left as it is\n`);
      }
      const changed = merged.text !== (existing ?? '');
      const backup = changed ? await writeAwsConfig(path, merged.text) : undefined;
      const written = profiles.filter((profile) => !merged.skipped.includes(profile));
      if (globals.json) {
        printJson(context.stdout, { principal: me.principal, profiles: written, path, changed, ...(backup ? { backup } : {}) });
      } else if (!changed) {
        context.stdout.write(`${path} is up to date (${written.length} tvm profile${written.length === 1 ? '' : 's'})\n`);
      } else {
        context.stdout.write(`wrote ${written.length} tvm profile${written.length === 1 ? '' : 's'} to ${path}${backup ? ` (backup: ${backup})` : ''}\n`);
        for (const profile of written) context.stdout.write(`  ${profile}\n`);
      }
      if (!(await onPath('tvm', context.env.PATH))) {
        context.stderr.write(
          'tvm: warning: the AWS CLI and SDKs run `tvm credentials` from your PATH, and no tvm is on it: ' +
            'install the CLI (npm install -g <the tvm tarball>, or npm link in the repository) before using these profiles\n',
        );
      }
    });
}

/** Whether `command` is an executable file in one of PATH's directories (as a shell finds it). */
async function onPath(command: string, path: string | undefined): Promise<boolean> {
  for (const dir of (path ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, command);
    const found = await stat(candidate).then(
      (info) => info.isFile() && access(candidate, constants.X_OK).then(() => true, () => false),
      () => false,
    );
    if (found) return true;
  }
  return false;
}

/**
 * Distinct profile names of the caller's usable grants, sorted. The names go into a shell command
 * line in ~/.aws/config, so only names the API itself would accept are written.
 */
export function usableProfiles(me: MeResponse, onRejected: (name: string) => void): string[] {
  const names = [...new Set(me.grants.map((grant) => grant.profile))].sort();
  return names.filter((name) => {
    const ok = profileNameSchema.safeParse(name).success;
    if (!ok) onRejected(name);
    return ok;
  });
}

function parseRegion(value: string): string {
  if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(value)) throw new InvalidArgumentError('expected an AWS region such as eu-west-1.');
  return value;
}
