// Ports: what the use cases need from the outside world. Adapters in shared/adapters implement
// them against AWS; tests implement them in memory.
import type { AuditEvent, AuditEventType, CredentialIssuedEvent } from './audit.js';
import type { Revocation } from './revocation-policy.js';
import type {
  AssumeRoleRequest,
  Engagement,
  Grant,
  IssuedCredentials,
  Lockdown,
  Principal,
  Profile,
  Subject,
} from './model.js';

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  /** A new unique, URL-safe identifier. */
  next(): string;
}

/** Profiles and grants (the delegations table). */
/** DynamoDB transactions take 100 actions; one is the audit event. */
export const MAX_GRANTS_PER_REVOCATION = 99;

export interface DelegationStore {
  getProfile(name: string): Promise<Profile | undefined>;
  listProfiles(): Promise<Profile[]>;
  // Every change is written in one transaction with its audit event: no change goes unrecorded.
  /**
   * Creates the profile, or with `replaces` (the stored generation) replaces it. Returns false when
   * that expectation no longer holds (created, deleted or replaced concurrently): nothing written.
   */
  putProfile(profile: Profile, audit: AuditEvent, replaces?: string): Promise<boolean>;
  /** Deletes the profile; returns false when it did not exist (and records nothing). */
  deleteProfile(name: string, audit: AuditEvent): Promise<boolean>;
  /**
   * The profile and every grant on it held by one of `subjects`, in one consistent read, so a
   * revocation is seen by the very next vend.
   */
  getProfileWithGrants(name: string, subjects: readonly Subject[]): Promise<{ profile?: Profile; grants: Grant[] }>;
  /** Grants held by any of `subjects`, across profiles. */
  listGrantsForSubjects(subjects: readonly Subject[]): Promise<Grant[]>;
  listGrants(filter: { profile?: string; subject?: Subject }): Promise<Grant[]>;
  getGrant(id: string): Promise<Grant | undefined>;
  /**
   * Stores a new grant; fails (ConflictError) if the id exists, the profile changed, or the
   * `parent` it is delegated from is no longer active (so a revocation can't miss it).
   */
  createGrant(grant: Grant, audit: AuditEvent, parent?: Grant): Promise<void>;
  /** Grants delegated directly from `parentId`. */
  listChildGrants(parentId: string): Promise<Grant[]>;
  /**
   * Marks active grants revoked, all or none, with one audit event. Returns false when one was no
   * longer active (a concurrent revocation won; nothing is written). At most MAX_GRANTS_PER_REVOCATION.
   */
  revokeGrants(grants: readonly Grant[], by: string, at: string, audit: AuditEvent): Promise<boolean>;
}

export interface AuditQuery {
  readonly principal?: string;
  readonly type?: AuditEventType;
  readonly limit: number;
  readonly cursor?: string;
}

export interface AuditPage {
  readonly events: AuditEvent[];
  readonly nextCursor?: string;
}

/** The append-only audit trail. */
export interface AuditLog {
  /** Durably appends the event, never overwriting one; throws AuditUnavailableError when it cannot. */
  append(event: AuditEvent): Promise<void>;
  query(query: AuditQuery): Promise<AuditPage>;
  /** A principal's issuances whose credentials have not expired at `now` (sessions to cut off). */
  liveIssuances(principal: string, now: Date): Promise<CredentialIssuedEvent[]>;
  /** Every issuance on a profile whose credentials have not expired at `now`. */
  liveIssuancesForProfile(profile: string, now: Date): Promise<CredentialIssuedEvent[]>;
}

/** Contractor engagements (in the delegations table). */
export interface EngagementStore {
  /** The engagement, its grants and the audit event, in one transaction. */
  createEngagement(engagement: Engagement, grants: readonly Grant[], audit: AuditEvent): Promise<void>;
  getEngagement(id: string): Promise<Engagement | undefined>;
  /** The engagement with its grants in their current state, read strongly consistently. */
  getEngagementWithGrants(id: string): Promise<{ engagement: Engagement; grants: Grant[] } | undefined>;
  /**
   * The handover as one transaction: the engagement replaced by `next` (only if still at
   * `expectedVersion` and active), `revoke` marked revoked with reason `engagement-handed-over`,
   * `create` written, and the audit event. False when the engagement changed meanwhile.
   */
  handOver(next: Engagement, expectedVersion: number, revoke: readonly Grant[], create: readonly Grant[], audit: AuditEvent): Promise<boolean>;
}

/** The single lockdown record (in the delegations table). */
export interface LockdownStore {
  /** Strongly consistent: a vend must see an activation the moment it is written. */
  getLockdown(): Promise<Lockdown | undefined>;
  /** Writes `next` if the stored version is still `expectedVersion` (0: none stored). */
  putLockdown(next: Lockdown, expectedVersion: number, audit: AuditEvent): Promise<boolean>;
}

/**
 * Cuts off live sessions of a role by denying them (STS credentials cannot be deleted): writes the
 * role's `tvm-revocations` policy. Returns whether it had to fall back to a role-wide cutoff.
 */
export interface SessionRevoker {
  revoke(roleArn: string, revocations: readonly Revocation[], now: Date): Promise<{ fallback: boolean }>;
}

/** STS, seen from tvm. */
export interface CredentialIssuer {
  assumeRole(request: AssumeRoleRequest): Promise<IssuedCredentials>;
}

/** Verifies a bearer token and returns who it names. Throws UnauthenticatedError otherwise. */
export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}
