import { eventBase, type CredentialDeniedEvent, type CredentialIssuedEvent } from './audit.js';
import { resolveConsoleDuration, resolveDuration } from './duration.js';
import {
  AuditUnavailableError,
  CutOffPendingError,
  DurationOutOfRangeError,
  EngagementHandedOverError,
  GrantExpiredError,
  NoGrantError,
  NotFoundError,
  RateLimitedError,
  ScopeNotGrantedError,
  TvmError,
} from './errors.js';
import { appliesTo, grantLimits, rankGrants, subjectsOf } from './grant-selection.js';
import { ENGAGEMENT_HANDED_OVER, type Grant, type IssuedCredentials, type Principal, type Profile, type RequestMeta, type SessionTag } from './model.js';
import type { AuditWriter, Clock, CredentialIssuer, IdGenerator, LockdownStore, ProfileGrantsReader, RateLimiter } from './ports.js';
import { assertNotLockedOut, lockdownExemption } from './lockdown-rules.js';
import { cutOffPendingUntil, grantsCutOff, type RecentCutOff } from './recent-cut-offs.js';
import type { SessionFacts } from './revocations.js';
import type { VendRequest } from './schemas.js';
import { policyHash, resolveSessionScope } from './scope.js';
import { GRANT_TAG, LOCKDOWN_TAG, NO_LOCKDOWN_EXEMPTION } from './session-tags.js';
import { toSourceIdentity } from './source-identity.js';
import { assertSteppedUp } from './step-up-rules.js';

export interface VendDeps {
  readonly store: ProfileGrantsReader;
  readonly lockdown: Pick<LockdownStore, 'getLockdownAndCutOffs'>;
  readonly issuer: CredentialIssuer;
  readonly audit: AuditWriter;
  /** The per-principal vend quota; required, so no vend path can be wired without it. */
  readonly limiter: RateLimiter;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Where a lost denial record is reported (the denial itself still stands). */
  readonly warn: (message: string, data: Record<string, unknown>) => void;
}

/** How the session leaves tvm: `console` for a sign-in URL (one hour, see duration.ts), recorded with the issuance. */
export interface VendOptions {
  readonly format?: 'console';
}

export interface VendResult {
  readonly credentials: IssuedCredentials;
  readonly profile: string;
  readonly roleArn: string;
  readonly sessionName: string;
  readonly sourceIdentity: string;
  readonly grantId: string;
  readonly requestId: string;
  /** The cut-off epoch the vend read with its rules: a later cut-off raises it (ports.ts). */
  readonly cutOffEpoch: number;
}

// Session tag values allow only these characters (STS Tag.Value pattern), up to 256 of them.
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

/**
 * Vends credentials for one profile:
 * 1. Count the vend against the caller's quota and read the profile with the caller's active
 *    grants on it, the lockdown and the cut-off epoch (consistently), all in one round trip. The quota decides first: a
 *    limited caller gets RATE_LIMITED with retryAfterSeconds whatever the reads found, and
 *    STORE_UNAVAILABLE, never a free pass, when the count cannot be kept. (In parallel rather than
 *    quota first: a refused request in a flood costs its reads more, every vend one round trip less.)
 * 2. A locked profile (by its name or its role) refuses everyone outside the allow list
 *    (LOCKDOWN_ACTIVE); an allowed caller's session is tagged so the lockdown's cut-off spares it.
 * 3. Select a usable grant (NO_GRANT / GRANT_EXPIRED otherwise; ENGAGEMENT_HANDED_OVER when the
 *    caller's access on it ended with an engagement's handover: one more read, on refusals only).
 * 4. Resolve the duration within grant, profile and AssumeRole limits (for the console, STS's
 *    default hour, which it is assumed with: see duration.ts).
 * 5. Resolve the scope (contained in grant and profile) into a session policy of ≤ 2,048 chars.
 * 6. AssumeRole with session name, SourceIdentity and tags derived only from the verified
 *    principal and stored rules (the grant's id, by which revoking it cuts the session off).
 * 7. Durably record `credential.issued`; if that fails the credentials are discarded.
 * Every refusal is recorded as `credential.denied` (best effort: a lost record never turns a
 * denial into an issuance), except rate-limited ones beyond the first per principal and window:
 * recording each would let a caller write to the audit trail as fast as it can send requests.
 */
