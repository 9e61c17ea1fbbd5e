// What `tvm credentials <profile>` does once its arguments are parsed: from the cache when it can,
// else one POST /credentials, then printed in the asked format. Both commander's `credentials`
// command and the start-up fast path (fast-path.ts) call it. It loads neither commander nor zod, and
// the API client only on a miss: the AWS CLI runs a cached call before every command it runs. A
// cached credential costs one conditional request instead (cut-off-check.ts).
import { asVendResponse, createCredentialCache, defaultCacheDir, principalOfToken, type CacheKey, type VendResponse } from './credential-cache.js';
import { noCutOffSince } from './cut-off-check.js';
import { CliError, EXIT } from './errors.js';
import type { CliContext } from './context.js';
import { printJson, type Output } from './output.js';
import { resolveSettings, type GlobalOptions } from './settings.js';

export const FORMATS = ['credential-process', 'env', 'json'] as const;
export type Format = (typeof FORMATS)[number];

export const MIN_DURATION_SECONDS = 900;
export const MAX_DURATION_SECONDS = 43_200;

export interface CredentialsOptions {
  readonly duration?: number;
  readonly action?: string[];
  readonly resource?: string[];
  readonly reason?: string;
  readonly format?: Format;
  readonly cache: boolean;
}

export function isDurationSeconds(value: string): boolean {
  const seconds = Number(value);
  return /^\d+$/.test(value) && seconds >= MIN_DURATION_SECONDS && seconds <= MAX_DURATION_SECONDS;
}

export async function serveCredentials(context: CliContext, globals: GlobalOptions, profile: string, options: CredentialsOptions): Promise<void> {
  const format: Format = options.format ?? (globals.json ? 'json' : 'env');
  // The AWS tools run credential_process with nobody to sign in: a step-up is reported, never begun.
  printCredentials(context.stdout, format, await obtainCredentials(context, globals, profile, options, { mayStepUp: format !== 'credential-process' }));
}

/** The profile's credentials: from the cache while no cut-off has been decided since, else vended. */
export async function obtainCredentials(
  context: CliContext,
  globals: GlobalOptions,
  profile: string,
  options: Omit<CredentialsOptions, 'format'>,
  /** mayStepUp: a person at a terminal may be signed in again when the API asks (api.ts). */
  { mayStepUp }: { readonly mayStepUp: boolean },
): Promise<VendResponse> {
  const settings = await resolveSettings(context, globals);
  const token = await settings.token();
  const key: CacheKey = {
    url: settings.url,
    principal: principalOfToken(token),
    profile,
    ...(options.duration === undefined ? {} : { durationSeconds: options.duration }),
    ...(options.action ? { actions: options.action } : {}),
    ...(options.resource ? { resources: options.resource } : {}),
    ...(options.reason === undefined ? {} : { reason: options.reason }),
  };
  const cache = options.cache
    ? createCredentialCache({ dir: defaultCacheDir(context.env, context.homeDir), warn: (message) => context.stderr.write(`tvm: warning: ${message}\n`) })
    : undefined;

  const cached = await cache?.get(key);
  let response: VendResponse | undefined;
  // A cached credential leaves only while no cut-off has been decided since its vend (cut-off-check.ts).
  if (cached && (await noCutOffSince({ url: settings.url, token, fetch: context.fetch }, cached.cutOffEpoch))) response = cached;
  else if (cached) cache?.drop(key);
  if (response === undefined) {
    const { createApiClient, signInAgainFor, suggestProfiles } = await import('./api.js');
    const api = createApiClient(settings, { stderr: context.stderr, fetch: context.fetch, stepUp: mayStepUp ? signInAgainFor(context, settings) : undefined });
    response = parseVendResponse(await api.request<unknown>('POST', '/credentials', { body: vendRequestBody(key) }).catch((error: unknown) => suggestProfiles(api, profile, error)));
    await cache?.put(key, response);
  }
  return response;
}

/** The body POST /credentials expects; scope only when narrowed, sorted so it matches the cache key. */
export function vendRequestBody(key: CacheKey): Record<string, unknown> {
  const scope = {
    ...(key.actions ? { actions: [...key.actions].sort() } : {}),
    ...(key.resources ? { resources: [...key.resources].sort() } : {}),
  };
  return {
    profile: key.profile,
    ...(key.durationSeconds === undefined ? {} : { durationSeconds: key.durationSeconds }),
    ...(Object.keys(scope).length > 0 ? { scope } : {}),
    ...(key.reason === undefined ? {} : { reason: key.reason }),
  };
}

function parseVendResponse(body: unknown): VendResponse {
  const response = asVendResponse(body);
  if (!response) throw new CliError('POST /credentials answered without usable credentials', EXIT.server, 'BAD_RESPONSE');
  return response;
}

export function printCredentials(stdout: Output, format: Format, response: VendResponse): void {
  const { credentials } = response;
  switch (format) {
    case 'credential-process':
      // Exactly the AWS shape: anything else on stdout breaks the SDK's parsing.
      stdout.write(
        JSON.stringify({
          Version: 1,
          AccessKeyId: credentials.accessKeyId,
          SecretAccessKey: credentials.secretAccessKey,
          SessionToken: credentials.sessionToken,
          Expiration: credentials.expiration,
        }) + '\n',
      );
      return;
    case 'env':
      stdout.write(
        [
          ['AWS_ACCESS_KEY_ID', credentials.accessKeyId],
          ['AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey],
          ['AWS_SESSION_TOKEN', credentials.sessionToken],
          ['AWS_CREDENTIAL_EXPIRATION', credentials.expiration],
        ]
          .map(([name, value]) => `export ${name}=${shellQuote(value ?? '')}\n`)
          .join(''),
      );
      return;
    case 'json':
      printJson(stdout, response);
      return;
  }
}

/** Single-quoted for POSIX shells, so `eval "$(tvm credentials …)"` cannot run anything. */
function shellQuote(value: string): string {
  return /^[A-Za-z0-9+/=:._-]*$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
