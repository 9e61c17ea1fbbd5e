// The IAM calls tvm makes, on the local endpoint. GetRole describes the configured roles of the
// caller's account (as IAM's role APIs see it; roles may be in several accounts), and PutRolePolicy /
// GetRolePolicy / DeleteRolePolicy / ListRolePolicies keep inline role policies in memory. The Deny
// statements in them are enforced on requests signed with the role's sessions (see explicit-deny.ts),
// which is how tvm cuts off credentials already handed out.
import { createHash } from 'node:crypto';
import { ConstraintViolations, POLICY_PATTERN, POLICY_PATTERN_TEXT, validatePolicyDocument } from './constraints.js';
import { ServiceError } from './errors.js';
import { findExplicitDeny } from './explicit-deny.js';
import { arnAccount, parseRoleArn } from './identifiers.js';
import type { LocalRole, Principal, Session } from './principals.js';
import { IAM_API, responseMetadata, xmlDocument, xmlElement, xmlText } from './query-protocol.js';

// IAM quota: a role's inline policies together, whitespace not counted (aws-facts.md).
const ROLE_INLINE_POLICIES_LIMIT = 10240;
/** When the configured roles "were created", as GetRole reports it. */
const ROLES_CREATED_AT = '2026-01-01T00:00:00Z';
// Patterns and lengths from the IAM service model (roleNameType, policyNameType, policyDocumentType).
const IAM_NAME_PATTERN = /^[\w+=,.@-]+$/;
const IAM_NAME_PATTERN_TEXT = '[\\w+=,.@-]+';
const POLICY_DOCUMENT_MAX = 131072;

// IAM's wording, as its errors show up in the wild (e.g. serverless/serverless#7643 for LimitExceeded,
// aws-samples/eks-security-compromised-cluster-remediation#8 for the AccessDenied resource form).
export const iamErrors = {
  noSuchRole: (roleName: string) => new ServiceError('NoSuchEntity', 404, `The role with name ${roleName} cannot be found.`),
  noSuchRolePolicy: (policyName: string) =>
    new ServiceError('NoSuchEntity', 404, `The role policy with name ${policyName} cannot be found.`),
  limitExceeded: (roleName: string) =>
    new ServiceError('LimitExceeded', 409, `Maximum policy size of ${ROLE_INLINE_POLICIES_LIMIT} bytes exceeded for role ${roleName}`),
  accessDenied: (principalArn: string, action: string, resource: string | undefined) =>
    new ServiceError(
      'AccessDenied',
      403,
      `User: ${principalArn} is not authorized to perform: ${action}${resource === undefined ? '' : ` on resource: ${resource}`} because no identity-based policy allows the ${action} action`,
    ),
};

const inAccount = (accountId: string, roleName: string) => `${accountId}/${roleName}`;

/** The configured roles as IAM names them, and the inline policies kept on them. */
export class RolePolicyStore {
  private readonly rolesByArn: ReadonlyMap<string, LocalRole>;
  // IAM names a role by its RoleName, the last segment of its ARN, in the caller's account; names are
  // unique in an account. Keyed by `<account>/<name>`.
  private readonly rolesByName = new Map<string, LocalRole>();
  /** Inline policies: `<account>/<role name>` → policy name → document as sent. */
  private readonly inlinePolicies = new Map<string, Map<string, string>>();

  constructor(
    roles: readonly LocalRole[],
    private readonly defaultAccountId: string,
  ) {
    this.rolesByArn = new Map(roles.map((role) => [role.arn, role] as const));
    for (const role of roles) {
      const { accountId, roleName } = parseRoleArn(role.arn, defaultAccountId);
      if (this.rolesByName.has(inAccount(accountId, roleName))) throw new Error(`startLocalSts: two roles in ${accountId} are named ${roleName}`);
      this.rolesByName.set(inAccount(accountId, roleName), role);
    }
  }

  role(accountId: string, roleName: string): LocalRole | undefined {
    return this.rolesByName.get(inAccount(accountId, roleName));
  }

  /** The inline policies by name of the account's role; NoSuchEntity for a role it does not have. */
  policiesOf(accountId: string, roleName: string): Map<string, string> {
    const key = inAccount(accountId, roleName);
    if (!this.rolesByName.has(key)) throw iamErrors.noSuchRole(roleName);
    let policies = this.inlinePolicies.get(key);
    if (policies === undefined) {
      policies = new Map();
      this.inlinePolicies.set(key, policies);
    }
    return policies;
  }

