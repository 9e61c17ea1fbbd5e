// What the commands share in rendering: --json prints the API's answer untouched, everything else
// is for people, and a few values (subjects, scopes, durations) read the same in every table.
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { CliError, EXIT } from './errors.js';
import { printJson } from './output.js';
import type { GlobalOptions } from './settings.js';

/** `--query`: one field of the response; `--json`: all of it, for scripts; otherwise `human` renders it. */
export function render<T>(context: CliContext, command: Command, value: T, human: (value: T) => void): void {
  const { json, query } = command.optsWithGlobals<GlobalOptions>();
  if (query !== undefined) printField(context, value, query);
  else if (json) printJson(context.stdout, value);
  else human(value);
}

/**
 * The value at `path` (`id`, `credentials.accessKeyId`, `grants.0.id`): text as it is, a list of
 * texts one per line, anything else as JSON. A path the answer does not have is a usage error.
 */
function printField(context: CliContext, value: unknown, path: string): void {
  let found: unknown = value;
  for (const key of path.split('.')) {
    found = typeof found === 'object' && found !== null && Object.hasOwn(found, key) ? (found as Record<string, unknown>)[key] : undefined;
    if (found === undefined) throw new CliError(`--query ${path}: the answer has no such field`, EXIT.usage, 'USAGE');
  }
  const lines = Array.isArray(found) && found.every((item) => typeof item === 'string') ? found : [found];
  for (const line of lines) context.stdout.write(`${typeof line === 'string' ? line : JSON.stringify(line)}\n`);
}

/** A heading between the sections of one answer (fields, then one or more tables). */
export function printHeading(context: CliContext, title: string): void {
  context.stdout.write(`\n${title}:\n`);
}

export function formatSubject(subject: unknown): string {
  const { type, id } = (subject ?? {}) as { type?: string; id?: string };
  return type && id ? `${type}:${id}` : '-';
}

/** `s3:GetObject, s3:ListBucket on arn:…`; `-` when there is no scope (the role's own permissions). */
export function formatScope(scope: unknown): string {
  const { actions, resources } = (scope ?? {}) as { actions?: readonly string[]; resources?: readonly string[] };
  if (!actions?.length && !resources?.length) return '-';
  return `${actions?.length ? actions.join(', ') : '*'} on ${resources?.length ? resources.join(', ') : '*'}`;
}

/** 3600 → `1h`, 5400 → `1h30m`, 900 → `15m`. */
export function formatSeconds(value: unknown): string {
  if (typeof value !== 'number') return '-';
  const hours = Math.floor(value / 3600);
  const minutes = Math.floor((value % 3600) / 60);
  const seconds = value % 60;
  const parts = [hours ? `${hours}h` : '', minutes ? `${minutes}m` : '', seconds ? `${seconds}s` : ''].join('');
  return parts || '0s';
}

export const formatYesNo = (value: unknown): string => (value ? 'yes' : 'no');

/** Path segments are ids and names the user typed: never let one change the route. */
export const segment = (value: string): string => encodeURIComponent(value);
