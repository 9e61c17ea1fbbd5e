// The composition root: configuration and adapters, built once per cold start and only when a
// function asks for them (so each bundle carries only the SDK clients it uses).
import { createDynamoDbClient, createIamClient, createS3Client, createSnsClient, createSqsClient, createStsClient, revokerCredentials } from './adapters/aws-clients.js';
import { DynamoDbAuditLog } from './adapters/dynamodb-audit-log.js';
import { DynamoDbAuditWriter } from './adapters/dynamodb-audit-writer.js';
import { DynamoDbChainHeadReader } from './adapters/dynamodb-chain-head-reader.js';
import { DynamoDbDelegationStore } from './adapters/dynamodb-delegation-store.js';
import { DynamoDbProfileReader } from './adapters/dynamodb-profile-reader.js';
import { DynamoDbEngagementStore } from './adapters/dynamodb-engagement-store.js';
import { DynamoDbLockdownReader, DynamoDbLockdownStore } from './adapters/dynamodb-lockdown-store.js';
import { DynamoDbRateLimiter } from './adapters/dynamodb-rate-limiter.js';
import { DynamoDbRequestStore } from './adapters/dynamodb-request-store.js';
import { LogRequestNotifier, SnsRequestNotifier } from './adapters/request-notifiers.js';
import { AccountRoutedRevocationPolicies } from './adapters/account-routed-revocation-policies.js';
import { IamRevocationPolicies } from './adapters/iam-revocation-policies.js';
import { DynamoDbCutOffOrders, DynamoDbRevocationLedger } from './adapters/dynamodb-revocation-ledger.js';
import { FileSystemChainAnchorStore } from './adapters/file-system-chain-anchor-store.js';
import { JoseTokenVerifier } from './adapters/jose-token-verifier.js';
import { LogAlertSink } from './adapters/log-alert-sink.js';
import { S3ChainAnchorStore } from './adapters/s3-chain-anchor-store.js';
import { SnsAlertSink } from './adapters/sns-alert-sink.js';
import { StsCredentialIssuer } from './adapters/sts-credential-issuer.js';
import { FederationSigninTokenIssuer } from './adapters/federation-signin-token-issuer.js';
import { randomIds, systemClock } from './adapters/system.js';
import { DynamoDbTrailProgress } from './adapters/dynamodb-trail-progress.js';
import { LogDeadLetters, SqsDeadLetters } from './adapters/sqs-dead-letters.js';
import { S3TrailLogReader } from './adapters/trail-log-reader.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { ConsoleSignInDeps } from './domain/console-sign-in.js';
import type { EngagementDeps } from './domain/manage-engagements.js';
import type { GrantDeps } from './domain/manage-grants.js';
import type { ProfileDeps } from './domain/manage-profiles.js';
import type { RequestDeps } from './domain/manage-requests.js';
import type { RouteAuth } from './http/route.js';
import { logger } from './logger.js';
import type {
  AlertSink,
  AuditLog,
  AuditWriter,
  ChainAnchorStore,
  ChainHeadReader,
  CredentialIssuer,
  CutOffOrders,
  DeadLetters,
  DelegationStore,
  EngagementStore,
  LockdownReader,
  LockdownStore,
  ProfileGrantsReader,
  RateLimiter,
  RequestNotifier,
  RequestStore,
  RevocationLedger,
  RevocationPolicies,
  TokenVerifier,
  TrailLogReader,
  TrailProgress,
} from './domain/ports.js';

const warn = (message: string, data: Record<string, unknown> = {}): void => logger.warn(message, data);
const clockAndIds = { clock: systemClock, ids: randomIds } as const;

// Marked pure so esbuild drops the adapters a function never asks for.
const once = <T>(build: () => T): (() => T) => {
  let value: T | undefined;
  return () => (value ??= build());
};

const config: () => Config = /* @__PURE__ */ once(() => loadConfig());

const dynamoDb = /* @__PURE__ */ once(() => createDynamoDbClient(config()));

export const delegationStore: () => DelegationStore = /* @__PURE__ */ once(
  () =>
    new DynamoDbDelegationStore(dynamoDb(), {
      tableName: config().tables.delegations,
      auditTableName: config().tables.audit,
      auditShards: config().auditShards,
      auditLayout: config().auditLayout,
    }),
);

