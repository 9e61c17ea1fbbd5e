// AssumeRole on the local STS endpoint. It enforces the documented parameter constraints (STS API
// Reference, API_AssumeRole; the service model's limits) with AWS's error codes, status codes and,
// where we know it, AWS's wording, then issues a session the endpoint remembers.
// Simplified on purpose: trust is a list of caller ARNs, and sessions cannot assume roles (no role
// chaining).
import { randomBytes } from 'node:crypto';
import { ConstraintViolations, POLICY_PATTERN, POLICY_PATTERN_TEXT, validatePolicyDocument } from './constraints.js';
import { stsErrors } from './errors.js';
import { parseRoleArn, randomUpperAlphanumeric, stableId, toIsoSeconds } from './identifiers.js';
import type { LocalRole, Principal, Session } from './principals.js';
import { readMemberList, responseMetadata, STS_API, xmlDocument, xmlElement, xmlText } from './query-protocol.js';

const DEFAULT_DURATION_SECONDS = 3600;
const MODEL_MAX_DURATION_SECONDS = 43200;
const MIN_DURATION_SECONDS = 900;
const POLICY_PLAINTEXT_LIMIT = 2048;
const MAX_POLICY_ARNS = 10;
const MAX_TAGS = 50;
// Stand-in for STS's packed binary budget; see packedPolicyPercent.
const PACKED_BUDGET_BYTES = 2048;

/** What AssumeRole reads and changes: the roles that may be assumed and the sessions issued. */
export interface SessionIssuer {
  readonly roles: ReadonlyMap<string, LocalRole>;
  readonly sessions: Map<string, Session>;
  readonly now: () => Date;
  readonly defaultAccountId: string;
}

