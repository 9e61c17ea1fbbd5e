// The compiled CloudFormation is what AWS enforces, so these tests read what `serverless package`
// writes (offline, no AWS account) rather than serverless.yml: per-function IAM after the
// serverless-iam-roles-per-function plugin, tables after variable resolution, routes, environment
// and the zips themselves. A failure here means a deploy would change tvm's security posture.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { load as loadYaml } from 'js-yaml';
import { extractZip, readZipEntries } from '../../bench/zip.js';
import { consoleSecurityHeaders } from '../../local/edge.js';
import { tableDefinitions, tableNames } from '../../local/tables.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVERLESS_BIN = join(REPO_ROOT, 'node_modules/serverless/bin/serverless.js');
// Its own esbuild work folder, so packaging never collides with a running `npm start`.
const BUILD_DIR = '.esbuild-template';
// Each `serverless package` takes ~12-15 s here (measured); two run one after the other, since in
// parallel they were no faster on two CPUs and raced on the service folder.
const PACKAGE_TIMEOUT_MS = 180_000;

type Stage = 'dev' | 'prod';
const STAGES: readonly Stage[] = ['dev', 'prod'];

// serverless.yml's default for params.roleArnPattern (the test packages without TVM_* overrides).
const ROLE_ARN_PATTERN = 'arn:aws:iam::*:role/tvm-*';
/** What a deployer passes for the edge's JWT authorizer (serverless.yml params edgeIssuer, edgeAudience). */
const EDGE_ISSUER = 'https://idp.example.com/';
const EDGE_AUDIENCE = 'tvm';
const MB = 1_000_000;
const ZIP_BUDGET_BYTES = 1 * MB;
// The vend function's bundle (its minified .mjs; the external source map is not counted).
const VEND_BUNDLE_BUDGET_BYTES = 400_000;
// Present in every bundle that carries the SDK's default credential chain (its SSO and profile
// providers), absent once serverless.yml's alias replaces the chain by the environment provider.
const DEFAULT_CREDENTIAL_CHAIN_MARKER = 'sso_session';

// The resources a grant may name, as `resolveValue` spells CloudFormation references.
const DELEGATIONS = 'DelegationsTable';
const DELEGATIONS_INDEXES = 'DelegationsTable/index/*';
const AUDIT = 'AuditTable';
const AUDIT_INDEXES = 'AuditTable/index/*';
const AUDIT_KEY_INDEX = 'AuditTable/index/byAccessKey';
const AUDIT_SESSION_INDEX = 'AuditTable/index/bySessionRole';
const DELEGATIONS_GRANT_INDEX = 'DelegationsTable/index/byGrantId';
const DELEGATIONS_ACTIVE_GRANTS_INDEX = 'DelegationsTable/index/activeGrants';
const DELEGATIONS_BY_SUBJECT_INDEX = 'DelegationsTable/index/bySubject';
const AUDIT_TIME_INDEX = 'AuditTable/index/byTime';
// The chain-keyed layout's twins of byAccessKey and byTime (resources/tables.yml).
const AUDIT_KEY_X_INDEX = 'AuditTable/index/byAccessKeyX';
const AUDIT_TIME_X_INDEX = 'AuditTable/index/byTimeX';
// An audit append: the event (PutItem), and a chain's last item when it has not seen the chain yet
// (Query, LINK# partitions only: see "writers read the audit table's chains only").
const AUDIT_APPEND = [`dynamodb:PutItem ${AUDIT}`, `dynamodb:Query ${AUDIT}`];
const ANCHOR_BUCKET = 'AnchorBucket';
const ANCHOR_OBJECTS = 'AnchorBucket/anchors/*';
const DEAD_LETTERS = 'DeadLetterQueue';
const ALERTS_TOPIC = '{Ref AlertsTopic}';
const REQUESTS_TOPIC = '{Ref RequestsTopic}';
// serverless.yml's default for params.trailBucket; `<stage>` is replaced by the stage packaged.
const TRAIL_LOGS = 'arn:aws:s3:::tvm-<stage>-cloudtrail/AWSLogs/*';
const AUDIT_STREAM = 'AuditTable.StreamArn';
// What every function that cuts sessions off holds (shared/domain/cut-off-sessions.ts): writes to
// the revocation ledgers and cut-off orders (their keys only: see "writes by key"), a role's live
// sessions, and tvm's own inline policy on target roles (GetRole: is the role in tvm's account?).
const CUT_OFF_GRANTS = [
  `dynamodb:PutItem ${DELEGATIONS}`,
  `dynamodb:DeleteItem ${DELEGATIONS}`,
  `dynamodb:Query ${AUDIT_SESSION_INDEX}`,
  `iam:GetRole ${ROLE_ARN_PATTERN}`,
  `iam:ListRolePolicies ${ROLE_ARN_PATTERN}`,
  `iam:GetRolePolicy ${ROLE_ARN_PATTERN}`,
  `iam:PutRolePolicy ${ROLE_ARN_PATTERN}`,
  `iam:DeleteRolePolicy ${ROLE_ARN_PATTERN}`,
  // The same in a target account, through its revoker role there (resources/target-account-revoker.yml).
  'sts:AssumeRole arn:aws:iam::*:role/TvmRevoker-<stage>',
];
/** The functions that cut sessions off: their roles are the ones a target account's revoker role trusts. */
const CUT_OFF_FUNCTIONS = ['revokeGrant', 'handOverEngagement', 'putLockdown', 'repairRevocations', 'revokeRequest'];
const TARGET_ACCOUNT_TEMPLATE = join(fileURLToPath(new URL('../..', import.meta.url)), 'resources/target-account-revoker.yml');
const STREAM_READS = ['dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:DescribeStream', 'dynamodb:ListStreams'].map(
  (action) => `${action} ${AUDIT_STREAM}`,
);

/**
 * Every permission each function holds besides writing its own logs, as `action resource`: exactly
 * what its code calls (see shared/adapters/dynamodb-*.ts). Widening a function means editing this
 * table in the same change, where a reviewer sees it.
 */