const auditLog: () => AuditLog = /* @__PURE__ */ once(
  () =>
    new DynamoDbAuditLog(dynamoDb(), {
      tableName: config().tables.audit,
      shards: config().auditShards,
      useShards: config().auditUseShards,
      layout: config().auditLayout,
    }),
);

/** For the vend function: the profile and the caller's grants, and nothing else of the store. */
const profileReader: () => ProfileGrantsReader = /* @__PURE__ */ once(
  () => new DynamoDbProfileReader(dynamoDb(), { tableName: config().tables.delegations }),
);

/** For functions that only record: the vend bundle carries no query or verify code. */
const auditWriter: () => AuditWriter = /* @__PURE__ */ once(
  () =>
    new DynamoDbAuditWriter(dynamoDb(), {
      tableName: config().tables.audit,
      shards: config().auditShards,
      useShards: config().auditUseShards,
      layout: config().auditLayout,
    }),
);

const credentialIssuer: () => CredentialIssuer = /* @__PURE__ */ once(() => new StsCredentialIssuer(createStsClient(config())));

/** What POST /credentials?format=console needs to turn a session into a sign-in URL. */
const consoleSignInDeps: () => ConsoleSignInDeps = /* @__PURE__ */ once(() => {
  const { federationEndpoint, url } = config().console;
  return { signin: new FederationSigninTokenIssuer(federationEndpoint), federationEndpoint, consoleUrl: url };
});

const tokenVerifier: () => TokenVerifier = /* @__PURE__ */ once(() => new JoseTokenVerifier(config().issuers));

/** The lockdown's reads alone (the vend's bundle need not carry the writes). */
const lockdownReader: () => LockdownReader = /* @__PURE__ */ once(() => new DynamoDbLockdownReader(dynamoDb(), { tableName: config().tables.delegations }));

export const lockdownStore: () => LockdownStore = /* @__PURE__ */ once(
  () =>
    new DynamoDbLockdownStore(dynamoDb(), {
      tableName: config().tables.delegations,
      auditTableName: config().tables.audit,
      auditShards: config().auditShards,
      auditLayout: config().auditLayout,
    }),
);

// Each account's roles are written by IAM in that account: tvm's own with its credentials, a target
// account's through its revoker role. Without its own account a function could not tell them apart.
const revocationPolicies: () => RevocationPolicies = /* @__PURE__ */ once(() => {
  const { account, targets } = config();
  if (account === undefined) throw new ConfigError('invalid configuration: TVM_ACCOUNT_ID: required (TVM_LOCAL_ACCOUNT_ID on the local stack)');
  const byAccount = new Map<string, RevocationPolicies>([[account, new IamRevocationPolicies(createIamClient(config()))]]);
  for (const target of targets.accounts) {
    if (target === account || targets.revokerRoleName === undefined) continue;
    byAccount.set(target, new IamRevocationPolicies(createIamClient(config(), revokerCredentials(config(), target, targets.revokerRoleName))));
  }
  return new AccountRoutedRevocationPolicies(byAccount);
});

const revocationLedger: () => RevocationLedger = /* @__PURE__ */ once(
  () => new DynamoDbRevocationLedger(dynamoDb(), { tableName: config().tables.delegations }),
);

const cutOffOrders: () => CutOffOrders = /* @__PURE__ */ once(
  () => new DynamoDbCutOffOrders(dynamoDb(), { tableName: config().tables.delegations }),
);

export const engagementStore: () => EngagementStore = /* @__PURE__ */ once(
  () =>
    new DynamoDbEngagementStore(dynamoDb(), {
      tableName: config().tables.delegations,
      auditTableName: config().tables.audit,
      auditShards: config().auditShards,
      auditLayout: config().auditLayout,
    }),
);

// Alerts go to SNS in AWS, and to the log and an optional webhook only on the local stack: a
// deployed alert function without its topic would raise alerts nobody hears, so it fails its cold start.
export const alertSinkFor = (config: Config): AlertSink => {
  const { topicArn, webhookUrl } = config.alerts;
  if (topicArn) return new SnsAlertSink(createSnsClient(config), { topicArn, stage: config.stage });
  if (!config.offline) throw new ConfigError('invalid configuration: TVM_ALERTS_TOPIC_ARN: required outside the local stack');
  return new LogAlertSink(logger, { webhookUrl });
};
const alertSink: () => AlertSink = /* @__PURE__ */ once(() => alertSinkFor(config()));