export function assumeRole(issuer: SessionIssuer, params: URLSearchParams, principal: Principal, requestId: string): string {
  // 1. Check the parameters against the service model's constraints (all violations, one error).
  // 2. Check what the model cannot express: ARN shape, duplicate tag keys, the policy document.
  // 3. Authorise: the role exists and trusts the caller; sessions never do (no role chaining).
  // 4. Check the duration against the role's MaxSessionDuration and the packed size.
  // 5. Issue and remember the session.
  const request = readAssumeRoleRequest(params);
  validateAssumeRoleRequest(request);
  const roleArn = request.roleArn as string;
  const sessionName = request.roleSessionName as string;
  validateAssumeRoleSemantics(request);

  const role = issuer.roles.get(roleArn);
  if (principal.kind === 'session' || role === undefined || !role.trustedPrincipalArns.includes(principal.arn)) {
    throw stsErrors.accessDenied(principal.arn, roleArn);
  }
  const durationSeconds = request.durationSeconds === undefined ? DEFAULT_DURATION_SECONDS : Number(request.durationSeconds);
  if (durationSeconds > role.maxSessionDurationSeconds) {
    throw stsErrors.validation('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
  }
  const tags = request.tags.map((tag) => ({ key: tag.key as string, value: tag.value as string }));
  const policyArns = request.policyArns.map((descriptor) => descriptor.arn).filter((arn): arn is string => arn !== undefined);
  const packed = packedPolicyPercent(request.policy, policyArns, tags);

  const { partition, accountId, roleName } = parseRoleArn(roleArn, issuer.defaultAccountId);
  const issuedAt = issuer.now();
  const session: Session = {
    accessKeyId: `ASIA${randomUpperAlphanumeric(16)}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: randomBytes(384).toString('base64'),
    roleArn,
    assumedRoleArn: `arn:${partition}:sts::${accountId}:assumed-role/${roleName}/${sessionName}`,
    assumedRoleId: `AROA${stableId(roleArn)}:${sessionName}`,
    accountId,
    sessionName,
    sourceIdentity: request.sourceIdentity,
    tags,
    transitiveTagKeys: request.transitiveTagKeys,
    policy: request.policy,
    policyArns,
    issuedAt,
    // AWS reports whole seconds; keep the stored expiry equal to the one reported.
    expiration: new Date(Math.floor(issuedAt.getTime() / 1000) * 1000 + durationSeconds * 1000),
    namedDuration: request.durationSeconds !== undefined,
  };
  issuer.sessions.set(session.accessKeyId, session);

  // PackedPolicySize is reported only when the request passed something that counts against it.
  const reportsPackedSize = request.policy !== undefined || policyArns.length > 0 || tags.length > 0;
  return xmlDocument(STS_API, 'AssumeRoleResponse', [
    xmlElement('AssumeRoleResult', [
      session.sourceIdentity === undefined ? '' : xmlText('SourceIdentity', session.sourceIdentity),
      xmlElement('AssumedRoleUser', [xmlText('Arn', session.assumedRoleArn), xmlText('AssumedRoleId', session.assumedRoleId)]),
      xmlElement('Credentials', [
        xmlText('AccessKeyId', session.accessKeyId),
        xmlText('SecretAccessKey', session.secretAccessKey),
        xmlText('SessionToken', session.sessionToken),
        xmlText('Expiration', toIsoSeconds(session.expiration)),
      ]),
      reportsPackedSize ? xmlText('PackedPolicySize', String(packed.total)) : '',
    ]),
    responseMetadata(requestId),
  ]);
}

interface AssumeRoleRequest {
  roleArn: string | undefined;
  roleSessionName: string | undefined;
  durationSeconds: string | undefined;
  policy: string | undefined;
  policyArns: { arn: string | undefined }[];
  tags: { key: string | undefined; value: string | undefined }[];
  transitiveTagKeys: string[];
  externalId: string | undefined;
  serialNumber: string | undefined;
  tokenCode: string | undefined;
  sourceIdentity: string | undefined;
}

function readAssumeRoleRequest(params: URLSearchParams): AssumeRoleRequest {
  const optional = (name: string): string | undefined => params.get(name) ?? undefined;
  return {
    roleArn: optional('RoleArn'),
    roleSessionName: optional('RoleSessionName'),
    durationSeconds: optional('DurationSeconds'),
    policy: optional('Policy'),
    policyArns: readMemberList(params, 'PolicyArns').map((member) => ({ arn: member.get('arn') })),
    tags: readMemberList(params, 'Tags').map((member) => ({ key: member.get('Key'), value: member.get('Value') })),
    transitiveTagKeys: readMemberList(params, 'TransitiveTagKeys').map((member) => member.get('') ?? ''),
    externalId: optional('ExternalId'),
    serialNumber: optional('SerialNumber'),
    tokenCode: optional('TokenCode'),
    sourceIdentity: optional('SourceIdentity'),
  };
}

// Patterns from the STS service model (fixtures/sts/assumerole-constraints.md, section B); the
// Policy pattern is in constraints.ts.
const ARN_PATTERN = /^[\t\n\r\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]+$/u;
const ARN_PATTERN_TEXT = '[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+';
const SESSION_NAME_PATTERN = /^[\w+=,.@-]*$/;
const SESSION_NAME_PATTERN_TEXT = '[\\w+=,.@-]*';
const EXTERNAL_ID_PATTERN = /^[\w+=,.@:/-]*$/;
const EXTERNAL_ID_PATTERN_TEXT = '[\\w+=,.@:\\/-]*';
const SERIAL_NUMBER_PATTERN = /^[\w+=/:,.@-]*$/;
const SERIAL_NUMBER_PATTERN_TEXT = '[\\w+=/:,.@-]*';
const TOKEN_CODE_PATTERN = /^\d*$/;
const TOKEN_CODE_PATTERN_TEXT = '[\\d]*';
const TAG_KEY_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u;
const TAG_KEY_PATTERN_TEXT = '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+';
const TAG_VALUE_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const TAG_VALUE_PATTERN_TEXT = '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*';

function validateAssumeRoleRequest(request: AssumeRoleRequest): void {
  const violations = new ConstraintViolations();
  violations.string('roleArn', request.roleArn, { required: true, min: 20, max: 2048, pattern: [ARN_PATTERN, ARN_PATTERN_TEXT] });
  violations.string('roleSessionName', request.roleSessionName, {
    required: true,
    min: 2,
    max: 64,
    pattern: [SESSION_NAME_PATTERN, SESSION_NAME_PATTERN_TEXT],
  });
  violations.integer('durationSeconds', request.durationSeconds, MIN_DURATION_SECONDS, MODEL_MAX_DURATION_SECONDS);
  // Plaintext over 2,048 characters is a ValidationError in this form: it is the wording AWS used
  // while the model still carried the 2,048 maximum (older SDK models, see assumerole-constraints.md)
  // and the limit is still documented. Not MalformedPolicyDocument (the document may be well-formed)
  // and not PackedPolicyTooLarge (the docs call the packed limit separate from the plaintext one).
  violations.string('policy', request.policy, { min: 1, max: POLICY_PLAINTEXT_LIMIT, pattern: [POLICY_PATTERN, POLICY_PATTERN_TEXT] });
  // The 10-ARN limit is prose-only in the docs; the model has no list maximum, so this wording is ours.
  violations.listSize('policyArns', request.policyArns.length, MAX_POLICY_ARNS);
  request.policyArns.forEach((descriptor, index) =>
    violations.string(`policyArns.${index + 1}.member.arn`, descriptor.arn, { min: 20, max: 2048, pattern: [ARN_PATTERN, ARN_PATTERN_TEXT] }),
  );
  violations.listSize('tags', request.tags.length, MAX_TAGS);
  request.tags.forEach((tag, index) => {
    violations.string(`tags.${index + 1}.member.key`, tag.key, { required: true, min: 1, max: 128, pattern: [TAG_KEY_PATTERN, TAG_KEY_PATTERN_TEXT] });
    violations.string(`tags.${index + 1}.member.value`, tag.value, { required: true, min: 0, max: 256, pattern: [TAG_VALUE_PATTERN, TAG_VALUE_PATTERN_TEXT] });
  });
  violations.listSize('transitiveTagKeys', request.transitiveTagKeys.length, MAX_TAGS);
  request.transitiveTagKeys.forEach((key, index) =>
    violations.string(`transitiveTagKeys.${index + 1}.member`, key, { min: 1, max: 128, pattern: [TAG_KEY_PATTERN, TAG_KEY_PATTERN_TEXT] }),
  );
  violations.string('externalId', request.externalId, { min: 2, max: 1224, pattern: [EXTERNAL_ID_PATTERN, EXTERNAL_ID_PATTERN_TEXT] });
  violations.string('serialNumber', request.serialNumber, { min: 9, max: 256, pattern: [SERIAL_NUMBER_PATTERN, SERIAL_NUMBER_PATTERN_TEXT] });
  violations.string('tokenCode', request.tokenCode, { min: 6, max: 6, pattern: [TOKEN_CODE_PATTERN, TOKEN_CODE_PATTERN_TEXT] });
  // The documented "must not begin with aws:" needs no rule of its own: the pattern admits no ':'.
  violations.string('sourceIdentity', request.sourceIdentity, {
    min: 2,
    max: 64,
    pattern: [SESSION_NAME_PATTERN, SESSION_NAME_PATTERN_TEXT],
  });
  violations.throwIfAny();
}

function validateAssumeRoleSemantics(request: AssumeRoleRequest): void {
  if (!/^arn:[^:]+:[^:]*:[^:]*:[^:]*:.+$/.test(request.roleArn ?? '')) throw stsErrors.validation('Request ARN is invalid');

  const seenKeys = new Set<string>();
  for (const tag of request.tags) {
    const folded = (tag.key ?? '').toLowerCase();
    if (seenKeys.has(folded)) {
      // IAM's wording for the same rule; STS's own wording for this case is not documented.
      throw stsErrors.validation('Duplicate tag keys found. Please note that Tag keys are case insensitive.');
    }
    seenKeys.add(folded);
  }

  if (request.policy !== undefined) validatePolicyDocument(request.policy);
}

/**
 * A plausible PackedPolicySize. AWS compresses the policy, policy ARNs and tags into a binary whose
 * format is not published; we count the minified policy, the ARNs and the tags' UTF-8 bytes against a
 * 2,048-byte budget. Real packing can be stricter (users report a 1,690-character policy with 42
 * actions at 157%), so passing here does not prove AWS will accept a policy.
 */
function packedPolicyPercent(
  policy: string | undefined,
  policyArns: string[],
  tags: { key: string; value: string }[],
): { total: number } {
  const policyBytes = policy === undefined ? 0 : JSON.stringify(JSON.parse(policy)).length;
  const arnBytes = policyArns.reduce((sum, arn) => sum + arn.length, 0);
  const tagBytes = tags.reduce((sum, tag) => sum + Buffer.byteLength(tag.key) + Buffer.byteLength(tag.value), 0);
  const percent = (bytes: number) => Math.ceil((bytes / PACKED_BUDGET_BYTES) * 100);
  const tagPercent = percent(tagBytes);
  // AWS's two messages (re:Post knowledge-center article "iam-role-aws-sts-error").
  if (tagPercent > 100) throw stsErrors.packedPolicyTooLarge(`Packed size of session tags consumes ${tagPercent}% of allotted space.`);
  const total = percent(policyBytes + arnBytes + tagBytes);
  if (total > 100) throw stsErrors.packedPolicyTooLarge(`Packed policy consumes ${total}% of allotted space, please use smaller policy.`);
  return { total };
}