export async function vendCredentials(
  deps: VendDeps,
  principal: Principal,
  request: VendRequest,
  meta: RequestMeta,
  options: VendOptions = {},
): Promise<VendResult> {
  let grantId: string | undefined;
  let recordRefusal = true;
  try {
    const now = deps.clock.now();
    // The quota's write and the reads of a vend (all strongly consistent), in parallel.
    const [counted, read] = await Promise.allSettled([
      deps.limiter.take(principal.id, now),
      Promise.all([deps.store.getProfileWithGrants(request.profile, subjectsOf(principal), now), deps.lockdown.getLockdownAndCutOffs(now)]),
    ]);
    if (counted.status === 'rejected') throw counted.reason;
    const quota = counted.value;
    if (!quota.allowed) {
      recordRefusal = quota.firstRefusal;
      throw new RateLimitedError(`too many credential requests; try again in ${quota.retryAfterSeconds} s`, {
        details: { retryAfterSeconds: quota.retryAfterSeconds },
      });
    }
    if (read.status === 'rejected') throw read.reason;
    const [{ profile, grants }, { lockdown, cutOffEpoch, recentCutOffs }] = read.value;
    if (!profile) throw new NotFoundError(`profile "${request.profile}" does not exist`);
    assertNotLockedOut(lockdown, principal, profile);
    const exemption = lockdownExemption(lockdown, principal, profile);

    // A grant a recent cut-off revoked is left out: the read of the grants may predate it.
    const revokedNow = grantsCutOff(recentCutOffs, profile.roleArn);
    const current = grants.filter((grant) => appliesTo(grant, profile) && !revokedNow.has(grant.id));
    const ranked = await rankGrantsOrExplain(deps, current, principal, profile, now);
    const planned = planSession(ranked, profile, request, now, options);
    if ('refusal' in planned) {
      grantId = planned.grantId;
      throw planned.refusal;
    }
    const { grant, durationSeconds, policy } = planned.plan;
    grantId = grant.id;
    // Only a caller who could get credentials is asked to sign in again.
    assertSteppedUp(profile, principal, now);

    const sourceIdentity = toSourceIdentity(principal.id);
    assertNoCutOffPending(recentCutOffs, profile.roleArn, { sourceIdentity, grantId: grant.id, ...(exemption ? { lockdownExemption: exemption } : {}) }, now);
    const credentials = await deps.issuer.assumeRole({
      roleArn: profile.roleArn,
      sessionName: sourceIdentity,
      sourceIdentity,
      // A console session is assumed at STS's default: named, AWS would not sign it in.
      ...(options.format === 'console' ? {} : { durationSeconds }),
      ...(policy ? { policy } : {}),
      tags: sessionTags(principal, grant.id, meta.requestId, exemption),
      ...(profile.externalId ? { externalId: profile.externalId } : {}),
    });

    const at = deps.clock.now();
    const issued: CredentialIssuedEvent = {
      ...eventBase(at, deps.ids.next(), principal, meta),
      type: 'credential.issued',
      profile: profile.name,
      roleArn: profile.roleArn,
      grantId: grant.id,
      accessKeyId: credentials.accessKeyId,
      expiration: credentials.expiration,
      sessionName: sourceIdentity,
      sourceIdentity,
      assumedRoleArn: credentials.assumedRoleArn,
      durationSeconds,
      ...(policy ? { policyHash: policyHash(policy) } : {}),
      groups: principal.groups,
      ...(exemption ? { lockdownExemption: exemption } : {}),
      ...(request.reason ? { reason: request.reason } : {}),
      ...(options.format ? { format: options.format } : {}),
      // How the person signed in, for the key trace of a restricted profile's session.
      ...(profile.sensitivity === 'restricted' ? signInRecord(principal) : {}),
    };
    // Throws AuditUnavailableError: the credentials go out of scope here, never to the caller.
    await deps.audit.append(issued);

    return {
      credentials,
      profile: profile.name,
      roleArn: profile.roleArn,
      sessionName: sourceIdentity,
      sourceIdentity,
      grantId: grant.id,
      requestId: meta.requestId,
      cutOffEpoch,
    };
  } catch (error) {
    // Every refusal is recorded, unexpected ones too; only a failing audit trail cannot be.
    if (recordRefusal && !(error instanceof AuditUnavailableError)) {
      await recordDenial(deps, principal, request, meta, error, grantId);
    }
    throw error;
  }
}

function signInRecord(principal: Principal): Pick<CredentialIssuedEvent, 'amr' | 'authTime'> {
  const at = principal.signIn?.at;
  return { amr: principal.signIn?.methods ?? [], ...(at !== undefined ? { authTime: new Date(at * 1000).toISOString() } : {}) };
}

/**
 * rankGrants, but a caller with no usable grant is told why when the reason is known: its grant
 * expired (GRANT_EXPIRED), or its access ended with an engagement's handover. Only a refusal pays
 * for the read that finds out; when that read fails, the plain refusal stands.
 */
