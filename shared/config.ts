// The environment, read once at cold start, typed and frozen. A missing or malformed variable
// fails the cold start with its name, instead of surfacing later as a confusing runtime error.
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { DEFAULT_DELEGATION_QUOTA } from './domain/delegation-quota.js';
import { AUDIT_LAYOUTS, DEFAULT_USE_SHARDS, MAX_AUDIT_SHARDS, type AuditLayout } from './adapters/audit-keys.js';
import { DEFAULT_VEND_RATE_PER_MINUTE } from './domain/rate-limit.js';
import { patternCovers } from './domain/scope.js';
import { consoleEndpointsOf, partitionOf } from './partition.js';

export const oidcIssuerSchema = z
  .object({
    /** Exact `iss` value expected in tokens. */
    issuer: z.string().url(),
    /** Accepted `aud` value(s). */
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    // Keys decide who anyone is: fetched over TLS, except from this machine (the local stack).
    jwksUrl: z
      .string()
      .url()
      .refine((url) => /^https:\/\//.test(url) || /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?\//.test(url), {
        message: 'must be an https URL (http only for localhost)',
      }),
    /** Claim holding the principal id. */
    principalClaim: z.string().min(1).default('sub'),
    /** Claim holding the caller's groups (array of strings). */
    groupsClaim: z.string().min(1).default('groups'),
    /**
     * Prepended to principal ids and group names from this issuer, so `alice` at one IdP can never
     * act as `alice` at another. At most one issuer may leave it empty.
     */
    principalPrefix: z.string().default(''),
    /**
     * The `amr` values (RFC 8176) that count as a strong sign-in for restricted profiles' step-up
     * (RFC 9470); DEFAULT_STRONG_AMR when left out. An empty list leaves `strongAcr` alone to decide.
     */
    strongAmr: z.array(z.string().min(1).max(64)).max(32).optional(),
    /** The `acr` values that count as strong, for IdPs that say it that way; sent as `acr_values` in the challenge. */
    strongAcr: z.array(z.string().min(1).max(256).regex(/^[^\s"\\]+$/, 'no spaces, quotes or backslashes')).max(16).optional(),
  })
  .strict();

export type OidcIssuerConfig = z.infer<typeof oidcIssuerSchema>;

const issuersSchema = z
  .array(oidcIssuerSchema)
  .min(1, 'at least one issuer is required')
  .superRefine((issuers, ctx) => {
    // No prefix may begin another (and with several issuers none may be empty), or `partner:bob`
    // at one issuer would be the same principal as `bob` at the issuer prefixed `partner:`.
    const prefixes = issuers.map((i) => i.principalPrefix);
    const overlapping = prefixes.some((a, i) => prefixes.some((b, j) => i !== j && b.startsWith(a)));
    if (overlapping) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: 'with several issuers, each needs a principalPrefix, and none may begin another',
      });
    }
    const names = issuers.map((i) => i.issuer);
    if (new Set(names).size !== names.length) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'issuer must be unique' });
    }
  });

const optionalUrl = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v))
  .pipe(z.string().regex(/^https?:\/\/[^/]/, 'must be an http(s) URL').optional());