const EXPECTED_GRANTS: Record<string, readonly string[]> = {
  health: [],
  openapi: [],
  // The caller's grants through bySubject, then each granted profile by key.
  me: [`dynamodb:Query ${DELEGATIONS_INDEXES}`, `dynamodb:GetItem ${DELEGATIONS}`],
  vendCredentials: [
    `sts:AssumeRole ${ROLE_ARN_PATTERN}`,
    `sts:TagSession ${ROLE_ARN_PATTERN}`,
    `sts:SetSourceIdentity ${ROLE_ARN_PATTERN}`,
    // The profile and the lockdown record by key; each subject's own active grants from the
    // activeGrants index (strongly consistent), never the profile's whole partition.
    `dynamodb:GetItem ${DELEGATIONS}`,
    `dynamodb:Query ${DELEGATIONS_ACTIVE_GRANTS_INDEX}`,
    // The caller's vend-quota counter (RATE#<principal>).
    `dynamodb:UpdateItem ${DELEGATIONS}`,
    // The lockdown and the cut-off epoch: one Query of the LOCKDOWN partition.
    `dynamodb:Query ${DELEGATIONS}`,
    ...AUDIT_APPEND,
  ],
  // The cut-off epoch, by key.
  getCutOffEpoch: [`dynamodb:GetItem ${DELEGATIONS}`],
  listProfiles: [`dynamodb:Query ${DELEGATIONS_INDEXES}`],
  getProfile: [`dynamodb:GetItem ${DELEGATIONS}`],
  // Writes go through TransactWriteItems, which IAM checks per item: PutItem for a Put, and so on.
  putProfile: [`dynamodb:PutItem ${DELEGATIONS}`, ...AUDIT_APPEND],
  deleteProfile: [`dynamodb:DeleteItem ${DELEGATIONS}`, ...AUDIT_APPEND],
  createGrant: [
    `dynamodb:GetItem ${DELEGATIONS}`,
    // Whether the grants on the delegator's quota record are still active, read by key.
    `dynamodb:BatchGetItem ${DELEGATIONS}`,
    // A delegator's own active grants on the profile (consistent queries of the activeGrants index).
    `dynamodb:Query ${DELEGATIONS_ACTIVE_GRANTS_INDEX}`,
    // The transaction's ConditionCheck that the profile still exists needs its own IAM action.
    `dynamodb:ConditionCheckItem ${DELEGATIONS}`,
    `dynamodb:PutItem ${DELEGATIONS}`,
    ...AUDIT_APPEND,
  ],
  // By profile (table), by subject (bySubject) or, unfiltered, a scan.
  listGrants: [
    `dynamodb:Query ${DELEGATIONS}`,
    `dynamodb:Query ${DELEGATIONS_INDEXES}`,
    `dynamodb:Scan ${DELEGATIONS}`,
    `dynamodb:Scan ${DELEGATIONS_INDEXES}`,
  ],
  revokeGrant: [
    `dynamodb:Query ${DELEGATIONS_INDEXES}`,
    // The profile (the roles to cut off on) and a role's revocation ledger, by key.
    `dynamodb:GetItem ${DELEGATIONS}`,
    `dynamodb:UpdateItem ${DELEGATIONS}`,
    ...AUDIT_APPEND,
    ...CUT_OFF_GRANTS,
  ],
  // An export is recorded (audit.exported) before it is returned.
  listAuditEvents: [`dynamodb:Query ${AUDIT}`, `dynamodb:Query ${AUDIT_INDEXES}`, ...AUDIT_APPEND],
  createEngagement: [
    `dynamodb:GetItem ${DELEGATIONS}`,
    `dynamodb:BatchGetItem ${DELEGATIONS}`,
    `dynamodb:Query ${DELEGATIONS_ACTIVE_GRANTS_INDEX}`,
    `dynamodb:ConditionCheckItem ${DELEGATIONS}`,
    `dynamodb:PutItem ${DELEGATIONS}`,
    ...AUDIT_APPEND,
  ],
  // The engagements' index entries (bySubject: ENGAGEMENTS / <createdAt>#<id>).
  listEngagements: [`dynamodb:Query ${DELEGATIONS_BY_SUBJECT_INDEX}`],
  getEngagement: [`dynamodb:GetItem ${DELEGATIONS}`, `dynamodb:BatchGetItem ${DELEGATIONS}`, `dynamodb:Query ${DELEGATIONS_INDEXES}`],
  handOverEngagement: [
    `dynamodb:GetItem ${DELEGATIONS}`,
    `dynamodb:BatchGetItem ${DELEGATIONS}`,
    `dynamodb:ConditionCheckItem ${DELEGATIONS}`,
    `dynamodb:PutItem ${DELEGATIONS}`,
    `dynamodb:UpdateItem ${DELEGATIONS}`,
    `dynamodb:Query ${DELEGATIONS_INDEXES}`,
    ...AUDIT_APPEND,
    ...CUT_OFF_GRANTS,
  ],
  getLockdown: [`dynamodb:GetItem ${DELEGATIONS}`],
  putLockdown: [
    `dynamodb:GetItem ${DELEGATIONS}`,
    // The lockdown item (its key only), and the cut-off epoch beside it.
    `dynamodb:PutItem ${DELEGATIONS}`,
    `dynamodb:UpdateItem ${DELEGATIONS}`,
    // Every profile, to resolve the locked roles.
    `dynamodb:Query ${DELEGATIONS_INDEXES}`,
    ...AUDIT_APPEND,
    ...CUT_OFF_GRANTS,
  ],
  deleteLockdown: [`dynamodb:GetItem ${DELEGATIONS}`, `dynamodb:PutItem ${DELEGATIONS}`, ...AUDIT_APPEND],
  // The schedule: the ledgers and pending orders (a partition each), and what every cut-off holds.
  repairRevocations: [
    `dynamodb:GetItem ${DELEGATIONS}`,
    `dynamodb:Query ${DELEGATIONS}`,
    ...AUDIT_APPEND,
    // A role-wide fallback's record for the vend, and the cut-off epoch's rise.
    `dynamodb:UpdateItem ${DELEGATIONS}`,
    ...CUT_OFF_GRANTS,
  ],
  // A CloudTrail record: its issuance by key, then one append; the platform dead-letters what fails.
  recordUse: [`dynamodb:Query ${AUDIT_KEY_INDEX}`, `dynamodb:Query ${AUDIT_KEY_X_INDEX}`, ...AUDIT_APPEND, `sqs:SendMessage ${DEAD_LETTERS}`],
  ingestTrailLogs: [
    `s3:GetObject ${TRAIL_LOGS}`,
    `dynamodb:Query ${AUDIT_KEY_INDEX}`, `dynamodb:Query ${AUDIT_KEY_X_INDEX}`,
    ...AUDIT_APPEND,
    // Its progress through a log file (TRAIL#<bucket>/<key> only, see WRITES_BY_KEY).
    `dynamodb:GetItem ${DELEGATIONS}`,
    `dynamodb:PutItem ${DELEGATIONS}`,
    `sqs:SendMessage ${DEAD_LETTERS}`,
  ],
  alert: [
    // A principal's denials (table), a key's history, events by type (indexes).
    `dynamodb:Query ${AUDIT}`,
    `dynamodb:Query ${AUDIT_INDEXES}`,
    ...AUDIT_APPEND,
    // Whether an alert was raised already: its once-marker, read consistently before publishing.
    `dynamodb:GetItem ${AUDIT}`,
    // The lockdown record by key, a grant by id.
    `dynamodb:GetItem ${DELEGATIONS}`,
    `dynamodb:Query ${DELEGATIONS_GRANT_INDEX}`,
    `sns:Publish ${ALERTS_TOPIC}`,
    `sqs:SendMessage ${DEAD_LETTERS}`,
    // Reading its trigger, the audit table's stream.
    ...STREAM_READS,
  ],
  getKeyTrace: [`dynamodb:Query ${AUDIT_KEY_INDEX}`, `dynamodb:Query ${AUDIT_KEY_X_INDEX}`, `dynamodb:Query ${DELEGATIONS_GRANT_INDEX}`],
  getAccess: [
    `dynamodb:GetItem ${DELEGATIONS}`,
    `dynamodb:Query ${DELEGATIONS}`,
    `dynamodb:Query ${DELEGATIONS_GRANT_INDEX}`,
    `dynamodb:Query ${AUDIT_INDEXES}`,
  ],
  // Chain heads by key (consistent reads), events through the time index, the days' latest anchors.
  verifyAudit: [`dynamodb:GetItem ${AUDIT}`, `dynamodb:Query ${AUDIT}`, `dynamodb:Query ${AUDIT_INDEXES}`, `s3:GetObject ${ANCHOR_OBJECTS}`, `s3:ListBucket ${ANCHOR_BUCKET}`],
  // The chain heads (BatchGetItem on CHAIN# keys only), an anchored event by id in its time
  // partition; it writes anchors and reads the last one back, and may delete nothing.
  anchorChainHeads: [
    `dynamodb:BatchGetItem ${AUDIT}`,
    `dynamodb:Query ${AUDIT_TIME_INDEX}`,
    `dynamodb:Query ${AUDIT_TIME_X_INDEX}`,
    // A chain-keyed chain's head: its LINK# partition's last item.
    `dynamodb:Query ${AUDIT}`,
    `s3:PutObject ${ANCHOR_OBJECTS}`,
    `s3:GetObject ${ANCHOR_OBJECTS}`,
    `s3:ListBucket ${ANCHOR_BUCKET}`,
  ],
  listAlerts: [`dynamodb:Query ${AUDIT_INDEXES}`],
  // Access requests: the request (REQUEST#<id>, see WRITES_BY_KEY), the profile and lockdown by key,
  // the audit event, the notice.
  createRequest: [
    `dynamodb:GetItem ${DELEGATIONS}`,
    `dynamodb:PutItem ${DELEGATIONS}`,
    `dynamodb:ConditionCheckItem ${DELEGATIONS}`,
    // The requester's count of pending requests (PENDING#<id>), in the same transaction.
    `dynamodb:UpdateItem ${DELEGATIONS}`,
    ...AUDIT_APPEND,
    `sns:Publish ${REQUESTS_TOPIC}`,
  ],
  // A requester's (bySubject), the pending ones (byGrantId), or every request (a scan).
  listRequests: [`dynamodb:Query ${DELEGATIONS_INDEXES}`, `dynamodb:Scan ${DELEGATIONS}`],
  getRequest: [`dynamodb:GetItem ${DELEGATIONS}`],
  // The completing approval also writes the grant, in its profile's partition.
  approveRequest: [
    `dynamodb:GetItem ${DELEGATIONS}`,
    `dynamodb:PutItem ${DELEGATIONS}`,
    // The profile and the lockdown still as read, when the grant is written.
    `dynamodb:ConditionCheckItem ${DELEGATIONS}`,
    `dynamodb:UpdateItem ${DELEGATIONS}`,
    ...AUDIT_APPEND,
    `sns:Publish ${REQUESTS_TOPIC}`,
  ],
  denyRequest: [`dynamodb:GetItem ${DELEGATIONS}`, `dynamodb:PutItem ${DELEGATIONS}`, `dynamodb:UpdateItem ${DELEGATIONS}`, ...AUDIT_APPEND, `sns:Publish ${REQUESTS_TOPIC}`],
  cancelRequest: [`dynamodb:GetItem ${DELEGATIONS}`, `dynamodb:PutItem ${DELEGATIONS}`, `dynamodb:UpdateItem ${DELEGATIONS}`, ...AUDIT_APPEND, `sns:Publish ${REQUESTS_TOPIC}`],
  // Revokes the request's grant and cuts its sessions off, as revokeGrant does.
  revokeRequest: [
    `dynamodb:GetItem ${DELEGATIONS}`,
    `dynamodb:PutItem ${DELEGATIONS}`,
    `dynamodb:UpdateItem ${DELEGATIONS}`,
    ...AUDIT_APPEND,
    `sns:Publish ${REQUESTS_TOPIC}`,
    ...CUT_OFF_GRANTS,
  ],
  // The schedule: the pending requests (byGrantId), each by key, its expiry recorded and announced.
  expireRequests: [
    `dynamodb:Query ${DELEGATIONS_GRANT_INDEX}`,
    `dynamodb:GetItem ${DELEGATIONS}`,
    `dynamodb:PutItem ${DELEGATIONS}`,
    `dynamodb:UpdateItem ${DELEGATIONS}`,
    ...AUDIT_APPEND,
    `sns:Publish ${REQUESTS_TOPIC}`,
  ],
};

/** The API table of the README: route → the function that serves it. */
const EXPECTED_ROUTES: Record<string, string> = {
  'GET /health': 'health',
  'GET /openapi.json': 'openapi',
  'GET /me': 'me',
  'POST /credentials': 'vendCredentials',
  'GET /profiles': 'listProfiles',
  'GET /profiles/{name}': 'getProfile',
  'PUT /profiles/{name}': 'putProfile',
  'DELETE /profiles/{name}': 'deleteProfile',
  'POST /grants': 'createGrant',
  'GET /grants': 'listGrants',
  'DELETE /grants/{id}': 'revokeGrant',
  'GET /audit/events': 'listAuditEvents',
  'POST /engagements': 'createEngagement',
  'GET /engagements': 'listEngagements',
  'GET /engagements/{id}': 'getEngagement',
  'POST /engagements/{id}/handover': 'handOverEngagement',
  'GET /lockdown': 'getLockdown',
  'GET /cut-off-epoch': 'getCutOffEpoch',
  'PUT /lockdown': 'putLockdown',
  'DELETE /lockdown': 'deleteLockdown',
  'GET /audit/keys/{accessKeyId}': 'getKeyTrace',
  'GET /audit/access': 'getAccess',
  'GET /audit/verify': 'verifyAudit',
  'GET /alerts': 'listAlerts',
  'POST /requests': 'createRequest',
  'GET /requests': 'listRequests',
  'GET /requests/{id}': 'getRequest',
  'POST /requests/{id}/approve': 'approveRequest',
  'POST /requests/{id}/deny': 'denyRequest',
  'POST /requests/{id}/cancel': 'cancelRequest',
  'POST /requests/{id}/revoke': 'revokeRequest',
};