async function rankGrantsOrExplain(
  deps: Pick<VendDeps, 'store' | 'warn'>,
  grants: readonly Grant[],
  principal: Principal,
  profile: Profile,
  now: Date,
): Promise<Grant[]> {
  const rank = (candidates: readonly Grant[]) =>
    rankGrants(candidates, principal, profile.name, now, { profileMaxSessionSeconds: profile.maxSessionSeconds });
  try {
    return rank(grants);
  } catch (error) {
    if (!(error instanceof NoGrantError)) throw error;
    let ended: Grant[];
    try {
      ended = (await deps.store.getEndedGrants(profile.name, subjectsOf(principal), now)).filter((grant) => appliesTo(grant, profile));
    } catch (readError) {
      deps.warn('the reason for a refusal could not be read', { profile: profile.name, error: readError });
      throw error;
    }
    try {
      rank([...grants, ...ended]); // ended grants are never usable: this throws
    } catch (explained) {
      if (explained instanceof GrantExpiredError) throw explained;
    }
    const handedOver = ended.find((grant) => grant.revokedReason === ENGAGEMENT_HANDED_OVER);
    if (handedOver) {
      throw new EngagementHandedOverError(
        `your access to profile "${profile.name}" ended when engagement ${handedOver.engagementId} was handed over`,
        { details: { engagementId: handedOver.engagementId ?? '' } },
      );
    }
    throw error;
  }
}

interface SessionPlan {
  readonly grant: Grant;
  readonly durationSeconds: number;
  readonly policy?: string;
}

/**
 * The best-ranked grant that can serve this request (duration and scope), with the session it
 * allows. When none can, the best grant's refusal is the answer, naming that grant.
 */
function planSession(
  ranked: readonly Grant[],
  profile: Profile,
  request: VendRequest,
  now: Date,
  options: VendOptions,
): { plan: SessionPlan } | { refusal: unknown; grantId: string } {
  let first: { refusal: unknown; grantId: string } | undefined;
  for (const grant of ranked) {
    try {
      const limits = grantLimits(grant, profile, now);
      const durationSeconds =
        options.format === 'console' ? resolveConsoleDuration(request.durationSeconds, limits, profile.name) : resolveDuration(request.durationSeconds, limits, profile.name);
      const { policy } = resolveSessionScope({ requested: request.scope, grant: grant.scope, profile: profile.scope });
      return { plan: { grant, durationSeconds, ...(policy ? { policy } : {}) } };
    } catch (error) {
      // Another grant may allow a longer session or a wider scope; anything else is final.
      const anotherGrantMayFit = error instanceof DurationOutOfRangeError || error instanceof ScopeNotGrantedError;
      if (!anotherGrantMayFit) return { refusal: error, grantId: grant.id };
      first ??= { refusal: error, grantId: grant.id };
    }
  }
  // `ranked` is never empty (rankGrants refuses instead), so a refusal was recorded.
  return first as { refusal: unknown; grantId: string };
}

function sessionTags(principal: Principal, grantId: string, requestId: string, lockdownExemption: string | undefined): SessionTag[] {
  const tags: SessionTag[] = [
    { key: GRANT_TAG, value: grantId },
    { key: 'tvm:request', value: requestId },
    // Always set: a session tag overrides a role tag of the same key, so a role tagged
    // `tvm:lockdown=<version>` by hand cannot exempt the sessions vended on it.
    { key: LOCKDOWN_TAG, value: lockdownExemption ?? NO_LOCKDOWN_EXEMPTION },
  ];
  // The principal id is also in SourceIdentity; as a tag only where STS's character set allows it.
  if (TAG_VALUE.test(principal.id)) tags.push({ key: 'tvm:principal', value: principal.id });
  return tags;
}

async function recordDenial(
  deps: VendDeps,
  principal: Principal,
  request: VendRequest,
  meta: RequestMeta,
  error: unknown,
  grantId: string | undefined,
): Promise<void> {
  const at = deps.clock.now();
  const code = error instanceof TvmError ? error.code : 'INTERNAL';
  const denied: CredentialDeniedEvent = {
    ...eventBase(at, deps.ids.next(), principal, meta),
    type: 'credential.denied',
    profile: request.profile,
    code,
    message: error instanceof TvmError ? error.message : 'internal error',
    ...(grantId ? { grantId } : {}),
    ...(request.reason ? { reason: request.reason } : {}),
  };
  try {
    await deps.audit.append(denied);
  } catch (auditError) {
    deps.warn('denial could not be recorded', { code, profile: request.profile, error: auditError });
  }
}

/**
 * Refuses a session a recent cut-off on its role would deny from the moment it exists (a person cut
 * off, a lockdown, a role-wide fallback, until their `before`): credentials handed out dead help
 * nobody, and a CLI would keep them as current. The refusal says when to ask again.
 */
function assertNoCutOffPending(cutOffs: readonly RecentCutOff[], roleArn: string, session: Omit<SessionFacts, 'issuedAt'>, now: Date): void {
  const until = cutOffPendingUntil(cutOffs, roleArn, session, now);
  if (until === undefined) return;
  // `before` is rounded up to the whole second in IAM's condition: one more to be past it.
  const retryAfterSeconds = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000) + 1);
  throw new CutOffPendingError(
    `a cut-off denies this role's sessions issued before ${until.toISOString()}: try again in ${retryAfterSeconds} s`,
    { details: { retryAfterSeconds } },
  );
}
