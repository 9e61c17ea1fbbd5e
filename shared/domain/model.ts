// The vocabulary of tvm: who calls, what they may assume, and what was recorded.
import type { Revocation } from './revocation-policy.js';

/** A caller, as established from a verified token. `id` is namespaced by issuer (see config). */
export interface Principal {
  readonly id: string;
  readonly groups: readonly string[];
  /** The `iss` of the verified token. */
  readonly issuer: string;
  /** How the person signed in, from the verified token (step-up-rules.ts); absent when it does not say. */
  readonly signIn?: SignIn;
}

/** The sign-in a token attests: its `amr`, `auth_time` and `acr`, judged by the issuer's configuration. */
export interface SignIn {
  /** `amr` (RFC 8176): how the person authenticated. */
  readonly methods: readonly string[];
  /** `auth_time`, in seconds since the epoch. */
  readonly at?: number;
  readonly acr?: string;
  /** Whether a method or the acr is one the issuer's configuration counts as strong. */
  readonly strong: boolean;
  /** The issuer's strong `acr` values, to ask for in a challenge (`acr_values`). */
  readonly acrValues?: readonly string[];
}

/** What a session may do: IAM action and resource patterns (`*` and `?` wildcards). */
export interface Scope {
  readonly actions?: readonly string[];
  readonly resources?: readonly string[];
}

export type Sensitivity = 'standard' | 'restricted';

/** How people may ask for a profile themselves: who decides, how many of them, for how long at most. */
export interface Requestable {
  /** Members of any of these groups decide requests (never their own). */
  readonly approverGroups: readonly string[];
  /** Distinct approvers a request needs before its grant is created. */
  readonly approvals: 1 | 2;
  /** The longest access a request may ask for (its grant's lifetime). */
  readonly maxDurationSeconds: number;
  readonly requireReason: boolean;
  /** How long a request waits for its approvals before it expires. */
  readonly pendingSeconds: number;
}

/** An access profile: one target role and the most a session of it may ever be given. */
export interface Profile {
  readonly name: string;
  readonly roleArn: string;
  readonly description?: string;
  /** Upper bound for sessions of this profile (≤ 43,200, the AssumeRole ceiling). */
  readonly maxSessionSeconds: number;
  readonly scope?: Scope;
  readonly sensitivity: Sensitivity;
  readonly externalId?: string;
  readonly createdAt: string;
  /**
   * Random, set when the name is first created and kept on replace. Grants record it, so a
   * deleted and re-created profile does not revive the old profile's grants.
   */
  readonly generation: string;
  readonly updatedAt: string;
  readonly updatedBy: string;
  /**
   * Roles this profile pointed at before, each until no session vended then can still live: a
   * cut-off of its grants covers them too.
   */
  readonly formerRoles?: readonly { readonly roleArn: string; readonly until: string }[];
  /** Absent: only admins and delegators give access to it. */
  readonly requestable?: Requestable;
  /** For a restricted profile: how recent a strong sign-in must be (step-up-rules.ts; default 900 s). */
  readonly stepUp?: { readonly maxAuthAgeSeconds: number };
}

export type SubjectType = 'user' | 'group';

export interface Subject {
  readonly type: SubjectType;
  readonly id: string;
}

export type GrantStatus = 'active' | 'revoked';

/** Permission for a user or group to vend credentials for one profile, for a while. */
export interface Grant {
  readonly id: string;
  readonly profile: string;
  /** The profile's generation when the grant was made (see Profile.generation). */
  readonly profileGeneration: string;
  readonly subject: Subject;
  readonly validFrom: string;
  readonly validUntil: string;
  readonly maxSessionSeconds?: number;
  readonly scope?: Scope;
  readonly canDelegate: boolean;
  /** The grant this one was delegated from; absent for grants an admin made. */
  readonly parentGrantId?: string;
  /** 0 for an admin's grant, parent's + 1 for a delegated one (at most MAX_DELEGATION_DEPTH). */
  readonly depth?: number;
  /** The contractor engagement this grant belongs to, if any. */
  readonly engagementId?: string;
  /** The access request whose approval created it, if any. */
  readonly requestId?: string;
  /** Why it was revoked, when not by a plain DELETE (e.g. ENGAGEMENT_HANDED_OVER). */
  readonly revokedReason?: string;
  /**
   * 1 when created, +1 on every change. A grant changes once (active → revoked), conditionally on
   * still being active, so concurrent changes never lose one.
   */
  readonly version?: number;
  readonly status: GrantStatus;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly reason?: string;
  readonly revokedAt?: string;
  readonly revokedBy?: string;
}

/** Who asked and from where: recorded with every decision. */
export interface RequestMeta {
  readonly requestId: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
}

/** Temporary credentials as STS returns them. Never logged, never stored. */
export interface IssuedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: string;
  readonly assumedRoleArn: string;
}

export interface SessionTag {
  readonly key: string;
  readonly value: string;
}

export interface AssumeRoleRequest {
  readonly roleArn: string;
  readonly sessionName: string;
  readonly sourceIdentity: string;
  /** Absent: STS's default, one hour (what a console sign-in needs, see duration.ts). */
  readonly durationSeconds?: number;
  /** Minified session policy JSON, or undefined for the role's own permissions. */
  readonly policy?: string;
  readonly tags: readonly SessionTag[];
  readonly externalId?: string;
}