const STS_ACTIONS = ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'];
// Anything that could change or remove an audit event, or the table itself.
const AUDIT_FORBIDDEN_ACTIONS = [
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
  'dynamodb:UpdateTable',
  'dynamodb:DeleteTable',
  'dynamodb:RestoreTableToPointInTime',
];
const AUDIT_ALLOWED_GRANTS = [
  `dynamodb:PutItem ${AUDIT}`,
  `dynamodb:Query ${AUDIT}`,
  `dynamodb:Query ${AUDIT_INDEXES}`,
  `dynamodb:Query ${AUDIT_KEY_INDEX}`,
  `dynamodb:Query ${AUDIT_SESSION_INDEX}`,
  `dynamodb:Query ${AUDIT_TIME_INDEX}`,
  `dynamodb:Query ${AUDIT_KEY_X_INDEX}`,
  `dynamodb:Query ${AUDIT_TIME_X_INDEX}`,
  `dynamodb:GetItem ${AUDIT}`,
  `dynamodb:BatchGetItem ${AUDIT}`,
];
const LOGS_ACTIONS = ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:TagResource'];
const LOGS_ARN_PREFIX = 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:';
// The framework's shared default role: dropped (resources/plugins/drop-unused-default-role.cjs).
const DEFAULT_ROLE = 'IamRoleLambdaExecution';

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

interface PolicyStatement {
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly NotAction?: unknown;
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
}

interface FunctionInfo {
  readonly name: string;
  readonly logicalId: string;
  readonly properties: Record<string, unknown>;
  readonly role: string;
}

/** One Allow of one action on one resource, resolved to a readable string. */
interface Grant {
  readonly role: string;
  readonly action: string;
  readonly resource: string;
  readonly isLogs: boolean;
  readonly condition?: unknown;
}

interface Packaged {
  readonly stage: Stage;
  readonly dir: string;
  readonly text: string;
  readonly template: CfnTemplate;
  readonly seconds: number;
  /** What `serverless package` printed. */
  readonly output: string;
}

const execFileAsync = promisify(execFile);
const packaged = new Map<Stage, Packaged>();

function pkg(stage: Stage): Packaged {
  const found = packaged.get(stage);
  if (!found) throw new Error(`stage ${stage} was not packaged`);
  return found;
}

async function packageStage(stage: Stage): Promise<Packaged> {
  const dir = mkdtempSync(join(tmpdir(), `tvm-template-${stage}-`));
  // Hermetic: serverless.yml's defaults, not whatever the developer's shell exports (a leftover
  // TVM_STS_ENDPOINT would otherwise end up in the template), and not jest's NODE_OPTIONS.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('TVM_') && name !== 'NODE_OPTIONS'),
  );
  const started = Date.now();
  const edge = [`--param=edgeIssuer=${EDGE_ISSUER}`, `--param=edgeAudience=${EDGE_AUDIENCE}`];
  const { stdout, stderr } = await execFileAsync(process.execPath, [SERVERLESS_BIN, 'package', '--stage', stage, '--package', dir, ...edge], {
    cwd: REPO_ROOT,
    env: { ...env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', TVM_BUILD_DIR: BUILD_DIR },
    maxBuffer: 16 * 1024 * 1024,
  });
  const seconds = (Date.now() - started) / 1000;
  const text = readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8');
  return { stage, dir, text, template: JSON.parse(text) as CfnTemplate, seconds, output: stdout + stderr };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/**
 * A CloudFormation value as a string: `{Fn::GetAtt: [AuditTable, Arn]}` → `AuditTable`, joins
 * joined, `Fn::Sub` strings kept with their `${AWS::...}` placeholders. Throws on anything else,
 * so a new kind of reference can't slip past the assertions unread.
 */
function resolveValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (isRecord(value)) {
    const getAtt = value['Fn::GetAtt'];
    if (getAtt !== undefined) {
      const [logicalId, attribute] = typeof getAtt === 'string' ? getAtt.split('.') : (getAtt as string[]);
      return attribute === 'Arn' ? String(logicalId) : `${logicalId}.${attribute}`;
    }
    if (typeof value.Ref === 'string') return `{Ref ${value.Ref}}`;
    const join = value['Fn::Join'];
    if (Array.isArray(join)) {
      const [separator, parts] = join as [string, unknown[]];
      return parts.map(resolveValue).join(separator);
    }
    const sub = value['Fn::Sub'];
    if (typeof sub === 'string') return sub;
    if (Array.isArray(sub)) return resolveValue(sub[0]);
  }
  throw new Error(`cannot resolve CloudFormation value ${JSON.stringify(value)}`);
}

/** IAM's wildcard match: `*` any run, `?` one character, everything else literal. */
function iamMatches(pattern: string, value: string, ignoreCase: boolean): boolean {
  const body = [...pattern]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, ignoreCase ? 'is' : 's').test(value);
}

const actionMatches = (pattern: string, action: string) => iamMatches(pattern, action, true);

/** Whether a resource (a logical-id reference or a literal ARN pattern) reaches the audit table. */
function reachesAuditTable(resource: string, stage: Stage): boolean {
  if (resource === AUDIT || resource.startsWith(`${AUDIT}/`)) return true;
  const arn = `arn:aws:dynamodb:us-east-1:123456789012:table/${tableNames(stage).audit}`;
  const pattern = resource
    .replaceAll('${AWS::Partition}', 'aws')
    .replaceAll('${AWS::Region}', 'us-east-1')
    .replaceAll('${AWS::AccountId}', '123456789012');
  return [arn, `${arn}/index/byTime`, `${arn}/stream/2026-01-01T00:00:00.000`].some((candidate) =>
    iamMatches(pattern, candidate, false),
  );
}

function resourcesOfType(template: CfnTemplate, type: string): [string, Record<string, unknown>][] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId, resource]) => [logicalId, resource.Properties ?? {}]);
}

function functionsOf(packagedStage: Packaged): FunctionInfo[] {
  const prefix = `tvm-${packagedStage.stage}-`;
  return resourcesOfType(packagedStage.template, 'AWS::Lambda::Function').map(([logicalId, properties]) => {
    const functionName = String(properties.FunctionName);
    if (!functionName.startsWith(prefix)) throw new Error(`${logicalId}: unexpected FunctionName ${functionName}`);
    return { name: functionName.slice(prefix.length), logicalId, properties, role: resolveValue(properties.Role) };
  });
}

function statementsOf(role: Record<string, unknown>): PolicyStatement[] {
  const policies = asArray(role.Policies as unknown[] | undefined);
  return policies.flatMap((policy) => {
    const document = isRecord(policy) && isRecord(policy.PolicyDocument) ? policy.PolicyDocument : {};
    return asArray(document.Statement as PolicyStatement[] | PolicyStatement | undefined);
  });
}

/** The RoleName a role resource is given (a string, or an Fn::Join the plugin builds). */
function roleNameOf(template: CfnTemplate, logicalId: string): unknown {
  return template.Resources[logicalId]?.Properties?.RoleName;
}

function rolesOf(packagedStage: Packaged): Map<string, PolicyStatement[]> {
  return new Map(
    resourcesOfType(packagedStage.template, 'AWS::IAM::Role').map(([logicalId, role]) => [logicalId, statementsOf(role)]),
  );
}

function grantsOf(role: string, statements: readonly PolicyStatement[]): Grant[] {
  return statements
    .filter((statement) => statement.Effect === 'Allow')
    .flatMap((statement) => {
      const actions = asArray(statement.Action);
      const isLogs = actions.length > 0 && actions.every((action) => action.startsWith('logs:'));
      const resources = asArray(statement.Resource).map(resolveValue);
      const condition = (statement as { Condition?: unknown }).Condition;
      return actions.flatMap((action) => resources.map((resource) => ({ role, action, resource, isLogs, condition })));
    });
}

function allGrants(packagedStage: Packaged): Grant[] {
  return [...rolesOf(packagedStage)].flatMap(([role, statements]) => grantsOf(role, statements));
}

const describeGrant = (grant: Grant) => `${grant.action} ${grant.resource}`;
/** A Query of the audit table restricted to chain-keyed chains (LINK# partitions). */
const isChainRead = (grant: Grant) =>
  grant.action === 'dynamodb:Query' &&
  grant.resource === AUDIT &&
  JSON.stringify(grant.condition) === JSON.stringify({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['LINK#*'] } });
const unique = (values: readonly string[]) => [...new Set(values)].sort();

/** `functions/vend-credentials.handler` → `functions/vend-credentials.mjs`. */
function handlerFile(fn: FunctionInfo): string {
  return `${String(fn.properties.Handler).replace(/\.[^./]+$/, '')}.mjs`;
}

function zipOf(fn: FunctionInfo): string {
  const code = fn.properties.Code as { S3Key?: unknown } | undefined;
  return basename(String(code?.S3Key));
}