// Chain anchors go to the Object Lock bucket in AWS and to a directory only on the local stack: a
// deployed function without its bucket would verify against nothing, so it fails its cold start.
export const chainAnchorStoreFor = (config: Config): ChainAnchorStore => {
  const { bucket, dir } = config.anchors;
  if (config.offline) {
    if (dir === undefined) throw new ConfigError('invalid configuration: TVM_ANCHOR_DIR: required on the local stack');
    return new FileSystemChainAnchorStore(dir);
  }
  if (bucket === undefined) throw new ConfigError('invalid configuration: TVM_ANCHOR_BUCKET: required outside the local stack');
  return new S3ChainAnchorStore(createS3Client(config), { bucket });
};
const chainAnchorStore: () => ChainAnchorStore = /* @__PURE__ */ once(() => chainAnchorStoreFor(config()));

const chainHeadReader: () => ChainHeadReader = /* @__PURE__ */ once(
  () =>
    new DynamoDbChainHeadReader(dynamoDb(), {
      tableName: config().tables.audit,
      shards: config().auditShards,
      useShards: config().auditUseShards,
    }),
);

const trailLogReader: () => TrailLogReader = /* @__PURE__ */ once(
  () => new S3TrailLogReader(createS3Client(config()), { maxObjectBytes: config().trail.maxObjectBytes }),
);

const trailProgress: () => TrailProgress = /* @__PURE__ */ once(
  () => new DynamoDbTrailProgress(dynamoDb(), { tableName: config().tables.delegations }),
);

// What a function rejects for good goes to the dead-letter queue in AWS, to the log on the local
// stack: a deployed function without its queue would drop it, so it fails its cold start.
const deadLetters: () => DeadLetters = /* @__PURE__ */ once(() => {
  const { deadLetterUrl } = config().trail;
  if (deadLetterUrl) return new SqsDeadLetters(createSqsClient(config()), deadLetterUrl);
  if (!config().offline) throw new ConfigError('invalid configuration: TVM_DEAD_LETTER_URL: required outside the local stack');
  return new LogDeadLetters(logger);
});

const vendRateLimiter: () => RateLimiter = /* @__PURE__ */ once(
  () => new DynamoDbRateLimiter(dynamoDb(), { tableName: config().tables.delegations, limit: config().vendRatePerMinute }),
);

/** What a function that cuts sessions off needs besides a clock and ids (shared/domain/cut-off-sessions.ts). */
export const cutOffAdapters = () => ({
  ledger: revocationLedger(),
  policies: revocationPolicies(),
  sessions: auditLog(),
  orders: cutOffOrders(),
  audit: auditLog(),
});

/** What the profile use cases need (PUT and DELETE /profiles/{name}). */
export const profileDeps = (): ProfileDeps => {
  // Without its account a profile function could not tell a role its cut-offs reach: fail the cold start.
  const { account, targets } = config();
  if (account === undefined) throw new ConfigError('invalid configuration: TVM_ACCOUNT_ID: required (TVM_LOCAL_ACCOUNT_ID on the local stack)');
  return {
    store: delegationStore(),
    lockdown: lockdownStore(),
    audit: auditWriter(),
    ...clockAndIds,
    roleArnPattern: config().roleArnPattern,
    accounts: [account, ...targets.accounts.filter((target) => target !== account)],
    warn,
  };
};

export const requestStore: () => RequestStore = /* @__PURE__ */ once(() => {
  const store = new DynamoDbRequestStore(dynamoDb(), {
    tableName: config().tables.delegations,
    auditTableName: config().tables.audit,
    auditShards: config().auditShards,
    auditLayout: config().auditLayout,
  });
  store.warn = (message, data) => logger.warn(message, data);
  return store;
});

