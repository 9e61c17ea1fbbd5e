// What the commands share in rendering: --json prints the API's answer untouched, everything else
// is for people, and a few values (subjects, scopes, durations) read the same in every table.
import type { Command } from 'commander';
import type { CliContext } from './main.js';
import { printJson } from './output.js';
import type { GlobalOptions } from './settings.js';

/** `--json`: the raw response for scripts; otherwise `human` renders it. */
export function render<T>(context: CliContext, command: Command, value: T, human: (value: T) => void): void {
  if (command.optsWithGlobals<GlobalOptions>().json) printJson(context.stdout, value);
  else human(value);
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