beforeAll(async () => {
  rmSync(join(REPO_ROOT, BUILD_DIR), { recursive: true, force: true });
  for (const stage of STAGES) packaged.set(stage, await packageStage(stage));
  console.log(
    `serverless package: ${[...packaged.values()].map((p) => `${p.stage} ${p.seconds.toFixed(1)} s`).join(', ')}`,
  );
}, PACKAGE_TIMEOUT_MS);

afterAll(() => {
  for (const { dir } of packaged.values()) rmSync(dir, { recursive: true, force: true });
  rmSync(join(REPO_ROOT, BUILD_DIR), { recursive: true, force: true });
});

describe.each(STAGES)('least privilege per function (%s)', (stage) => {
  test('every function is in the table of expected permissions, and only those', () => {
    // Assess
    expect(functionsOf(pkg(stage)).map((fn) => fn.name).sort()).toEqual(Object.keys(EXPECTED_GRANTS).sort());
  });

  test.each(Object.keys(EXPECTED_GRANTS))('%s holds exactly its expected permissions', (name) => {
    // Prepare
    const fn = functionsOf(pkg(stage)).find((candidate) => candidate.name === name);
    const statements = rolesOf(pkg(stage)).get(fn?.role ?? '');

    // Act
    const grants = grantsOf(fn?.role ?? '', statements ?? []).filter((grant) => !grant.isLogs);

    // Assess
    expect(statements).toBeDefined();
    expect(unique(grants.map(describeGrant))).toEqual(unique((EXPECTED_GRANTS[name] ?? []).map((g) => g.replaceAll('<stage>', stage))));
  });

  test('every function has a role of its own, and the framework’s shared default role is gone', () => {
    // Prepare
    const functions = functionsOf(pkg(stage));

    // Assess
    expect(rolesOf(pkg(stage)).has(DEFAULT_ROLE)).toBe(false);
    for (const fn of functions) {
      expect(fn.role).toBe(`${fn.name.replace(/^./, (c) => c.toUpperCase())}IamRoleLambdaExecution`);
    }
    expect(new Set(functions.map((fn) => fn.role)).size).toBe(functions.length);
  });

  test('no statement uses a wildcard action, NotAction, NotResource or a `*` resource', () => {
    // Prepare
    const statements = [...rolesOf(pkg(stage)).values()].flat();

    // Assess
    for (const statement of statements) {
      expect(statement.Effect).toMatch(/^(Allow|Deny)$/);
      expect(statement).not.toHaveProperty('NotAction');
      expect(statement).not.toHaveProperty('NotResource');
      for (const action of asArray(statement.Action)) expect(action).not.toMatch(/[*?]/);
      for (const resource of asArray(statement.Resource).map(resolveValue)) expect(resource).not.toBe('*');
    }
  });

  test('roles carry no managed policies, no inline policy resources exist, only Lambda can assume them', () => {
    // Prepare
    const { template } = pkg(stage);
    const looseIamTypes = ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::RolePolicy', 'AWS::IAM::User', 'AWS::IAM::AccessKey'];

    // Assess
    for (const type of looseIamTypes) expect(resourcesOfType(template, type)).toEqual([]);
    for (const [, role] of resourcesOfType(template, 'AWS::IAM::Role')) {
      expect(asArray(role.ManagedPolicyArns as unknown[] | undefined)).toEqual([]);
      expect(role.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }],
      });
    }
  });

  test('log permissions are scoped to the function’s own log group (tvm-<stage>-* for the default role)', () => {
    // Prepare
    const roles = rolesOf(pkg(stage));

    // Act
    const logGrants = functionsOf(pkg(stage)).flatMap((fn) =>
      grantsOf(fn.role, roles.get(fn.role) ?? [])
        .filter((grant) => grant.isLogs)
        .map((grant) => ({ fn, grant })),
    );

    // Assess
    expect(logGrants.length).toBeGreaterThan(0);
    for (const { fn, grant } of logGrants) {
      expect(LOGS_ACTIONS).toContain(grant.action);
      const logGroup = fn.role === DEFAULT_ROLE ? `/aws/lambda/tvm-${stage}*` : `/aws/lambda/${String(fn.properties.FunctionName)}`;
      expect(grant.resource.startsWith(`${LOGS_ARN_PREFIX}${logGroup}:`)).toBe(true);
    }
  });

  test('only vendCredentials may mint credentials, only on the role ARN pattern; the cut-off functions only assume their revoker', () => {
    // Prepare
    const functions = functionsOf(pkg(stage));
    const vend = functions.find((fn) => fn.name === 'vendCredentials');
    const stsStatements = [...rolesOf(pkg(stage))].flatMap(([role, statements]) =>
      statements
        .filter((statement) => asArray(statement.Action).some((action) => action.toLowerCase().startsWith('sts:')))
        .map((statement) => ({ role, statement })),
    );

    // Assess
    expect(
      stsStatements.map(({ role, statement }) => ({ role, actions: unique(asArray(statement.Action)), resource: statement.Resource })),
    ).toEqual(
      expect.arrayContaining([{ role: vend?.role, actions: unique(STS_ACTIONS), resource: ROLE_ARN_PATTERN }]),
    );
    const cutOffRoles = functions.filter((fn) => CUT_OFF_FUNCTIONS.includes(fn.name)).map((fn) => fn.role);
    expect(stsStatements.filter(({ role }) => role !== vend?.role).map(({ role, statement }) => ({ role, actions: asArray(statement.Action), resource: statement.Resource })).sort((a, b) => a.role.localeCompare(b.role))).toEqual(
      cutOffRoles.sort().map((role) => ({ role, actions: ['sts:AssumeRole'], resource: `arn:aws:iam::*:role/TvmRevoker-${stage}` })),
    );
    expect(stsStatements).toHaveLength(1 + CUT_OFF_FUNCTIONS.length);
    // What the app validates profiles against is what IAM enforces.
    for (const fn of functions) {
      expect((fn.properties.Environment as { Variables: Record<string, string> }).Variables.TVM_ROLE_ARN_PATTERN).toBe(
        ROLE_ARN_PATTERN,
      );
    }
  });

  test('the audit table is append-only: no role can update, delete or batch-write it', () => {
    // Act
    const auditGrants = allGrants(pkg(stage)).filter((grant) => reachesAuditTable(grant.resource, stage));

    const violations = auditGrants
      .filter((grant) => AUDIT_FORBIDDEN_ACTIONS.some((action) => actionMatches(grant.action, action)))
      .map((grant) => `${grant.role}: ${describeGrant(grant)}`);

    // Assess
    expect(auditGrants.length).toBeGreaterThan(0);
    expect(violations).toEqual([]);
  });

  test('the audit table is written with PutItem only; only the trail’s readers may read it', () => {
    // Prepare: the security team's queries, use recording's join, the alert rules, and the
    // functions that find live sessions to cut off
    const readerNames = [
      'listAuditEvents',
      'getKeyTrace',
      'getAccess',
      'verifyAudit',
      'listAlerts',
      'recordUse',
      'ingestTrailLogs',
      'alert',
      'handOverEngagement',
      'putLockdown',
      'revokeGrant',
      'repairRevocations',
      'revokeRequest',
      'anchorChainHeads',
    ];
    const readers = functionsOf(pkg(stage))
      .filter((fn) => readerNames.includes(fn.name))
      .map((fn) => fn.role);
    const pointReaders = functionsOf(pkg(stage))
      .filter((fn) => ['verifyAudit', 'alert'].includes(fn.name))
      .map((fn) => fn.role);

    // Act
    const auditGrants = allGrants(pkg(stage)).filter((grant) => reachesAuditTable(grant.resource, stage));

    // Assess
    expect(unique(auditGrants.map(describeGrant))).toEqual(unique(AUDIT_ALLOWED_GRANTS));
    expect(readers).toHaveLength(readerNames.length);
    for (const grant of auditGrants.filter((candidate) => candidate.action !== 'dynamodb:PutItem' && !isChainRead(candidate))) {
      expect(readers).toContain(grant.role);
    }
    // GetItem only for chain heads (verify) and once-markers (alert).
    expect(auditGrants.filter((grant) => grant.action === 'dynamodb:GetItem').map((grant) => grant.role).sort()).toEqual(pointReaders.sort());
  });
});

/**
 * Writes to the delegations table that a function may make only under some partition keys
 * (`dynamodb:LeadingKeys`): action → the key lists of the statements allowing it. The vend function
 * may only count its quota; the lockdown functions may only write the lockdown item and what a
 * cut-off needs (revocation ledgers, cut-off orders, the cut-off epoch).
 */
const WRITES_BY_KEY: Record<string, Record<string, string[][]>> = {
  vendCredentials: { 'dynamodb:UpdateItem': [['RATE#*']] },
  putLockdown: {
    'dynamodb:PutItem': [['CUTOFF', 'REVOCATIONS'], ['LOCKDOWN'], ['LOCKDOWN']],
    'dynamodb:UpdateItem': [['LOCKDOWN']],
    'dynamodb:DeleteItem': [['CUTOFF', 'REVOCATIONS']],
  },
  deleteLockdown: { 'dynamodb:PutItem': [['LOCKDOWN']] },
  ingestTrailLogs: { 'dynamodb:PutItem': [['TRAIL#*']] },
  repairRevocations: {
    'dynamodb:PutItem': [['CUTOFF', 'REVOCATIONS'], ['LOCKDOWN']],
    'dynamodb:UpdateItem': [['LOCKDOWN']],
    'dynamodb:DeleteItem': [['CUTOFF', 'REVOCATIONS']],
  },
  createRequest: { 'dynamodb:PutItem': [['REQUEST#*']], 'dynamodb:UpdateItem': [['PENDING#*']] },
  approveRequest: { 'dynamodb:PutItem': [['PROFILE#*', 'REQUEST#*']], 'dynamodb:UpdateItem': [['PENDING#*']] },
  denyRequest: { 'dynamodb:PutItem': [['REQUEST#*']], 'dynamodb:UpdateItem': [['PENDING#*']] },
  cancelRequest: { 'dynamodb:PutItem': [['REQUEST#*']], 'dynamodb:UpdateItem': [['PENDING#*']] },
  expireRequests: { 'dynamodb:PutItem': [['REQUEST#*']], 'dynamodb:UpdateItem': [['PENDING#*']] },
  // The grant it revokes is an UpdateItem in its profile's partition; the ledgers as every cut-off.
  revokeRequest: {
    'dynamodb:PutItem': [['CUTOFF', 'REVOCATIONS'], ['LOCKDOWN'], ['REQUEST#*']],
    'dynamodb:UpdateItem': [['LOCKDOWN'], ['PROFILE#*']],
    'dynamodb:DeleteItem': [['CUTOFF', 'REVOCATIONS']],
  },
};

