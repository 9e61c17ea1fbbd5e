// Ports: what the use cases need from the outside world. Adapters in shared/adapters implement
// them against AWS; tests implement them in memory.
import type { AlertRaisedEvent, AuditEvent, AuditEventType, CredentialIssuedEvent, CredentialUsedEvent } from './audit.js';
import type { AnchoredHead, ChainAnchor } from './chain-anchors.js';
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
/** DynamoDB transactions take 100 actions; two are the audit event and its hash chain's head. */
export const MAX_GRANTS_PER_REVOCATION = 98;

/** The read a vend makes of the rules: all it needs of the delegation store. */
export interface ProfileGrantsReader {
  /**
   * The profile and every grant on it held by one of `subjects`, in one consistent read, so a
   * revocation is seen by the very next vend.
   */
  getProfileWithGrants(name: string, subjects: readonly Subject[]): Promise<{ profile?: Profile; grants: Grant[] }>;
}

export interface DelegationStore extends ProfileGrantsReader {
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
  readonly profile?: string;
  readonly accessKeyId?: string;
  readonly type?: AuditEventType;
  /** Inclusive bounds on the event time (ISO 8601). */
  readonly from?: string;
  readonly to?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export interface AuditPage {
  readonly events: AuditEvent[];
  readonly nextCursor?: string;
}

export interface AppendOptions {
  /**
   * Makes the append idempotent on a key other than the event id (a CloudTrail eventID, an
   * alert's dedupe key): the first append with the key is written, later ones are 'duplicate'.
   */
  readonly onceKey?: string;
}

export type AppendResult = 'appended' | 'duplicate';

/** What is recorded about an access key besides its uses: its issuance, cut-offs and alerts. */
export type KeyControlEvent = Exclude<AuditEvent, CredentialUsedEvent>;

/** A page of the calls made with one access key. */
export interface KeyUsesQuery {
  readonly accessKeyId: string;
  /** Oldest call first; by default newest first. (Use ids start with the call's eventTime.) */
  readonly oldestFirst?: boolean;
  /**
   * Only calls from a source other than this one. Applied as the uses are read, so a page stops
   * at the first such calls instead of returning every call from this source before them.
   */
  readonly otherThanSource?: string;
  readonly limit: number;
  /** The previous page's nextCursor. */
  readonly cursor?: string;
}

export interface KeyUsesPage {
  readonly uses: CredentialUsedEvent[];
  /**
   * Where the next page starts (an event id, as AuditQuery's cursor: newest first, a `query` with
   * this key, type `credential.used` and this cursor continues it). Absent at the end. A short
   * page with a cursor means the read stopped at its bound, not that nothing is left.
   */
  readonly nextCursor?: string;
}

/** One link of the tamper-evidence chain that `verify` found broken. */
export interface BrokenLink {
  /** The audit event id (or, for a chain whose head disagrees, `chain:<day>#<shard>`). */
  readonly id: string;
  readonly reason: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  /** Events whose hash and link were checked. */
  readonly checked: number;
  readonly broken: BrokenLink[];
}

/**
 * The append-only audit trail. Readers return only events whose stored item is intact (linked into
 * its chain, its hash right, its keys its own): an item put into the table behind tvm's back is
 * left out, with a warning, and `verify` reports it.
 */
/** Appending to the audit trail: all a use case that only records needs (vending, say). */
export interface AuditWriter {
  /**
   * Durably appends the event, never overwriting one, and links it into its hash chain; throws
   * AuditUnavailableError when it cannot. 'duplicate' only with `onceKey` (see AppendOptions).
   */
  append(event: AuditEvent, options?: AppendOptions): Promise<AppendResult>;
}

export interface AuditLog extends AuditWriter {
  /** Newest first, paginated; every filter combination is served by a key or an index. */
  query(query: AuditQuery): Promise<AuditPage>;
  /**
   * Everything recorded about one access key but its uses (issuance, cut-offs, alerts), complete,
   * oldest first. A key is used thousands of times but controlled a handful: this stays one read.
   */
  controlEventsForKey(accessKeyId: string): Promise<KeyControlEvent[]>;
  /** The calls made with one access key, a bounded page at a time. */
  usesOfKey(query: KeyUsesQuery): Promise<KeyUsesPage>;
  /** The issuance of an access key, if tvm issued it. */
  findIssuance(accessKeyId: string): Promise<CredentialIssuedEvent | undefined>;
  /**
   * Whether an append with this onceKey was recorded, read strongly consistently: what a check
   * before an irreversible step (publishing an alert) must rely on, unlike the lagging indexes.
   */
  isRecordedOnce(onceKey: string): Promise<boolean>;
  /** A principal's issuances whose credentials have not expired at `now` (sessions to cut off). */
  liveIssuances(principal: string, now: Date): Promise<CredentialIssuedEvent[]>;
  /** Every issuance on a profile whose credentials have not expired at `now`. */
  liveIssuancesForProfile(profile: string, now: Date): Promise<CredentialIssuedEvent[]>;
  /**
   * Checks the hash chains of the events written between `from` and `to` (whole days), and each
   * chain named in `anchors` (its day's latest) against its anchored head.
   */
  verify(from: Date, to: Date, anchors?: readonly ChainAnchor[]): Promise<VerifyReport>;
}

/**
 * Copies of the chain heads outside the audit table, which no tvm function can change or delete
 * (S3 Object Lock in compliance mode in AWS, a directory on the local stack).
 */
export interface ChainAnchorStore {
  /** Stores a new anchor; never replaces one. */
  save(anchor: ChainAnchor): Promise<void>;
  /** The newest anchor of `day`'s chains, or undefined when none was saved. */
  latest(day: string): Promise<ChainAnchor | undefined>;
}

/** The chain heads of the audit table, as the anchoring reads them. */
export interface ChainHeadReader {
  /** The chains a day has, of both chain sets, as configured. */
  chainsOf(day: string): readonly string[];
  /** The heads of those of `chains` that have one, read strongly consistently. */
  readHeads(chains: readonly string[]): Promise<AnchoredHead[]>;
  /** Where the event `eventId` of `chain` stands now and its stored hash; undefined when the chain has no such event. */
  linkOf(chain: string, eventId: string): Promise<{ readonly seq: number; readonly hash: string } | undefined>;
}

/** Where raised alerts go besides the audit trail: SNS in AWS; a log line (and a webhook) locally. */
export interface AlertSink {
  publish(alert: AlertRaisedEvent): Promise<void>;
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

/** What counting one vend against its principal's quota decided. */
export type RateLimitDecision =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      /** Whole seconds until the window that refused ends (at least 1): the Retry-After. */
      readonly retryAfterSeconds: number;
      /** The first refusal of this principal in this window: the only one worth an audit record. */
      readonly firstRefusal: boolean;
    };

/**
 * The per-principal vend quota, counted where every Lambda instance sees the same count (never in
 * memory, which each instance would have its own of).
 */
export interface RateLimiter {
  /**
   * Counts one vend by `principal` at `now` and decides it. Throws StoreUnavailableError when the
   * count cannot be kept: an uncounted vend is refused, never let through.
   */
  take(principal: string, now: Date): Promise<RateLimitDecision>;
}