  /** Role name → policy name → document as sent, for every role of the account; `{}` for a role without any. */
  policiesByRole(accountId: string): Record<string, Record<string, string>> {
    return Object.fromEntries(
      [...this.rolesByName.keys()]
        .filter((key) => key.startsWith(`${accountId}/`))
        .map((key) => [key.slice(accountId.length + 1), Object.fromEntries(this.inlinePolicies.get(key) ?? [])]),
    );
  }

  /** Whether a Deny in the session's role's inline policies (a cut-off) refuses it this action. */
  deniesSession(session: Session, action: string, resource: string): boolean {
    const roleName = parseRoleArn(session.roleArn, this.defaultAccountId).roleName;
    const policies = this.inlinePolicies.get(inAccount(session.accountId, roleName))?.values() ?? [];
    const attributes = { userId: session.assumedRoleId, sourceIdentity: session.sourceIdentity, tokenIssueTime: session.issuedAt, tags: session.tags };
    return findExplicitDeny(policies, { action, resource, session: attributes }) !== undefined;
  }

  /** A session may change the role policies of `roleArn`: its role may, and the role is another of its account. */
  sessionMayChange(session: Session, roleArn: string | undefined): boolean {
    return (
      this.rolesByArn.get(session.roleArn)?.mayChangeRolePolicies === true &&
      roleArn !== undefined &&
      arnAccount(roleArn) === session.accountId &&
      parseRoleArn(roleArn, this.defaultAccountId).roleName !== parseRoleArn(session.roleArn, this.defaultAccountId).roleName
    );
  }
}

/** The role a request's RoleName names in the caller's account: what a Deny's Resource is matched against. */
export function namedRole(store: RolePolicyStore, params: URLSearchParams, principal: Principal): { arn: string; inMessage: string } | undefined {
  const roleName = params.get('RoleName');
  if (roleName === null) return undefined;
  const arn = store.role(principal.accountId, roleName)?.arn ?? `arn:aws:iam::${principal.accountId}:role/${roleName}`;
  return { arn, inMessage: `role ${roleName}` };
}

export function putRolePolicy(store: RolePolicyStore, params: URLSearchParams, principal: Principal, requestId: string): string {
  // 1. Check the parameters against the service model's constraints (ValidationError).
  // 2. The role must exist (NoSuchEntity), the document must be an identity policy
  //    (MalformedPolicyDocument).
  // 3. The role's inline policies together, this one replacing any of the same name, must stay
  //    within 10,240 characters, whitespace not counted (LimitExceeded).
  // 4. Store it as sent: GetRolePolicy returns the caller's own text.
  const { roleName, policyName, policyDocument } = readRolePolicyRequest(params, { withDocument: true });
  const policies = store.policiesOf(principal.accountId, roleName);
  validatePolicyDocument(policyDocument, 'identity');
  let total = policySize(policyDocument);
  for (const [name, document] of policies) if (name !== policyName) total += policySize(document);
  if (total > ROLE_INLINE_POLICIES_LIMIT) throw iamErrors.limitExceeded(roleName);
  policies.set(policyName, policyDocument);
  return xmlDocument(IAM_API, 'PutRolePolicyResponse', [responseMetadata(requestId)]);
}

export function getRolePolicy(store: RolePolicyStore, params: URLSearchParams, principal: Principal, requestId: string): string {
  const { roleName, policyName } = readRolePolicyRequest(params, { withDocument: false });
  const document = store.policiesOf(principal.accountId, roleName).get(policyName);
  if (document === undefined) throw iamErrors.noSuchRolePolicy(policyName);
  return xmlDocument(IAM_API, 'GetRolePolicyResponse', [
    xmlElement('GetRolePolicyResult', [
      xmlText('PolicyName', policyName),
      xmlText('RoleName', roleName),
      // IAM returns the document URL-encoded (RFC 3986) and the SDK hands it over as it came.
      xmlText('PolicyDocument', encodeRfc3986(document)),
    ]),
    responseMetadata(requestId),
  ]);
}