interface ConditionedStatement extends PolicyStatement {
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/** The partition keys a statement is limited to, or undefined when it is not limited. */
function leadingKeysOf(statement: ConditionedStatement): string[] | undefined {
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    if (!/^ForAllValues:String(Equals|Like)$/.test(operator)) continue;
    const leading = keys['dynamodb:LeadingKeys'];
    if (leading !== undefined) return asArray(leading).sort();
  }
  return undefined;
}

describe.each(STAGES)('writes by key (%s)', (stage) => {
  test.each(Object.keys(WRITES_BY_KEY))('%s writes the delegations table only under its own partition keys', (name) => {
    // Prepare
    const fn = functionsOf(pkg(stage)).find((candidate) => candidate.name === name);
    const statements = (rolesOf(pkg(stage)).get(fn?.role ?? '') ?? []) as ConditionedStatement[];

    // Act: every Allow of a write on the delegations table, with the keys it is limited to
    const writes: Record<string, (string[] | undefined)[]> = {};
    for (const statement of statements.filter((candidate) => candidate.Effect === 'Allow')) {
      if (!asArray(statement.Resource).map(resolveValue).includes(DELEGATIONS)) continue;
      for (const action of asArray(statement.Action).filter((candidate) => /^dynamodb:(Put|Update|Delete)Item$/.test(candidate))) {
        (writes[action] ??= []).push(leadingKeysOf(statement));
      }
    }

    // Assess
    const sorted = Object.fromEntries(Object.entries(writes).map(([action, keys]) => [action, [...keys].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))]));
    expect(sorted).toEqual(WRITES_BY_KEY[name]);
  });
});