// Notices go to the requests topic in AWS, and to the log (and an optional webhook) only on the
// local stack: a deployed function without its topic would decide requests nobody hears of.
const requestNotifier: () => RequestNotifier = /* @__PURE__ */ once(() => {
  const { topicArn, webhookUrl } = config().requests;
  if (topicArn) return new SnsRequestNotifier(createSnsClient(config()), { topicArn, stage: config().stage });
  if (!config().offline) throw new ConfigError('invalid configuration: TVM_REQUESTS_TOPIC_ARN: required outside the local stack');
  return new LogRequestNotifier(logger, { webhookUrl });
});

/** What the access-request use cases need (shared/domain/manage-requests.ts). */
export const requestDeps = (): RequestDeps => ({
  store: requestStore(),
  lockdown: lockdownStore(),
  audit: auditWriter(),
  notifier: requestNotifier(),
  ...clockAndIds,
  adminGroup: config().adminGroup,
  securityGroup: config().securityGroup,
  consoleUrl: config().requests.consoleUrl,
  warn,
});


// ---------------------------------------------------------------------------------------------
// What each function's factory is given (functions/*.ts): its use case's dependencies, clock and
// ids included, and for a route the verifier and the groups its access names.

export const routeAuth = (): RouteAuth => ({ verifier: tokenVerifier(), adminGroup: config().adminGroup, securityGroup: config().securityGroup });

export const vendDeps = () => ({
  store: profileReader(),
  lockdown: lockdownReader(),
  issuer: credentialIssuer(),
  audit: auditWriter(),
  limiter: vendRateLimiter(),
  ...clockAndIds,
  warn,
  consoleSignIn: consoleSignInDeps(),
});

export const grantDeps = (): GrantDeps => ({
  store: delegationStore(),
  lockdown: lockdownStore(),
  audit: auditWriter(),
  ...clockAndIds,
  adminGroup: config().adminGroup,
  warn,
  delegationQuota: config().delegationQuota,
});

export const revokeGrantDeps = () => ({ ...cutOffAdapters(), store: delegationStore(), ...clockAndIds, adminGroup: config().adminGroup, warn });

export const engagementDeps = (): EngagementDeps => ({
  engagements: engagementStore(),
  store: delegationStore(),
  lockdown: lockdownStore(),
  audit: auditWriter(),
  ...clockAndIds,
  adminGroup: config().adminGroup,
  securityGroup: config().securityGroup,
  delegationQuota: config().delegationQuota,
  warn,
});

export const lockdownDeps = () => ({
  lockdown: lockdownStore(),
  store: delegationStore(),
  ...clockAndIds,
  warn,
});

/** The security queries: the audit log and the rules it is read against. */
export const auditQueryDeps = () => ({ audit: auditLog(), store: delegationStore(), ...clockAndIds });

export const verifyDeps = () => ({ audit: auditLog(), anchors: chainAnchorStore(), clock: systemClock, warn });

/** What a function that cuts sessions off by itself needs (the schedule's repair). */
const cutOffDeps = () => ({ ...cutOffAdapters(), ...clockAndIds, warn });

/** The event functions' reports go to the log. */
const log = {
  info: (message: string, data: Record<string, unknown> = {}) => logger.info(message, data),
  warn,
  error: (message: string, data: Record<string, unknown> = {}) => logger.error(message, data),
};

export const alertDeps = () => ({
  audit: auditLog(),
  grants: delegationStore(),
  lockdown: lockdownStore(),
  sink: alertSink(),
  ...clockAndIds,
  settings: config().alerts,
  log,
});

/** What turning CloudTrail records into uses needs (recordUse, ingestTrailLogs). */
const useDeps = () => ({ audit: auditLog(), roleArnPattern: config().roleArnPattern, ignoredSources: config().alerts.ignoredSources, log });

// Only the local stack's records may say they came from it.
export const recordUseDeps = () => ({ ...useDeps(), acceptLocalMarker: config().offline });

export const ingestTrailDeps = () => ({ ...useDeps(), reader: trailLogReader(), progress: trailProgress(), deadLetters: deadLetters(), ...clockAndIds });

export const anchorDeps = () => ({ heads: chainHeadReader(), anchors: chainAnchorStore(), clock: systemClock, log });

export const scheduledRequestDeps = () => ({ ...requestDeps(), log });

export const repairDeps = () => ({ ...cutOffDeps(), log });