export function deleteRolePolicy(store: RolePolicyStore, params: URLSearchParams, principal: Principal, requestId: string): string {
  const { roleName, policyName } = readRolePolicyRequest(params, { withDocument: false });
  const policies = store.policiesOf(principal.accountId, roleName);
  if (!policies.delete(policyName)) throw iamErrors.noSuchRolePolicy(policyName);
  return xmlDocument(IAM_API, 'DeleteRolePolicyResponse', [responseMetadata(requestId)]);
}

export function listRolePolicies(store: RolePolicyStore, params: URLSearchParams, principal: Principal, requestId: string): string {
  const roleName = readRoleName(params);
  const names = [...store.policiesOf(principal.accountId, roleName).keys()].sort();
  // One page: a role has at most a few inline policies here (IAM pages at 100 by default).
  return xmlDocument(IAM_API, 'ListRolePoliciesResponse', [
    xmlElement('ListRolePoliciesResult', [
      xmlElement('PolicyNames', names.map((name) => xmlText('member', name))),
      xmlText('IsTruncated', 'false'),
    ]),
    responseMetadata(requestId),
  ]);
}

/** The role of that name in the caller's account, as IAM describes it (the fields the SDK requires, and its trust). */
export function getRole(store: RolePolicyStore, params: URLSearchParams, principal: Principal, requestId: string): string {
  const roleName = readRoleName(params);
  const role = store.role(principal.accountId, roleName);
  if (role === undefined) throw iamErrors.noSuchRole(roleName);
  const resource = role.arn.slice(role.arn.indexOf(':role/') + ':role'.length);
  const trust = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: role.trustedPrincipalArns }, Action: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'] }],
  };
  return xmlDocument(IAM_API, 'GetRoleResponse', [
    xmlElement('GetRoleResult', [
      xmlElement('Role', [
        xmlText('Path', resource.slice(0, resource.lastIndexOf('/') + 1)),
        xmlText('RoleName', roleName),
        xmlText('RoleId', `AROA${createHash('sha256').update(role.arn).digest('hex').slice(0, 17).toUpperCase()}`),
        xmlText('Arn', role.arn),
        xmlText('CreateDate', ROLES_CREATED_AT),
        xmlText('AssumeRolePolicyDocument', encodeRfc3986(JSON.stringify(trust))),
        xmlText('MaxSessionDuration', String(role.maxSessionDurationSeconds)),
      ]),
    ]),
    responseMetadata(requestId),
  ]);
}

/** RoleName alone, or a ValidationError. */
function readRoleName(params: URLSearchParams): string {
  const roleName = params.get('RoleName') ?? undefined;
  const violations = new ConstraintViolations();
  violations.string('roleName', roleName, { required: true, min: 1, max: 64, pattern: [IAM_NAME_PATTERN, IAM_NAME_PATTERN_TEXT] });
  violations.throwIfAny();
  return roleName as string;
}

interface RolePolicyRequest {
  roleName: string;
  policyName: string;
  policyDocument: string;
}

/** RoleName, PolicyName and (for PutRolePolicy) PolicyDocument, or a ValidationError naming all violations. */
function readRolePolicyRequest(params: URLSearchParams, options: { withDocument: boolean }): RolePolicyRequest {
  const roleName = params.get('RoleName') ?? undefined;
  const policyName = params.get('PolicyName') ?? undefined;
  const policyDocument = params.get('PolicyDocument') ?? undefined;
  const violations = new ConstraintViolations();
  violations.string('roleName', roleName, { required: true, min: 1, max: 64, pattern: [IAM_NAME_PATTERN, IAM_NAME_PATTERN_TEXT] });
  violations.string('policyName', policyName, { required: true, min: 1, max: 128, pattern: [IAM_NAME_PATTERN, IAM_NAME_PATTERN_TEXT] });
  if (options.withDocument) {
    violations.string('policyDocument', policyDocument, { required: true, min: 1, max: POLICY_DOCUMENT_MAX, pattern: [POLICY_PATTERN, POLICY_PATTERN_TEXT] });
  }
  violations.throwIfAny();
  return { roleName: roleName as string, policyName: policyName as string, policyDocument: policyDocument ?? '' };
}

/** A policy's size as IAM counts it against the quota: without the whitespace between tokens. */
function policySize(document: string): number {
  return JSON.stringify(JSON.parse(document)).length;
}

/** encodeURIComponent leaves !'()* alone; RFC 3986, which IAM follows, reserves them. */
function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}