describe.each(STAGES)('anchored chain heads (%s)', (stage) => {
  const resources = () => pkg(stage).template.Resources;
  const anchoring = () => functionsOf(pkg(stage)).find((fn) => fn.name === 'anchorChainHeads');
  const statementsOfFunction = (name: string) => rolesOf(pkg(stage)).get(functionsOf(pkg(stage)).find((fn) => fn.name === name)?.role ?? '') ?? [];

  test('the anchors bucket keeps every object under Object Lock in COMPLIANCE mode, and outlives the stack', () => {
    // Act
    const bucket = resources()[ANCHOR_BUCKET] as CfnResource & { DeletionPolicy?: string; UpdateReplacePolicy?: string };

    // Assess
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(bucket.Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 400 } } },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
    expect(bucket.Properties?.ObjectLockConfiguration).not.toHaveProperty('Rule.DefaultRetention.Years');
    expect([bucket.DeletionPolicy, bucket.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
  });

  test('the bucket policy denies everyone deletes and lifecycle rules, and writes to all but the anchoring function', () => {
    // Prepare
    const policy = resources().AnchorBucketPolicy?.Properties ?? {};
    type BucketStatement = { Effect: string; Principal: unknown; Action: string[]; Condition?: unknown };
    const statements = ((policy.PolicyDocument as { Statement: (Omit<BucketStatement, 'Action'> & { Action: string | string[] })[] }).Statement ?? []).map(
      (statement): BucketStatement => ({ ...statement, Action: asArray(statement.Action) }),
    );
    const denying = (action: string) => statements.filter((statement) => statement.Effect === 'Deny' && statement.Principal === '*' && statement.Action.includes(action));

    // Assess
    expect(resolveValue(policy.Bucket)).toBe(`{Ref ${ANCHOR_BUCKET}}`);
    expect(statements.every((statement) => statement.Effect === 'Deny')).toBe(true);
    for (const action of ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutLifecycleConfiguration']) {
      expect(denying(action).filter((statement) => statement.Condition === undefined)).toHaveLength(1);
    }
    expect(denying('s3:PutObject').map((statement) => statement.Condition)).toEqual([
      { ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': [anchoring()?.role, 'Arn'] } } },
    ]);
  });

  test('only anchorChainHeads may write anchors, only PutObject, only into the anchors bucket; no role may delete or unlock an object', () => {
    // Act
    const s3Grants = allGrants(pkg(stage)).filter((grant) => grant.action.toLowerCase().startsWith('s3:'));
    const writes = s3Grants.filter((grant) => !['s3:GetObject', 's3:ListBucket'].includes(grant.action));

    // Assess
    expect(writes.map((grant) => `${grant.role} ${describeGrant(grant)}`)).toEqual([`${anchoring()?.role} s3:PutObject ${ANCHOR_OBJECTS}`]);
    for (const grant of s3Grants) {
      expect(grant.action).not.toMatch(/^s3:(Delete|PutObjectRetention|PutObjectLegalHold|BypassGovernanceRetention|PutBucket|PutLifecycle)/i);
    }
  });

  test("writers read the audit table's chains only: a Query of the table itself is on LINK# keys, except for the trail's readers", () => {
    // Prepare: the functions that answer queries of the trail by principal (the table's own key).
    const principalReaders = functionsOf(pkg(stage))
      .filter((fn) => ['listAuditEvents', 'alert'].includes(fn.name))
      .map((fn) => fn.role);

    // Act
    const tableQueries = allGrants(pkg(stage)).filter((grant) => grant.action === 'dynamodb:Query' && grant.resource === AUDIT);
    const unrestricted = tableQueries.filter((grant) => !isChainRead(grant)).map((grant) => grant.role);

    // Assess
    expect(tableQueries.length).toBeGreaterThan(principalReaders.length);
    expect(unique(unrestricted)).toEqual(unique(principalReaders));
  });

  test('anchorChainHeads reads the chain heads only (BatchGetItem on CHAIN# keys), and lists only anchors/', () => {
    // Act
    const statements = statementsOfFunction('anchorChainHeads');
    const conditionOf = (action: string) => statements.find((statement) => asArray(statement.Action).includes(action)) as { Condition?: unknown } | undefined;

    // Assess
    expect(conditionOf('dynamodb:BatchGetItem')?.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CHAIN#*'] } });
    expect(conditionOf('s3:ListBucket')?.Condition).toEqual({ StringLike: { 's3:prefix': ['anchors/*'] } });
    expect((statementsOfFunction('verifyAudit').find((statement) => asArray(statement.Action).includes('s3:ListBucket')) as { Condition?: unknown })?.Condition).toEqual({
      StringLike: { 's3:prefix': ['anchors/*'] },
    });
  });

  test('anchorChainHeads runs every 5 minutes, and it and verifyAudit find the bucket in their environment', () => {
    // Act
    const schedules = resourcesOfType(pkg(stage).template, 'AWS::Events::Rule').filter(([, rule]) =>
      (rule.Targets as { Arn: unknown }[]).some((target) => resolveValue(target.Arn) === anchoring()?.logicalId),
    );

    // Assess
    expect(schedules.map(([, rule]) => rule.ScheduleExpression)).toEqual(['rate(5 minutes)']);
    for (const name of ['anchorChainHeads', 'verifyAudit']) {
      const fn = functionsOf(pkg(stage)).find((candidate) => candidate.name === name);
      expect((fn?.properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
        TVM_ANCHOR_BUCKET: { Ref: ANCHOR_BUCKET },
        TVM_ANCHOR_DIR: '',
      });
    }
  });
});

// A role in another account is cut off there, by tvm's revoker role in that account,
// which only the functions that cut sessions off can assume (and never a session tvm vends).
describe.each(STAGES)('cut-offs in target accounts (%s)', (stage) => {
  const revoker = loadYaml(readFileSync(TARGET_ACCOUNT_TEMPLATE, 'utf8')) as { Resources: { RevokerRole: { Properties: Record<string, unknown> } } };
  const role = revoker.Resources.RevokerRole.Properties;
  const sub = (value: unknown, parameters: Record<string, string>) =>
    String((value as { 'Fn::Sub': string })['Fn::Sub']).replace(/\$\{([^}]+)\}/g, (_, name: string) => parameters[name] ?? `<${name}>`);
  const parameters = { Stage: stage, TvmAccountId: '123456789012', TvmRegion: 'us-east-1', 'AWS::Partition': 'aws', 'AWS::AccountId': '111111111111', RoleNamePattern: 'tvm-*' };

  test('the functions that cut sessions off have roles named TvmCutOff-<stage>-<region>-<function>, and only they may assume a revoker', () => {
    // Prepare
    const template = pkg(stage).template;

    // Act
    const names = Object.fromEntries(
      functionsOf(pkg(stage)).map((fn) => [fn.name, roleNameOf(template, fn.role)]),
    );
    const assumingRevoker = functionsOf(pkg(stage))
      .filter((fn) => allGrants(pkg(stage)).some((grant) => grant.role === fn.role && grant.action === 'sts:AssumeRole' && grant.resource.includes('TvmRevoker')))
      .map((fn) => fn.name);

    // Assess
    for (const name of CUT_OFF_FUNCTIONS) expect(names[name]).toBe(`TvmCutOff-${stage}-us-east-1-${name}`);
    const others = Object.entries(names).filter(([name]) => !CUT_OFF_FUNCTIONS.includes(name));
    for (const [, name] of others) expect(JSON.stringify(name)).not.toContain('TvmCutOff');
    expect(assumingRevoker.sort()).toEqual([...CUT_OFF_FUNCTIONS].sort());
  });

  test("every other function's role is TvmFn-<stage>-<region>-<function>, outside the role pattern", () => {
    // Prepare
    const template = pkg(stage).template;

    // Act
    const names = functionsOf(pkg(stage))
      .filter((fn) => !CUT_OFF_FUNCTIONS.includes(fn.name))
      .map((fn) => [fn.name, roleNameOf(template, fn.role)] as const);

    // Assess
    expect(names.length).toBeGreaterThan(10);
    for (const [name, roleName] of names) expect(roleName).toEqual({ 'Fn::Join': ['-', ['TvmFn', stage, { Ref: 'AWS::Region' }, name]] });
  });

  test('every function knows the target accounts (none by default) and the revoker role it assumes there', () => {
    // Assess
    for (const fn of functionsOf(pkg(stage))) {
      expect((fn.properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
        TVM_TARGET_ACCOUNTS: '',
        TVM_REVOKER_ROLE_NAME: sub(role.RoleName, parameters),
      });
    }
  });

  test("the target account's revoker trusts exactly those four roles in tvm's account, and may change only role policies, never a revoker", () => {
    // Prepare
    const trust = role.AssumeRolePolicyDocument as { Statement: { Effect: string; Principal: { AWS: unknown[] }; Action: string; Condition?: unknown }[] };
    const template = pkg(stage).template;
    const cutOffRoleArns = functionsOf(pkg(stage))
      .filter((fn) => CUT_OFF_FUNCTIONS.includes(fn.name))
      .map((fn) => `arn:aws:iam::123456789012:role/${String(roleNameOf(template, fn.role))}`);
    const policies = role.Policies as { PolicyDocument: { Statement: { Effect: string; Action: string | string[]; Resource: unknown }[] } }[];
    const statements = policies.flatMap((policy) => policy.PolicyDocument.Statement);

    // Assess
    expect(sub(role.RoleName, parameters)).toBe(`TvmRevoker-${stage}`);
    expect(trust.Statement).toHaveLength(1);
    expect(trust.Statement[0]?.Effect).toBe('Allow');
    expect(trust.Statement[0]?.Action).toBe('sts:AssumeRole');
    // Principals, not a condition on a name: IAM pins each to its role's unique id.
    expect(trust.Statement[0]?.Condition).toBeUndefined();
    const trusted = (trust.Statement[0]?.Principal.AWS ?? []).map((principal) => sub(principal, parameters));
    expect(trusted.sort()).toEqual(cutOffRoleArns.sort());
    expect(trusted).toHaveLength(CUT_OFF_FUNCTIONS.length);
    // No role tvm vends, nor any of its functions', is one a profile may name.
    expect(iamMatches(ROLE_ARN_PATTERN, `arn:aws:iam::111111111111:role/TvmRevoker-${stage}`, true)).toBe(false);
    for (const fn of functionsOf(pkg(stage))) {
      const name = roleNameOf(template, fn.role);
      expect(iamMatches(ROLE_ARN_PATTERN, `arn:aws:iam::123456789012:role/${typeof name === 'string' ? name : `TvmFn-${stage}-us-east-1-${fn.name}`}`, true)).toBe(false);
    }
    const allows = statements.filter((statement) => statement.Effect === 'Allow');
    expect(allows.flatMap((statement) => asArray(statement.Action)).sort()).toEqual(
      ['iam:DeleteRolePolicy', 'iam:GetRole', 'iam:GetRolePolicy', 'iam:ListRolePolicies', 'iam:PutRolePolicy'].sort(),
    );
    for (const statement of allows) expect(sub(statement.Resource, parameters)).toBe('arn:aws:iam::111111111111:role/tvm-*');
    const denies = statements.filter((statement) => statement.Effect === 'Deny');
    expect(denies.map((statement) => [statement.Action, sub(statement.Resource, parameters)])).toEqual([['iam:*', 'arn:aws:iam::111111111111:role/TvmRevoker-*']]);
  });
});

// The console from a private bucket behind CloudFront (origin access control), on one
// origin with the API, under the same security headers as the local stack serves it with.
describe.each(STAGES)('the web console (%s)', (stage) => {
  const resources = () => pkg(stage).template.Resources;
  const properties = (id: string) => (resources()[id] as { Properties: Record<string, unknown> } | undefined)?.Properties ?? {};

  test('its bucket is private: public access blocked, owner-enforced, encrypted, readable only by the distribution over TLS', () => {
    // Act
    const bucket = properties('ConsoleBucket');
    const policy = properties('ConsoleBucketPolicy').PolicyDocument as { Statement: { Effect: string; Principal: unknown; Action: string; Condition: Record<string, Record<string, unknown>> }[] };

    // Assess
    expect(bucket.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(bucket).toHaveProperty('BucketEncryption');
    const allows = policy.Statement.filter((statement) => statement.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({ Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject' });
    expect(JSON.stringify(allows[0]?.Condition.StringEquals?.['AWS:SourceArn'])).toContain('ConsoleDistribution');
    expect(policy.Statement.filter((statement) => statement.Effect === 'Deny')).toEqual([
      expect.objectContaining({ Principal: '*', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]);
  });

  test('the distribution reads the bucket through origin access control and sends everything else to the API, uncached', () => {
    // Act
    const config = properties('ConsoleDistribution').DistributionConfig as {
      Origins: { Id: string; OriginAccessControlId?: unknown; S3OriginConfig?: { OriginAccessIdentity: string }; DomainName: unknown }[];
      DefaultCacheBehavior: Record<string, unknown>;
      CacheBehaviors: Record<string, unknown>[];
    };

    // Assess
    const s3 = config.Origins.find((origin) => origin.Id === 'console');
    expect(s3?.OriginAccessControlId).toEqual({ 'Fn::GetAtt': ['ConsoleOriginAccessControl', 'Id'] });
    expect(s3?.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    expect(properties('ConsoleOriginAccessControl').OriginAccessControlConfig).toMatchObject({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' });
    expect(JSON.stringify(config.Origins.find((origin) => origin.Id === 'api')?.DomainName)).toContain('HttpApi');
    expect(config.DefaultCacheBehavior).toMatchObject({
      TargetOriginId: 'api',
      ViewerProtocolPolicy: 'https-only',
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
      ResponseHeadersPolicyId: { Ref: 'ApiHeadersPolicy' },
    });
    // Nothing the API answers can render or be framed on the origin where the console keeps its token.
    const apiHeaders = (properties('ApiHeadersPolicy').ResponseHeadersPolicyConfig as { SecurityHeadersConfig: Record<string, Record<string, unknown>> }).SecurityHeadersConfig;
    expect(apiHeaders.ContentSecurityPolicy).toEqual({ ContentSecurityPolicy: "default-src 'none'; frame-ancestors 'none'", Override: true });
    expect(apiHeaders.ContentTypeOptions).toEqual({ Override: true });
    expect(config.CacheBehaviors).toEqual([
      expect.objectContaining({ PathPattern: '/console/*', TargetOriginId: 'console', AllowedMethods: ['GET', 'HEAD'], ResponseHeadersPolicyId: { Ref: 'ConsoleHeadersPolicy' } }),
    ]);
  });

  test("the console's headers: a CSP without inline or eval'd script, no framing, no plugins, no referrer, HSTS; the same policy as the local stack's", () => {
    // Prepare
    const headers = (properties('ConsoleHeadersPolicy').ResponseHeadersPolicyConfig as { SecurityHeadersConfig: Record<string, Record<string, unknown>> }).SecurityHeadersConfig;
    const csp = headers.ContentSecurityPolicy?.ContentSecurityPolicy as { 'Fn::Join': [string, unknown[]] };

    // Act: the policy as deployed with the edge issuer this test packages with
    const deployed = csp['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : new URL(EDGE_ISSUER).host)).join('');
    // Only the API and the issuer unless consoleConnectSrc names more.
    expect(csp['Fn::Join'][1]).toHaveLength(4);
    expect(csp['Fn::Join'][1][2]).toBe('');
    const directives = Object.fromEntries(deployed.split(';').map((directive) => directive.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));

    // Assess
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(deployed).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(headers.ContentSecurityPolicy?.Override).toBe(true);
    expect(headers.ReferrerPolicy).toEqual({ ReferrerPolicy: 'no-referrer', Override: true });
    expect(headers.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(headers.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: 63072000, Override: true });
    expect(deployed).toBe(consoleSecurityHeaders(`https://${new URL(EDGE_ISSUER).host}`)['content-security-policy']);
  });
});

describe.each(STAGES)('tables (%s)', (stage) => {
  const tables = () => resourcesOfType(pkg(stage).template, 'AWS::DynamoDB::Table');

  test('are the delegations and audit tables, named for the stage', () => {
    // Assess
    expect(Object.fromEntries(tables().map(([id, table]) => [id, table.TableName]))).toEqual({
      DelegationsTable: tableNames(stage).delegations,
      AuditTable: tableNames(stage).audit,
    });
  });

  test(`are on-demand, point-in-time recoverable, encrypted, deletion-protected only in prod`, () => {
    // Assess
    for (const [, table] of tables()) {
      expect(table).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: stage === 'prod',
      });
    }
  });

  test('the audit table streams new images; the delegations table has no stream', () => {
    // Prepare
    const byId = Object.fromEntries(tables());

    // Assess
    expect(byId.AuditTable?.StreamSpecification).toEqual({ StreamViewType: 'NEW_IMAGE' });
    expect(byId.DelegationsTable?.StreamSpecification).toBeUndefined();
  });
});

describe('tables: one source of truth with DynamoDB Local', () => {
  test.each(tableDefinitions('dev').map((definition) => [definition.TableName, definition] as const))(
    '%s has the keys and indexes local/tables.ts creates',
    (tableName, local) => {
      // Prepare
      const deployed = resourcesOfType(pkg('dev').template, 'AWS::DynamoDB::Table').find(
        ([, table]) => table.TableName === tableName,
      )?.[1];

      // Assess
      expect(deployed).toBeDefined();
      expect({
        AttributeDefinitions: deployed?.AttributeDefinitions,
        KeySchema: deployed?.KeySchema,
        GlobalSecondaryIndexes: deployed?.GlobalSecondaryIndexes,
        LocalSecondaryIndexes: deployed?.LocalSecondaryIndexes,
        StreamViewType: (deployed?.StreamSpecification as { StreamViewType?: string } | undefined)?.StreamViewType,
      }).toEqual({
        AttributeDefinitions: local.AttributeDefinitions,
        KeySchema: local.KeySchema,
        GlobalSecondaryIndexes: local.GlobalSecondaryIndexes,
        LocalSecondaryIndexes: local.LocalSecondaryIndexes,
        StreamViewType: local.StreamSpecification?.StreamViewType,
      });
    },
  );

  test('local/tables.ts defines every table the template deploys', () => {
    // Assess
    expect(tableDefinitions('dev').map((definition) => definition.TableName).sort()).toEqual(
      resourcesOfType(pkg('dev').template, 'AWS::DynamoDB::Table')
        .map(([, table]) => table.TableName)
        .sort(),
    );
  });
});

describe.each(STAGES)('functions and routes (%s)', (stage) => {
  test('every function runs on nodejs22.x', () => {
    // Assess
    const runtimes = Object.fromEntries(functionsOf(pkg(stage)).map((fn) => [fn.name, fn.properties.Runtime]));
    expect(runtimes).toEqual(Object.fromEntries(Object.keys(EXPECTED_GRANTS).map((name) => [name, 'nodejs22.x'])));
  });

  test('packages without a configuration warning (serverless v3 is taught nodejs22.x)', () => {
    // Assess
    expect(pkg(stage).output).not.toMatch(/Invalid configuration|Warning:/);
  });

  test('every route of the API table exists exactly once, served by its function', () => {
    // Prepare
    const { template } = pkg(stage);
    const functionByLogicalId = new Map(functionsOf(pkg(stage)).map((fn) => [fn.logicalId, fn.name]));
    const routes = resourcesOfType(template, 'AWS::ApiGatewayV2::Route');

    // Act
    const served = routes.map(([, route]) => {
      const integrationId = resolveValue(route.Target).replace(/^integrations\/\{Ref (.+)\}$/, '$1');
      const integration = template.Resources[integrationId]?.Properties ?? {};
      return [String(route.RouteKey), functionByLogicalId.get(resolveValue(integration.IntegrationUri))] as const;
    });

    // Assess
    expect(served.map(([routeKey]) => routeKey).sort()).toEqual(Object.keys(EXPECTED_ROUTES).sort());
    expect(Object.fromEntries(served)).toEqual(EXPECTED_ROUTES);
  });

  // A flood of junk tokens must not invoke Lambda and use up the account's concurrency.
  test('every route but the public ones (/health, /openapi.json) is behind the JWT authorizer of the configured issuer and audience', () => {
    // Prepare
    const { template } = pkg(stage);
    const authorizers = resourcesOfType(template, 'AWS::ApiGatewayV2::Authorizer');

    // Assess: one JWT authorizer, on the Authorization header
    expect(authorizers.map(([, authorizer]) => ({
      AuthorizerType: authorizer.AuthorizerType,
      IdentitySource: authorizer.IdentitySource,
      JwtConfiguration: authorizer.JwtConfiguration,
    }))).toEqual([
      { AuthorizerType: 'JWT', IdentitySource: ['$request.header.Authorization'], JwtConfiguration: { Issuer: EDGE_ISSUER, Audience: [EDGE_AUDIENCE] } },
    ]);
    const [authorizerId] = authorizers.map(([logicalId]) => logicalId);
    for (const [, route] of resourcesOfType(template, 'AWS::ApiGatewayV2::Route')) {
      if (route.RouteKey === 'GET /health' || route.RouteKey === 'GET /openapi.json') {
        expect(route.AuthorizationType ?? 'NONE').toBe('NONE');
        continue;
      }
      expect({ route: route.RouteKey, type: route.AuthorizationType, authorizer: resolveValue(route.AuthorizerId) }).toEqual({
        route: route.RouteKey,
        type: 'JWT',
        authorizer: `{Ref ${String(authorizerId)}}`,
      });
    }
  });

  test('the stage throttles each route by default (rate and burst from params)', () => {
    // Prepare
    const { template } = pkg(stage);

    // Assess
    expect(resourcesOfType(template, 'AWS::ApiGatewayV2::Stage').map(([, stageResource]) => stageResource.DefaultRouteSettings)).toEqual([
      expect.objectContaining({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
    ]);
  });

  test('ingestTrailLogs knows its cap and where a rejected log file goes (the dead-letter queue)', () => {
    // Assess
    const ingest = functionsOf(pkg(stage)).find((fn) => fn.name === 'ingestTrailLogs');
    expect((ingest?.properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      TVM_TRAIL_MAX_OBJECT_BYTES: '268435456',
      TVM_DEAD_LETTER_URL: { Ref: 'DeadLetterQueue' },
    });
  });

  test('the monitoring functions have concurrency of their own: recordUse, ingestTrailLogs, alert', () => {
    // Assess
    const reserved = Object.fromEntries(functionsOf(pkg(stage)).map((fn) => [fn.name, fn.properties.ReservedConcurrentExecutions]));
    expect(reserved).toMatchObject({ recordUse: 20, ingestTrailLogs: 5, alert: 5 });
    expect(Object.entries(reserved).filter(([, value]) => value !== undefined).map(([name]) => name).sort()).toEqual(['alert', 'ingestTrailLogs', 'recordUse']);
  });

  test('every function gets tvm’s configuration, with no local endpoints', () => {
    // Assess
    for (const fn of functionsOf(pkg(stage))) {
      expect(fn.properties.Environment).toMatchObject({
        Variables: {
          TVM_STAGE: stage,
          TVM_DELEGATIONS_TABLE: tableNames(stage).delegations,
          TVM_AUDIT_TABLE: tableNames(stage).audit,
          // No issuer configured: the functions fail closed at cold start.
          TVM_OIDC_ISSUERS: '[]',
          TVM_ADMIN_GROUP: 'tvm-admin',
          TVM_SECURITY_GROUP: 'tvm-security',
          TVM_ROLE_ARN_PATTERN: ROLE_ARN_PATTERN,
          TVM_AUDIT_SHARDS: '4',
          TVM_VEND_RATE_PER_MINUTE: '30',
          TVM_DELEGATION_QUOTA: '200',
        },
      });
      // Not even empty, and not from whatever the deployer's shell exports.
      const names = Object.keys((fn.properties.Environment as { Variables: object }).Variables);
      expect(names.filter((name) => name.endsWith('_ENDPOINT') || name.startsWith('AWS_ENDPOINT_URL'))).toEqual([]);
      // IS_OFFLINE would turn off anchoring, SNS alerts and the dead-letter queue, and let overrides in.
      expect(names).not.toContain('IS_OFFLINE');
    }
    expect(readFileSync(join(REPO_ROOT, 'serverless.yml'), 'utf8')).not.toMatch(/_ENDPOINT/);
  });

  test('no AWS credential appears anywhere in the template', () => {
    // Prepare
    const { text } = pkg(stage);

    // Assess
    expect(text).not.toMatch(/(AKIA|ASIA)[A-Z0-9]{16}/);
    expect(text).not.toMatch(/SecretAccessKey/i);
    expect(text).not.toMatch(/AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)/);
  });
});

describe('bundles (dev)', () => {
  const bundles = () =>
    functionsOf(pkg('dev')).map((fn) => {
      const zip = zipOf(fn);
      const path = join(pkg('dev').dir, zip);
      const entries = readZipEntries(path);
      return { fn, zip, zipBytes: statSync(path).size, entries, handler: entries.find((entry) => entry.name === handlerFile(fn)) };
    });

  test('sizes (recorded)', () => {
    // Act
    const rows = bundles().map(({ fn, zip, zipBytes, entries, handler }) => ({
      function: fn.name,
      zip,
      'zip bytes': zipBytes,
      entries: entries.length,
      'handler .mjs bytes': handler?.size,
      'handler .mjs zipped': handler?.compressedSize,
      'source map zipped': entries.find((entry) => entry.name === `${handlerFile(fn)}.map`)?.compressedSize,
    }));
    console.table(rows);

    // Assess
    expect(rows).toHaveLength(Object.keys(EXPECTED_GRANTS).length);
  });

  test('each function is packaged in a zip of its own', () => {
    // Prepare
    const zips = readdirSync(pkg('dev').dir).filter((file) => file.endsWith('.zip'));

    // Assess
    expect(Object.fromEntries(bundles().map(({ fn, zip }) => [fn.name, zip]))).toEqual(
      Object.fromEntries(Object.keys(EXPECTED_GRANTS).map((name) => [name, `${name}.zip`])),
    );
    expect(zips.sort()).toEqual(Object.keys(EXPECTED_GRANTS).map((name) => `${name}.zip`).sort());
  });

  test('each zip holds its .mjs handler and nothing but bundled code (no node_modules, sources or .tvm keys)', () => {
    // Assess
    for (const { fn, entries, handler } of bundles()) {
      expect({ [fn.name]: handler?.name }).toEqual({ [fn.name]: handlerFile(fn) });
      for (const { name } of entries) expect(name).toMatch(/^functions\/[a-z0-9-]+\.mjs(\.map)?$/);
    }
  });

  test(`each zip is at most ${ZIP_BUDGET_BYTES / MB} MB`, () => {
    // Assess
    const overBudget = bundles().filter(({ zipBytes }) => zipBytes > ZIP_BUDGET_BYTES);
    expect(Object.fromEntries(overBudget.map(({ fn, zipBytes }) => [fn.name, zipBytes]))).toEqual({});
  });

  test(`vendCredentials' bundle is at most ${VEND_BUNDLE_BUDGET_BYTES / 1000} kB`, () => {
    // Act
    const vend = bundles().find(({ fn }) => fn.name === 'vendCredentials');

    // Assess
    expect(vend?.handler?.size).toBeLessThanOrEqual(VEND_BUNDLE_BUDGET_BYTES);
  });

  test('openapi serves the bundled document and carries no AWS SDK', () => {
    // Act
    const { fn, zip } = bundles().find(({ fn: { name } }) => name === 'openapi') ?? {};
    const code = fn && zip ? (extractZip(join(pkg('dev').dir, zip)).get(handlerFile(fn))?.toString('utf8') ?? '') : '';

    // Assess
    expect(code).toContain('ErrorRequestAlreadyDecided');
    expect(code).not.toMatch(/@aws-sdk\//);
  });

  test("no bundle carries the SDK's default credential chain: Lambda's environment credentials only", () => {
    // Act
    const carrying = bundles()
      .filter(({ fn, zip }) => {
        const code = extractZip(join(pkg('dev').dir, zip)).get(handlerFile(fn));
        if (!code) throw new Error(`${zip} holds no ${handlerFile(fn)}`);
        return code.includes(DEFAULT_CREDENTIAL_CHAIN_MARKER);
      })
      .map(({ fn }) => fn.name);

    // Assess
    expect(carrying).toEqual([]);
  });

  test('a bundle without S3 carries no event-stream codec, only a refusal that says why (resources/plugins/esbuild-plugins.cjs)', () => {
    // Act
    const code = (name: string) => {
      const bundle = bundles().find(({ fn }) => fn.name === name);
      if (!bundle) throw new Error(`no function ${name}`);
      return (extractZip(join(pkg('dev').dir, bundle.zip)).get(handlerFile(bundle.fn)) ?? '').toString();
    };
    const vend = code('vendCredentials');
    const ingest = code('ingestTrailLogs');

    // Assess
    expect(vend).toContain('AWS SDK event streams are not bundled');
    expect(vend).not.toContain(':message-type');
    // S3's client configures event streams itself, and keeps them.
    expect(ingest).toContain(':message-type');
  });

  test("no bundle carries an SDK client's whole package.json, only its version (resources/plugins/esbuild-plugins.cjs)", () => {
    // Act
    const carrying = bundles()
      .filter(({ fn, zip }) => (extractZip(join(pkg('dev').dir, zip)).get(handlerFile(fn)) ?? '').includes('devDependencies'))
      .map(({ fn }) => fn.name);

    // Assess
    expect(carrying).toEqual([]);
  });
});

describe.each(STAGES)('audit of use and alerting wiring (%s)', (stage) => {
  const resources = () => pkg(stage).template.Resources;
  const ofType = (type: string) => resourcesOfType(pkg(stage).template, type);
  const targetsOf = (rule: Record<string, unknown>) =>
    (rule.Targets as { Arn: unknown }[]).map((target) => resolveValue(target.Arn));

  test('recordUse gets CloudTrail API calls of sessions of the target roles, and only those', () => {
    // Act
    const rules = ofType('AWS::Events::Rule').filter(([, rule]) => targetsOf(rule).includes('RecordUseLambdaFunction'));

    // Assess
    expect(rules.map(([, rule]) => rule.EventPattern)).toEqual([
      {
        source: [{ prefix: 'aws.' }],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: { userIdentity: { type: ['AssumedRole'], sessionContext: { sessionIssuer: { arn: [{ wildcard: ROLE_ARN_PATTERN }] } } } },
      },
    ]);
  });

  test('ingestTrailLogs gets S3 Object Created of the trail bucket’s log files', () => {
    // Act
    const rules = ofType('AWS::Events::Rule').filter(([, rule]) => targetsOf(rule).includes('IngestTrailLogsLambdaFunction'));

    // Assess
    expect(rules.map(([, rule]) => rule.EventPattern)).toEqual([
      {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [`tvm-${stage}-cloudtrail`] }, object: { key: [{ prefix: 'AWSLogs/' }] } },
      },
    ]);
  });

  test('what fails asynchronously is retried twice, then dead-lettered, never dropped', () => {
    // Act
    const configs = Object.fromEntries(
      ofType('AWS::Lambda::EventInvokeConfig').map(([, config]) => [resolveValue(config.FunctionName), config]),
    );

    // Assess
    for (const fn of ['RecordUseLambdaFunction', 'IngestTrailLogsLambdaFunction']) {
      expect(configs[`{Ref ${fn}}`]).toMatchObject({
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } },
      });
    }
    expect(resources().DeadLetterQueue?.Properties).toMatchObject({ QueueName: `tvm-${stage}-dead-letters`, SqsManagedSseEnabled: true });
  });

  // A record put in the queue by anyone else would be replayed by
  // `npm run redrive` as if CloudTrail had sent it.
  test('only the three functions that dead-letter may send to the queue', () => {
    // Prepare
    const senders = functionsOf(pkg(stage))
      .filter((fn) => allGrants(pkg(stage)).some((grant) => grant.role === fn.role && grant.action === 'sqs:SendMessage'))
      .map((fn) => ({ 'Fn::GetAtt': [fn.role, 'Arn'] }));

    // Act
    const policies = ofType('AWS::SQS::QueuePolicy').map(([, policy]) => policy);

    // Assess
    expect(senders).toHaveLength(3);
    expect(policies).toEqual([
      {
        Queues: [{ Ref: 'DeadLetterQueue' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'OnlyTvmsMonitoringFunctionsSend',
              Effect: 'Deny',
              Principal: '*',
              Action: 'sqs:SendMessage',
              Resource: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] },
              Condition: { ArnNotEquals: { 'aws:PrincipalArn': expect.arrayContaining(senders) } },
            },
          ],
        },
      },
    ]);
    const denied = (policies[0] as { PolicyDocument: { Statement: { Condition: { ArnNotEquals: { 'aws:PrincipalArn': unknown[] } } }[] } }).PolicyDocument.Statement[0];
    expect(denied?.Condition.ArnNotEquals['aws:PrincipalArn']).toHaveLength(3);
  });

  test('alert reads the audit stream reporting batch item failures, and runs every 5 minutes', () => {
    // Act
    const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(
      ([, mapping]) => resolveValue(mapping.FunctionName) === 'AlertLambdaFunction',
    );
    const schedules = ofType('AWS::Events::Rule').filter(
      ([, rule]) => targetsOf(rule).includes('AlertLambdaFunction') && rule.ScheduleExpression !== undefined,
    );

    // Assess
    expect(mappings.map(([, mapping]) => mapping)).toEqual([
      expect.objectContaining({
        EventSourceArn: { 'Fn::GetAtt': ['AuditTable', 'StreamArn'] },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 10,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } },
      }),
    ]);
    expect(schedules.map(([, rule]) => rule.ScheduleExpression)).toEqual(['rate(5 minutes)']);
  });

  test('alerts go to the encrypted tvm-<stage>-alerts topic, which only alert may publish to', () => {
    // Prepare
    const alertFn = functionsOf(pkg(stage)).find((fn) => fn.name === 'alert');

    // Act
    const publishers = allGrants(pkg(stage)).filter((grant) => grant.action.startsWith('sns:') && grant.resource !== REQUESTS_TOPIC);

    // Assess
    expect(resources().AlertsTopic?.Properties).toEqual({ TopicName: `tvm-${stage}-alerts`, KmsMasterKeyId: 'alias/aws/sns' });
    expect((alertFn?.properties.Environment as { Variables: Record<string, unknown> }).Variables.TVM_ALERTS_TOPIC_ARN).toEqual({
      Ref: 'AlertsTopic',
    });
    expect(publishers.map((grant) => `${grant.role} ${describeGrant(grant)}`)).toEqual([`${alertFn?.role} sns:Publish ${ALERTS_TOPIC}`]);
  });

  test("request notices go to the encrypted tvm-<stage>-requests topic, with a link into the stage's console", () => {
    // Prepare
    const requestFunctions = ['createRequest', 'approveRequest', 'denyRequest', 'cancelRequest', 'revokeRequest', 'expireRequests'];
    const fns = functionsOf(pkg(stage)).filter((fn) => requestFunctions.includes(fn.name));

    // Act
    const publishers = allGrants(pkg(stage)).filter((grant) => grant.resource === REQUESTS_TOPIC);

    // Assess
    expect(resources().RequestsTopic?.Properties).toEqual({ TopicName: `tvm-${stage}-requests`, KmsMasterKeyId: 'alias/aws/sns' });
    expect(fns).toHaveLength(requestFunctions.length);
    for (const fn of fns) {
      const variables = (fn.properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables.TVM_REQUESTS_TOPIC_ARN).toEqual({ Ref: 'RequestsTopic' });
      expect(JSON.stringify(variables.TVM_CONSOLE_URL)).toContain('ConsoleDistribution');
    }
    expect(unique(publishers.map((grant) => grant.role)).sort()).toEqual(unique(fns.map((fn) => fn.role)).sort());
  });
});