const envSchema = z.object({
  TVM_STAGE: z.string().min(1),
  TVM_DELEGATIONS_TABLE: z.string().min(3),
  TVM_AUDIT_TABLE: z.string().min(3),
  TVM_OIDC_ISSUERS: z
    .string()
    .min(1)
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(issuersSchema),
  TVM_ADMIN_GROUP: z.string().min(1).default('tvm-admin'),
  TVM_SECURITY_GROUP: z.string().min(1).default('tvm-security'),
  /** Profiles may only name roles matching this IAM-style pattern (the vend function's IAM allows no more). */
  TVM_ROLE_ARN_PATTERN: z.string().min(1).default('arn:aws:iam::*:role/tvm-*'),
  TVM_AUDIT_SHARDS: z.coerce.number().int().min(1).max(MAX_AUDIT_SHARDS).default(4),
  /** Chains per day for recorded uses, apart from the ones issuance is recorded in. */
  TVM_AUDIT_USE_SHARDS: z.coerce.number().int().min(1).max(MAX_AUDIT_SHARDS).default(DEFAULT_USE_SHARDS),
  /** How audit events are written: `legacy` until the chain-keyed layout's indexes exist (README "Upgrading"). */
  TVM_AUDIT_LAYOUT: z.enum(AUDIT_LAYOUTS).default('chain-keyed'),
  TVM_STS_ENDPOINT: optionalUrl,
  TVM_DYNAMODB_ENDPOINT: optionalUrl,
  TVM_IAM_ENDPOINT: optionalUrl,
  /** Console sign-in: AWS's federation endpoint, and the console destinations land under (default: the partition's). */
  TVM_FEDERATION_ENDPOINT: optionalUrl,
  TVM_AWS_CONSOLE_URL: optionalUrl,
  /**
   * SNS topic for alerts (tvm-<stage>-alerts). serverless-offline cannot resolve the CloudFormation
   * reference serverless.yml sets it to, so under it (IS_OFFLINE) alerts go to the log sink instead.
   */
  IS_OFFLINE: z.string().optional(),
  TVM_ALERTS_TOPIC_ARN: z.string().optional(),
  /** Also POST each alert as JSON here (optional; the local stack's way to hook alerts up). */
  TVM_ALERT_WEBHOOK_URL: optionalUrl,
  /** SNS topic for access requests' notices (tvm-<stage>-requests); offline, the log and TVM_REQUEST_WEBHOOK_URL. */
  TVM_REQUESTS_TOPIC_ARN: z.string().optional(),
  TVM_REQUEST_WEBHOOK_URL: optionalUrl,
  /**
   * The web console, for links in notices (default: /console/ on the API's own origin, as CloudFront
   * serves both). A CloudFormation reference serverless-offline cannot resolve: the local stack
   * passes TVM_LOCAL_CONSOLE_URL instead.
   */
  TVM_CONSOLE_URL: z.string().optional(),
  TVM_LOCAL_CONSOLE_URL: optionalUrl,
  TVM_ALERT_DENIAL_THRESHOLD: z.coerce.number().int().min(2).max(1000).default(5),
  TVM_ALERT_DENIAL_WINDOW_MINUTES: z.coerce.number().int().min(1).max(1440).default(10),
  /**
   * Source "IPs" that never count as a second location for `source-ip-change`: AWS services acting
   * for the session (CloudTrail shows them as a service host name or "AWS Internal"). Comma-separated;
   * `*` matches any run of characters.
   */
  TVM_ALERT_IGNORED_SOURCES: z
    .string()
    .default('AWS Internal,*.amazonaws.com')
    .transform(commaSeparated),
  /**
   * Where chain heads are anchored: the Object Lock bucket in AWS (tvm-<stage>'s AnchorBucket;
   * serverless-offline cannot resolve that reference, so the local stack uses TVM_ANCHOR_DIR, an
   * absolute directory, instead).
   */
  TVM_ANCHOR_BUCKET: z.string().optional(),
  TVM_ANCHOR_DIR: z
    .string()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || isAbsolute(v), 'must be an absolute path'),
  /** Decompressed bytes ingestTrailLogs reads of one log file at most; beyond, it is rejected (alerted, dead-lettered). */
  TVM_TRAIL_MAX_OBJECT_BYTES: z.coerce.number().int().min(1024 * 1024).max(4 * 1024 * 1024 * 1024).default(256 * 1024 * 1024),
  /**
   * The dead-letter queue's URL (tvm-<stage>-dead-letters): where ingestTrailLogs puts a log file it
   * rejects. A CloudFormation reference serverless-offline cannot resolve: ignored offline.
   */
  TVM_DEAD_LETTER_URL: z.string().optional(),
  /**
   * The account tvm runs in, where its cut-offs write (CloudFormation's AWS::AccountId; a reference
   * serverless-offline cannot resolve, so the local stack passes TVM_LOCAL_ACCOUNT_ID instead).
   */
  TVM_ACCOUNT_ID: z.string().optional(),
  TVM_LOCAL_ACCOUNT_ID: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id').optional(),
  /**
   * Other accounts whose roles profiles may name, comma-separated: each has tvm's revoker role
   * (resources/target-account-revoker.yml), which the functions that cut sessions off assume to write there.
   */
  TVM_TARGET_ACCOUNTS: z
    .string()
    .default('')
    .transform(commaSeparated)
    .refine((ids) => ids.every((id) => /^\d{12}$/.test(id)), 'must be 12-digit AWS account ids'),
  /** The revoker role's name in every target account (TvmRevoker-<stage>). */
  TVM_REVOKER_ROLE_NAME: z.string().regex(/^[\w+=,.@-]{1,64}$/, 'must be an IAM role name').optional(),
  /** Vends allowed per principal per minute, counted across every Lambda instance (429 RATE_LIMITED beyond). */
  TVM_VEND_RATE_PER_MINUTE: z.coerce.number().int().min(1).max(10_000).default(DEFAULT_VEND_RATE_PER_MINUTE),
  /**
   * Active delegated grants one non-admin may hold (403 DELEGATION_QUOTA_EXCEEDED beyond). At most
   * 500: the delegator's quota record lists them in one item, which DynamoDB caps at 400 KB.
   */
  TVM_DELEGATION_QUOTA: z.coerce.number().int().min(1).max(500).default(DEFAULT_DELEGATION_QUOTA),
  AWS_REGION: z.string().min(1).default('us-east-1'),
}).superRefine((env, ctx) => {
  const fail = (variable: string, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [variable], message });
  const revoker = env.TVM_REVOKER_ROLE_NAME;
  if (env.TVM_TARGET_ACCOUNTS.length > 0 && revoker === undefined) fail('TVM_REVOKER_ROLE_NAME', 'required with TVM_TARGET_ACCOUNTS');
  // tvm's own roles (its functions', serverless.yml; the revoker in each target account): no profile
  // may vend them, and their calls are no target role's uses.
  const role = (account: string | undefined, name: string) => `arn:${partitionOf(env.AWS_REGION)}:iam::${account}:role/${name}`;
  const own = env.TVM_ACCOUNT_ID ?? env.TVM_LOCAL_ACCOUNT_ID;
  const tvmRoles = [
    ...(own ? ['TvmFn', 'TvmCutOff'].map((prefix) => role(own, `${prefix}-${env.TVM_STAGE}-x`)) : []),
    ...(revoker ? env.TVM_TARGET_ACCOUNTS.map((id) => role(id, revoker)) : []),
  ];
  const covered = tvmRoles.find((arn) => patternCovers(env.TVM_ROLE_ARN_PATTERN, arn, true));
  if (covered) fail('TVM_ROLE_ARN_PATTERN', `must not cover tvm's own roles (${covered})`);
  if (env.IS_OFFLINE === 'true') return;
  const { TVM_ALERTS_TOPIC_ARN: topic, TVM_ANCHOR_BUCKET: bucket } = env;
  const snsTopic = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/;
  if (topic && !snsTopic.test(topic)) fail('TVM_ALERTS_TOPIC_ARN', 'must be an SNS topic ARN');
  if (env.TVM_REQUESTS_TOPIC_ARN && !snsTopic.test(env.TVM_REQUESTS_TOPIC_ARN)) fail('TVM_REQUESTS_TOPIC_ARN', 'must be an SNS topic ARN');
  if (env.TVM_CONSOLE_URL && !/^(https:\/\/[^/]|\/(?!\/))/.test(env.TVM_CONSOLE_URL)) fail('TVM_CONSOLE_URL', 'must be an https URL or an absolute path');
  if (bucket && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) fail('TVM_ANCHOR_BUCKET', 'must be an S3 bucket name');
  // The federation endpoint is handed every console session's secret: AWS's own only, over TLS (any on the local stack).
  const awsHost = (service: string) => `https://([a-z0-9-]+\\.)?${service}\\.(aws\\.amazon\\.com|amazonaws\\.cn|amazonaws-us-gov\\.com)`;
  const { TVM_FEDERATION_ENDPOINT: federation, TVM_AWS_CONSOLE_URL: awsConsole } = env;
  if (federation && !new RegExp(`^${awsHost('signin')}/federation$`).test(federation)) fail('TVM_FEDERATION_ENDPOINT', "must be AWS's https sign-in federation endpoint");
  if (awsConsole && !new RegExp(`^${awsHost('console')}(/|$)`).test(awsConsole)) fail('TVM_AWS_CONSOLE_URL', "must be AWS's https console");
});

const withTrailingSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`);

function commaSeparated(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export interface Config {
  readonly stage: string;
  readonly tables: { readonly delegations: string; readonly audit: string };
  readonly issuers: readonly OidcIssuerConfig[];
  readonly adminGroup: string;
  readonly securityGroup: string;
  readonly roleArnPattern: string;
  readonly auditShards: number;
  readonly auditUseShards: number;
  readonly auditLayout: AuditLayout;
  readonly region: string;
  /** Running under serverless-offline (the local stack), which sets IS_OFFLINE. */
  readonly offline: boolean;
  readonly endpoints: { readonly sts?: string; readonly dynamodb?: string; readonly iam?: string };
  /** Console sign-in: the federation endpoint, and the console's address (ending in `/`) destinations land under. */
  readonly console: { readonly federationEndpoint: string; readonly url: string };
  readonly alerts: {
    readonly topicArn?: string;
    readonly webhookUrl?: string;
    readonly denialThreshold: number;
    readonly denialWindowMinutes: number;
    readonly ignoredSources: readonly string[];
  };
  readonly requests: { readonly topicArn?: string; readonly webhookUrl?: string; readonly consoleUrl: string };
  readonly vendRatePerMinute: number;
  readonly delegationQuota: number;
  /** Where chain heads are anchored: a bucket in AWS, a directory on the local stack (composition picks). */
  readonly anchors: { readonly bucket?: string; readonly dir?: string };
  readonly trail: { readonly maxObjectBytes: number; readonly deadLetterUrl?: string };
  /** The AWS account tvm runs in and cuts sessions off in (undefined: not configured). */
  readonly account?: string;
  /** The other accounts tvm cuts sessions off in, through the revoker role of each. */
  readonly targets: { readonly accounts: readonly string[]; readonly revokerRoleName?: string };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const offline = e.IS_OFFLINE === 'true';
  // A CloudFormation reference (the topic, the bucket, the queue) that serverless-offline cannot
  // resolve: its value counts only when deployed, and an empty one is none.
  const deployedOnly = (value: string | undefined) => (offline || value === '' ? undefined : value);
  // An override sends a function's calls, signed with its credentials, elsewhere: only the local
  // stack (serverless-offline sets IS_OFFLINE) may have one.
  // The SDK's own (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>) would do the same behind tvm's back.
  const override =
    (['TVM_STS_ENDPOINT', 'TVM_DYNAMODB_ENDPOINT', 'TVM_IAM_ENDPOINT'] as const).find((name) => e[name] !== undefined) ??
    Object.keys(env).find((name) => /^AWS_ENDPOINT_URL(_|$)/.test(name) && env[name] !== undefined && env[name] !== '');
  if (override !== undefined && !offline) {
    throw new ConfigError(`invalid configuration: ${override}: endpoint overrides are for the local stack only (IS_OFFLINE)`);
  }
  return deepFreeze({
    stage: e.TVM_STAGE,
    tables: { delegations: e.TVM_DELEGATIONS_TABLE, audit: e.TVM_AUDIT_TABLE },
    issuers: e.TVM_OIDC_ISSUERS,
    adminGroup: e.TVM_ADMIN_GROUP,
    securityGroup: e.TVM_SECURITY_GROUP,
    roleArnPattern: e.TVM_ROLE_ARN_PATTERN,
    auditShards: e.TVM_AUDIT_SHARDS,
    auditUseShards: e.TVM_AUDIT_USE_SHARDS,
    auditLayout: e.TVM_AUDIT_LAYOUT,
    region: e.AWS_REGION,
    offline,
    endpoints: { sts: e.TVM_STS_ENDPOINT, dynamodb: e.TVM_DYNAMODB_ENDPOINT, iam: e.TVM_IAM_ENDPOINT },
    console: {
      federationEndpoint: e.TVM_FEDERATION_ENDPOINT ?? consoleEndpointsOf(partitionOf(e.AWS_REGION)).federation,
      url: (e.TVM_AWS_CONSOLE_URL ?? consoleEndpointsOf(partitionOf(e.AWS_REGION)).console).replace(/\/?$/, '/'),
    },
    alerts: {
      topicArn: deployedOnly(e.TVM_ALERTS_TOPIC_ARN),
      webhookUrl: e.TVM_ALERT_WEBHOOK_URL,
      denialThreshold: e.TVM_ALERT_DENIAL_THRESHOLD,
      denialWindowMinutes: e.TVM_ALERT_DENIAL_WINDOW_MINUTES,
      ignoredSources: e.TVM_ALERT_IGNORED_SOURCES,
    },
    requests: {
      topicArn: deployedOnly(e.TVM_REQUESTS_TOPIC_ARN),
      webhookUrl: e.TVM_REQUEST_WEBHOOK_URL,
      consoleUrl: withTrailingSlash((offline ? e.TVM_LOCAL_CONSOLE_URL : e.TVM_CONSOLE_URL) || '/console/'),
    },
    vendRatePerMinute: e.TVM_VEND_RATE_PER_MINUTE,
    delegationQuota: e.TVM_DELEGATION_QUOTA,
    anchors: {
      bucket: deployedOnly(e.TVM_ANCHOR_BUCKET),
      dir: e.TVM_ANCHOR_DIR,
    },
    account: offline ? e.TVM_LOCAL_ACCOUNT_ID : /^\d{12}$/.test(e.TVM_ACCOUNT_ID ?? '') ? e.TVM_ACCOUNT_ID : undefined,
    trail: {
      maxObjectBytes: e.TVM_TRAIL_MAX_OBJECT_BYTES,
      deadLetterUrl: deployedOnly(e.TVM_DEAD_LETTER_URL),
    },
    targets: { accounts: e.TVM_TARGET_ACCOUNTS, revokerRoleName: e.TVM_REVOKER_ROLE_NAME },
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
