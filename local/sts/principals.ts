// Who may sign requests to the local STS/IAM endpoint: the configured long-term callers (tvm itself)
// and the sessions AssumeRole issued; the roles those sessions are of; and the two STS actions that
// describe a signer, GetCallerIdentity and GetAccessKeyInfo.
// Simplified on purpose: roles come from a list (local/sts/roles.json) instead of IAM.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConstraintViolations } from './constraints.js';
import { stsErrors } from './errors.js';
import { arnAccount, equalText, stableId } from './identifiers.js';
import { responseMetadata, STS_API, xmlDocument, xmlElement, xmlText } from './query-protocol.js';

export interface LocalRole {
  arn: string;
  maxSessionDurationSeconds: number;
  trustedPrincipalArns: string[];
  /**
   * Its sessions may call the IAM role-policy actions on the other roles of its account, as tvm's
   * revoker role in a target account may (resources/target-account-revoker.yml).
   */
  mayChangeRolePolicies?: boolean;
}

/** A long-term IAM identity allowed to sign requests (e.g. the tvm function's role). */
export interface LocalCaller {
  accessKeyId: string;
  secretAccessKey: string;
  arn: string;
}

/**
 * The identity the local stack's vend function signs with; roles.json trusts it. Dev-only, not an AWS
 * key. Not frozen: the SDK writes a `$source` marker into the credentials object it is given.
 */
export const LOCAL_TVM_CALLER: LocalCaller = {
  accessKeyId: 'AKIALOCALTVMVEND0001',
  secretAccessKey: 'local-tvm-dev-secret/NOT-AN-AWS-KEY/0000',
  arn: 'arn:aws:iam::000000000000:role/tvm-local-vend',
};

const rolesFileSchema = z.object({
  roles: z.array(
    z.object({
      arn: z.string().regex(/^arn:[\w-]+:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN'),
      // The IAM setting a role's MaxSessionDuration can take: 1 to 12 hours.
      maxSessionDurationSeconds: z.number().int().min(3600).max(43200),
      trustedPrincipalArns: z.array(z.string().min(1)),
      mayChangeRolePolicies: z.boolean().optional(),
    }),
  ),
});

/** The roles in local/sts/roles.json. Throws, naming the problem, if the file is malformed. */
export function loadLocalRoles(): LocalRole[] {
  const raw: unknown = JSON.parse(readFileSync(new URL('./roles.json', import.meta.url), 'utf8'));
  const parsed = rolesFileSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`local/sts/roles.json is invalid: ${parsed.error.message}`);
  return parsed.data.roles;
}

/** A session AssumeRole issued, with its secrets. */
export interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  roleArn: string;
  assumedRoleArn: string;
  assumedRoleId: string;
  accountId: string;
  sessionName: string;
  sourceIdentity: string | undefined;
  tags: { key: string; value: string }[];
  transitiveTagKeys: string[];
  policy: string | undefined;
  policyArns: string[];
  /** aws:TokenIssueTime, kept to the millisecond so a cut-off between two issues separates them. */
  issuedAt: Date;
  expiration: Date;
  /** Whether AssumeRole named DurationSeconds: AWS's federation endpoint then signs in IAM users' sessions only. */
  namedDuration: boolean;
}

/** A session as the endpoint's API and control routes show it: without its secrets. */
export interface IssuedSession {
  accessKeyId: string;
  roleArn: string;
  assumedRoleArn: string;
  sessionName: string;
  sourceIdentity?: string;
  tags: { key: string; value: string }[];
  policy?: string;
  expiration: Date;
}

export function issuedSession(session: Session): IssuedSession {
  const view: IssuedSession = {
    accessKeyId: session.accessKeyId,
    roleArn: session.roleArn,
    assumedRoleArn: session.assumedRoleArn,
    sessionName: session.sessionName,
    tags: session.tags.map((tag) => ({ ...tag })),
    expiration: new Date(session.expiration),
  };
  if (session.sourceIdentity !== undefined) view.sourceIdentity = session.sourceIdentity;
  if (session.policy !== undefined) view.policy = session.policy;
  return view;
}

/** The signer of a request, once its signature is verified. */
export type Principal =
  | { kind: 'caller'; arn: string; userId: string; accountId: string }
  | { kind: 'session'; arn: string; userId: string; accountId: string; session: Session };

/** The endpoint's signers by access key id, and what it needs to judge them. */
export interface Signers {
  readonly callers: ReadonlyMap<string, LocalCaller>;
  readonly sessions: ReadonlyMap<string, Session>;
  readonly now: () => Date;
  readonly defaultAccountId: string;
}

/** The principal behind an access key and the secret it signs with; InvalidClientTokenId or ExpiredToken if none may sign. */
export function resolveSigner(
  signers: Signers,
  accessKeyId: string,
  securityToken: string | undefined,
): { principal: Principal; secretAccessKey: string } {
  const caller = signers.callers.get(accessKeyId);
  if (caller !== undefined) {
    if (securityToken !== undefined) throw stsErrors.invalidClientTokenId();
    const accountId = arnAccount(caller.arn) ?? signers.defaultAccountId;
    const prefix = caller.arn.includes(':role/') ? 'AROA' : 'AIDA';
    return {
      principal: { kind: 'caller', arn: caller.arn, userId: `${prefix}${stableId(caller.arn)}`, accountId },
      secretAccessKey: caller.secretAccessKey,
    };
  }
  const session = signers.sessions.get(accessKeyId);
  if (session === undefined || securityToken === undefined || !equalText(securityToken, session.sessionToken)) {
    throw stsErrors.invalidClientTokenId();
  }
  if (signers.now().getTime() >= session.expiration.getTime()) throw stsErrors.expiredToken();
  return {
    principal: { kind: 'session', arn: session.assumedRoleArn, userId: session.assumedRoleId, accountId: session.accountId, session },
    secretAccessKey: session.secretAccessKey,
  };
}

export function getCallerIdentity(principal: Principal, requestId: string): string {
  return xmlDocument(STS_API, 'GetCallerIdentityResponse', [
    xmlElement('GetCallerIdentityResult', [
      xmlText('Arn', principal.arn),
      xmlText('UserId', principal.userId),
      xmlText('Account', principal.accountId),
    ]),
    responseMetadata(requestId),
  ]);
}

// The STS model's accessKeyIdType.
const ACCESS_KEY_ID_PATTERN = /^\w*$/;
const ACCESS_KEY_ID_PATTERN_TEXT = '[\\w]*';

export function getAccessKeyInfo(signers: Signers, params: URLSearchParams, requestId: string): string {
  const accessKeyId = params.get('AccessKeyId') ?? undefined;
  const violations = new ConstraintViolations();
  violations.string('accessKeyId', accessKeyId, { required: true, min: 16, max: 128, pattern: [ACCESS_KEY_ID_PATTERN, ACCESS_KEY_ID_PATTERN_TEXT] });
  violations.throwIfAny();
  const { callers, sessions, defaultAccountId } = signers;
  const caller = callers.get(accessKeyId as string);
  // AWS decodes the account from the key id itself, issued or not. Ours are random, so a key this
  // endpoint did not issue is reported as belonging to its default account.
  const account = caller === undefined ? (sessions.get(accessKeyId as string)?.accountId ?? defaultAccountId) : (arnAccount(caller.arn) ?? defaultAccountId);
  return xmlDocument(STS_API, 'GetAccessKeyInfoResponse', [
    xmlElement('GetAccessKeyInfoResult', [xmlText('Account', account)]),
    responseMetadata(requestId),
  ]);
}