/** A profile of an engagement, optionally narrower than the profile itself. */
export interface EngagementProfile {
  readonly profile: string;
  readonly scope?: Scope;
  readonly maxSessionSeconds?: number;
}

export interface RevokedSession {
  readonly accessKeyId: string;
  readonly sourceIdentity: string;
  readonly expiration: string;
}

/** A session a cut-off could not deny (its role's policy could not be written), and why. */
export interface SessionNotCut extends RevokedSession {
  readonly roleArn: string;
  readonly code: string;
  readonly message: string;
}

export type CutOffCause = 'lockdown' | 'engagement-handed-over' | 'grant-revoked';

/**
 * A decision to cut sessions off, written in the same transaction as the decision itself (the
 * lockdown, the handover, the revocation of grants), so it cannot be lost: carried out at once and,
 * for any role that failed, again from the schedule until it holds (cut-off-sessions.ts).
 */
export interface CutOffOrder {
  readonly id: string;
  readonly cause: CutOffCause;
  readonly decidedAt: string;
  readonly decidedBy: string;
  readonly requestId: string;
  /** Applied on every role; their `before` also covers sessions a vend in flight could still mint. */
  readonly revocations: readonly Revocation[];
  /** The roles still to cut off (ARNs, one per role). */
  readonly roles: readonly string[];
  readonly attempts: number;
  /** What the records about it name: the engagement, the grant, the lockdown version. */
  readonly context: Readonly<Record<string, string>>;
}

export interface Handover {
  readonly at: string;
  readonly by: string;
  readonly to: readonly string[];
  readonly note?: string;
  readonly revokedGrants: readonly string[];
  readonly newGrants: readonly string[];
  /** The cut-off of the contractors' sessions it ordered (see CutOffOrder; its outcome is in session.revoked). */
  readonly cutOffOrder?: string;
}

/**
 * Outside work on a set of profiles: contractors get grants while they build; the handover ends
 * their access and gives the owner (or `to`) full control.
 */
export interface Engagement {
  readonly id: string;
  readonly name: string;
  readonly owner: string;
  readonly contractors: readonly string[];
  readonly profiles: readonly EngagementProfile[];
  readonly validUntil: string;
  readonly status: 'active' | 'handed-over';
  readonly createdBy: string;
  readonly createdAt: string;
  /** Incremented on every change; writes are conditional on it (409 CONFLICT to the loser). */
  readonly version: number;
  readonly handover?: Handover;
}

/**
 * The "top brass" lockdown: while active, only `allow` may vend on the locked profiles, and on any
 * other profile naming one of their roles (lockdown-rules.ts).
 */
export interface Lockdown {
  readonly active: boolean;
  /** `['*']` for every profile. */
  readonly profiles: readonly string[];
  /** The roles the profiles named at activation (one ARN per role); empty for `['*']`, which locks every role. */
  readonly roles: readonly string[];
  readonly allow: { readonly groups: readonly string[]; readonly principals: readonly string[] };
  readonly reason: string;
  readonly activatedBy: string;
  readonly activatedAt: string;
  readonly liftedBy?: string;
  readonly liftedAt?: string;
  readonly liftReason?: string;
  readonly version: number;
}

export type AccessRequestStatus = 'pending' | 'approved' | 'denied' | 'cancelled' | 'expired' | 'revoked';

/** One step of a request's life, as the request keeps it (the audit trail has the same, chained). */
export interface AccessRequestStep {
  readonly action: 'created' | 'approved' | 'denied' | 'cancelled' | 'expired' | 'revoked';
  readonly by: string;
  readonly at: string;
  readonly comment?: string;
}

/**
 * Someone asking for time-boxed access to a requestable profile. Approvers decide; the approval
 * that completes the quorum creates the grant in the same transaction.
 */
export interface AccessRequest {
  readonly id: string;
  readonly profile: string;
  /** The profile's generation when asked: a re-created profile does not inherit its requests. */
  readonly profileGeneration: string;
  /** The role the profile named when asked: an approval after the profile was re-pointed is refused. */
  readonly roleArn: string;
  readonly requester: string;
  /** The requester's groups from their token when asking (who a lockdown's allow list covers). */
  readonly requesterGroups: readonly string[];
  /** How long the access lasts once it starts. */
  readonly durationSeconds: number;
  readonly reason?: string;
  readonly scope?: Scope;
  /** Not before this; from the approval when absent or already past. */
  readonly startAt?: string;
  readonly status: AccessRequestStatus;
  readonly approvals: readonly { readonly by: string; readonly at: string; readonly comment?: string }[];
  readonly approvalsRequired: number;
  /** The profile's approver groups when asked (who sees the request as theirs to decide). */
  readonly approverGroups: readonly string[];
  readonly createdAt: string;
  /** A pending request not decided by then is expired. */
  readonly expiresAt: string;
  /** The grant the approval created. */
  readonly grantId?: string;
  readonly grantValidFrom?: string;
  readonly grantValidUntil?: string;
  readonly history: readonly AccessRequestStep[];
  /** 1 when created, +1 on every change; every change is conditional on the version read. */
  readonly version: number;
}

/** A request as callers see it: the profile generation and the requester's groups stay inside tvm. */
export type PublicRequest = Omit<AccessRequest, 'profileGeneration' | 'requesterGroups'>;

/** The revokedReason of every grant a handover revokes; the vend explains its refusal with it. */
export const ENGAGEMENT_HANDED_OVER = 'engagement-handed-over';
