// Ports: what the use cases need from the outside world. Adapters in shared/adapters implement
// them against AWS; tests implement them in memory.
import type { AlertRaisedEvent, AuditEvent, AuditEventType, CredentialIssuedEvent, CredentialUsedEvent } from './audit.js';
import type { AnchoredHead, ChainAnchor } from './chain-anchor-records.js';
import type { RecentCutOff } from './recent-cut-offs.js';
import type { GrantFilter } from './grant-selection.js';
import type { Revocation } from './revocation-policy.js';
import type {
  AccessRequest,
  PublicRequest,
  AssumeRoleRequest,
  CutOffOrder,
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
/** DynamoDB's TransactWriteItems takes at most this many actions: every transaction size derives from it. */
export const MAX_TRANSACTION_ACTIONS = 100;
/** What a chained audit write adds to a transaction: the event, keyed by its place in its hash chain. */
export const AUDIT_WRITE_ACTIONS = 1;
/** A cut-off's writes: its order, its record for the vend, the cut-off epoch's rise (delegation-keys.ts cutOffWrites). */
const CUT_OFF_ACTIONS = 3;
/** Grants one revocation transaction takes, beside its audit write and its cut-off. */
export const MAX_GRANTS_PER_REVOCATION = MAX_TRANSACTION_ACTIONS - AUDIT_WRITE_ACTIONS - CUT_OFF_ACTIONS;

/** The reads a vend makes of the rules: all it needs of the delegation store. */
export interface ProfileGrantsReader {
  /**
   * The profile, and the active grants on it held by one of `subjects` that end at or after `now`
   * (revoked and expired ones are not read), in one round trip of strongly consistent reads, so a
   * revocation is seen by the very next vend. Its cost grows with those grants alone.
   */
  getProfileWithGrants(name: string, subjects: readonly Subject[], now: Date): Promise<{ profile?: Profile; grants: Grant[] }>;
  /**
   * What explains a refusal, at most two grants per subject: its active grant that expired last
   * (before `now`), and a grant revoked by an engagement's handover that has not reached its end.
   */
  getEndedGrants(name: string, subjects: readonly Subject[], now: Date): Promise<Grant[]>;
}

/** One delegated grant as its delegator's quota counts it: when it ends, and its key to read its state. */
export interface QuotaEntry {
  readonly id: string;
  readonly profile: string;
  readonly subject: Subject;
  readonly validUntil: string;
}

/** A delegator's delegated grants as last recorded (some may have expired or been revoked since). */
export interface DelegatorQuota {
  readonly delegator: string;
  /** 0 when nothing was recorded yet; +1 on every write. */
  readonly version: number;
  readonly grants: readonly QuotaEntry[];
}

/** The delegator's quota record to write with new delegated grants, only if still at `expectedVersion`. */
export interface QuotaUpdate {
  readonly delegator: string;
  readonly expectedVersion: number;
  readonly grants: readonly QuotaEntry[];
}

/** The delegation quota's reads (in the delegations table). */
export interface DelegatorQuotaStore {
  /** Strongly consistent: a write is conditional on the version read. */
  getDelegatorQuota(delegator: string): Promise<DelegatorQuota>;
  /** The ids of those of `entries` whose grant is still active, read by key, strongly consistently. */
  activeGrantIds(entries: readonly QuotaEntry[]): Promise<Set<string>>;
}

export interface DelegationStore extends ProfileGrantsReader, DelegatorQuotaStore {
  getProfile(name: string): Promise<Profile | undefined>;
  listProfiles(): Promise<Profile[]>;
  // Every change is written in one transaction with its audit event: no change goes unrecorded.
  /**
   * Creates the profile, or with `replaces` (the stored generation) replaces it. Returns false when
   * that expectation no longer holds (created, deleted or replaced concurrently): nothing written.
   */
  /**
   * Writes `profile`: over exactly the version `replaces` (its generation and updatedAt), or only
   * where none exists. False when that no longer holds.
   */
  putProfile(profile: Profile, audit: AuditEvent, replaces?: Pick<Profile, 'generation' | 'updatedAt'>): Promise<boolean>;
  /** Deletes the profile; returns false when it did not exist (and records nothing). */
  deleteProfile(name: string, audit: AuditEvent): Promise<boolean>;
  /** Grants held by any of `subjects`, across profiles. */
  listGrantsForSubjects(subjects: readonly Subject[]): Promise<Grant[]>;
  listGrants(filter: GrantFilter): Promise<Grant[]>;
  getGrant(id: string): Promise<Grant | undefined>;
  /**
   * Stores a new grant; fails (ConflictError) if the id exists, the profile changed, the `parent`
   * it is delegated from is no longer active (so a revocation can't miss it), or `quota`, the
   * delegator's quota record written with it, is no longer at its expected version.
   */
  createGrant(grant: Grant, audit: AuditEvent, parent?: Grant, quota?: QuotaUpdate): Promise<void>;
  /**
   * Grants delegated directly from `parent`, read strongly consistently: a child committed before
   * the read is in it (a revocation must not miss one). Children are on their parent's profile.
   */
  listChildGrants(parent: Pick<Grant, 'id' | 'profile'>): Promise<Grant[]>;
  /**
   * Marks active grants revoked, all or none, with one audit event and the cut-off `order` of their
   * sessions. Returns false when one was no longer active (a concurrent revocation won; nothing is
   * written). At most MAX_GRANTS_PER_REVOCATION.
   */
  revokeGrants(grants: readonly Grant[], by: string, at: string, audit: AuditEvent, order?: CutOffOrder): Promise<boolean>;
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
  /**
   * For a use from a source that counts (not AWS acting for the session): kept, in the same write,
   * as its key's first such use unless the key has one already. What source-ip-change compares
   * every later use with, so no number of uses from ignored sources can push it out of reach.
   */
  readonly firstCountedUse?: boolean;
}

export type AppendResult = 'appended' | 'duplicate';

/** What is recorded about an access key besides its uses: its issuance, cut-offs and alerts. */
export type KeyControlEvent = Exclude<AuditEvent, CredentialUsedEvent>;

/** A page of the calls made with one access key. */
export interface KeyUsesQuery {
  readonly accessKeyId: string;
  /** Oldest call first; by default newest first. (Use ids start with the call's eventTime.) */
  readonly oldestFirst?: boolean;
  readonly limit: number;
  /** The previous page's nextCursor. */
  readonly cursor?: string;
}

export interface KeyUsesPage {
  readonly uses: CredentialUsedEvent[];
  /**
   * Where the next page starts (an event id, or `~` and a key no event has, as AuditQuery's
   * cursor; newest first, a `query` with this key, type `credential.used` and this cursor continues
   * it). Absent at the end. A short page with a cursor means the read stopped at its bound, not that
   * nothing is left.
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
   * Each call records its event once (a lost answer retried within the call is recognised); ids
   * are unique because tvm makes them, so a caller that may append the same thing twice, in two
   * calls, says so with `onceKey`.
   */
  append(event: AuditEvent, options?: AppendOptions): Promise<AppendResult>;
}

export interface RecordedUses {
  readonly uses: CredentialUsedEvent[];
  readonly truncated: boolean;
}

export interface AuditLog extends AuditWriter, LiveSessionFinder {
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
  /** The key's first use kept by `AppendOptions.firstCountedUse`, read strongly consistently. */
  firstCountedUse(accessKeyId: string): Promise<CredentialUsedEvent | undefined>;
  /**
   * The uses tvm recorded between `from` and `to` (inclusive; by `recordedAt`, not by when the call
   * was made), oldest recorded first, at most `limit`; `truncated` when more were recorded.
   */
  usesRecordedBetween(from: string, to: string, limit: number): Promise<RecordedUses>;
  /** Every issuance on a profile whose credentials have not expired at `now` (one expiring at `now` has). */
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
  /**
   * The places, ids and dates of `chain`'s events after `seq` up to `through`. A legacy chain is
   * read through its time index, which sorts by id, so only from `datedFrom` on: a place missing
   * from the answer holds an event whose id is older, or one the index does not show yet (it is
   * read once more before answering short). A chain-keyed chain is read by place, consistently.
   */
  linksAfter(
    chain: string,
    seq: number,
    window: { readonly through: number; readonly datedFrom: string },
  ): Promise<readonly { readonly seq: number; readonly id: unknown; readonly at: unknown }[]>;
}

/** Where raised alerts go besides the audit trail: SNS in AWS; a log line (and a webhook) locally. */
export interface AlertSink {
  publish(alert: AlertRaisedEvent): Promise<void>;
}

/** Contractor engagements (in the delegations table). */
export interface EngagementStore {
  /**
   * The engagement, its grants, the audit event and, for grants delegated by a non-admin owner, the
   * owner's quota record, in one transaction, each grant only while the grant it is delegated from
   * (among `parents`) is still active: ConflictError when a condition fails.
   */
  createEngagement(engagement: Engagement, grants: readonly Grant[], audit: AuditEvent, parents: readonly Grant[], quota?: QuotaUpdate): Promise<void>;
  getEngagement(id: string): Promise<Engagement | undefined>;
  /** Every engagement, oldest first (from an index: one just created may be missing for a moment). */
  listEngagements(): Promise<Engagement[]>;
  /** The engagement with its grants in their current state, read strongly consistently. */
  getEngagementWithGrants(id: string): Promise<{ engagement: Engagement; grants: Grant[] } | undefined>;
  /**
   * The handover as one transaction: the engagement replaced by `next` (only if still at
   * `expectedVersion` and active), `revoke` marked revoked with reason `engagement-handed-over`,
   * `create` written, the audit event, the cut-off `order` of the contractors' sessions, and `quota`
   * when `create` holds delegated grants. False when the engagement (or the quota record) changed
   * meanwhile.
   */
  handOver(
    next: Engagement,
    expectedVersion: number,
    revoke: readonly Grant[],
    create: readonly Grant[],
    audit: AuditEvent,
    order: CutOffOrder,
    /** The grants `create`'s are delegated from: each must still be active. */
    parents: readonly Grant[],
    quota?: QuotaUpdate,
  ): Promise<boolean>;
}

/** The single lockdown record (in the delegations table). */
export interface LockdownReader {
  /**
   * The lockdown, the cut-off epoch and the cut-offs that still reach sessions minted `now`, in one
   * strongly consistent read: what a vend acts on.
   */
  getLockdownAndCutOffs(now: Date): Promise<LockdownAndCutOffs>;
}

export interface LockdownStore extends LockdownReader {
  /** How many cut-off decisions have been made (strongly consistent); 0 before the first. */
  getCutOffEpoch(): Promise<number>;
  /** Strongly consistent: a vend must see an activation the moment it is written. */
  getLockdown(): Promise<Lockdown | undefined>;  /** Writes `next` (and its cut-off `order`) if the stored version is still `expectedVersion` (0: none stored). */
  putLockdown(next: Lockdown, expectedVersion: number, audit: AuditEvent, order?: CutOffOrder): Promise<boolean>;
}

export interface LockdownAndCutOffs {
  readonly lockdown: Lockdown | undefined;
  /**
   * Raised in the transaction of every decision that revokes a grant or cuts sessions off:
   * credentials vended at an older epoch may be cut off, and a CLI does not hand them out from its
   * cache.
   */
  readonly cutOffEpoch: number;
  /** The cut-offs whose revocations still reach sessions minted now (recent-cut-offs.ts). */
  readonly recentCutOffs: readonly RecentCutOff[];
}

/** What tvm has decided to deny on one role: the record its `tvm-revocations` policy is rendered from. */
export interface RevocationLedgerEntry {
  /** Where the policy is written (the ARN the role was first cut off under; roles.ts compares them). */
  readonly roleArn: string;
  /** Merged and unexpired (revocation-policy.ts mergeRevocations). */
  readonly revocations: readonly Revocation[];
  /** 1 when created, +1 on every change; every write is conditional on the version read. */
  readonly version: number;
  readonly updatedAt: string;
  /**
   * Digests of every document tvm may have written for recent versions (precise and fallback): a
   * policy that is none of them was changed outside tvm.
   */
  readonly documents: readonly string[];
}

/** One ledger per role (in the delegations table). */
export interface RevocationLedger {
  /** Strongly consistent, by role (as IAM compares roles). */
  get(roleArn: string): Promise<RevocationLedgerEntry | undefined>;
  /** Writes `entry` if the stored version is still `expectedVersion` (0: none stored). */
  put(entry: RevocationLedgerEntry, expectedVersion: number): Promise<boolean>;
  list(): Promise<RevocationLedgerEntry[]>;
  /**
   * Records a role-wide fallback put in force on `roleArn` where vends read recent cut-offs, and
   * raises the cut-off epoch: it cuts sessions the decisions behind it did not (recent-cut-offs.ts).
   * Once per role and cutoff; again is a no-op.
   */
  recordFallback(roleArn: string, cutOff: Extract<Revocation, { kind: 'role-wide' }>): Promise<void>;
}

export interface RolePolicyState {
  /** The role's `tvm-revocations` document, decoded; undefined when it has none. */
  readonly document?: string;
  /** Characters the role's other inline policies use of the 10,240 they share with it. */
  readonly otherPoliciesChars: number;
}

/** The `tvm-revocations` inline policy of target roles (IAM). */
export interface RevocationPolicies {
  read(roleArn: string): Promise<RolePolicyState>;
  /** Puts the document, or deletes the policy for undefined. RolePolicyLimitError on IAM's size quota. */
  write(roleArn: string, document: string | undefined): Promise<void>;
}

/** Cut-off orders not carried out in full yet (in the delegations table). */
export interface CutOffOrders {
  list(): Promise<CutOffOrder[]>;
  /** Replaces the order if its `attempts` is still `expectedAttempts`. */
  update(order: CutOffOrder, expectedAttempts: number): Promise<boolean>;
  /** Removes a carried-out order. */
  complete(id: string): Promise<void>;
}

/** Where live sessions are found: the issuances whose credentials have not expired. */
export interface LiveSessionFinder {
  /**
   * Issuances on this role (compared as IAM does) expiring at `now` or later: a cut-off errs on the
   * side of reaching a session at its last instant. The cost grows with live sessions only.
   */
  liveIssuancesOnRole(roleArn: string, now: Date): Promise<CredentialIssuedEvent[]>;
}

/** STS, seen from tvm. */
export interface CredentialIssuer {
  assumeRole(request: AssumeRoleRequest): Promise<IssuedCredentials>;
}

/**
 * The AWS federation endpoint's getSigninToken, seen from tvm: a session in, a sign-in token (a
 * bearer for the console) out. Throws FederationUnavailableError.
 */
export interface SigninTokenIssuer {
  getSigninToken(credentials: Pick<IssuedCredentials, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>): Promise<string>;
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

/** Which requests a listing reads. */
export type RequestListing =
  | { readonly requester: string }
  /** Every pending request (few: they are decided or expire within days). */
  | { readonly pending: true }
  /** Every request (the security team's view; a scan). */
  | { readonly all: true };

/** What a change of a request writes with it, in the same transaction. */
export interface RequestChangeEffects {
  /**
   * The grant the completing approval creates, only while the profile is still exactly as read
   * (same generation, not changed since `updatedAt`) and the lockdown still at `lockdownVersion`
   * (0: none), so nothing the decision did not see can slip in between.
   */
  readonly createGrant?: { readonly grant: Grant; readonly profileUpdatedAt: string; readonly lockdownVersion: number };
  /** The grant a revocation revokes (only while still active), and the cut-off of its sessions. */
  readonly revokeGrant?: Grant;
  readonly order?: CutOffOrder;
  /** The request leaves `pending`: its requester's count of pending requests goes down with it. */
  readonly leavesPending?: boolean;
}

/** Access requests (in the delegations table). */
export interface RequestStore {
  /** Strongly consistent: a decision must see the profile as it is. */
  getProfile(name: string): Promise<Profile | undefined>;
  listProfiles(): Promise<Profile[]>;
  /** Strongly consistent: every change is conditional on the version read. */
  getRequest(id: string): Promise<AccessRequest | undefined>;
  /** The grant an approval created, by its key, strongly consistently (undefined when there is none). */
  getGrantOf(request: AccessRequest): Promise<Grant | undefined>;
  /** The requester's pending requests as counted with every change, strongly consistently. */
  pendingCount(requester: string): Promise<number>;
  /**
   * Stores a new pending request with its audit event, counting it against its requester, only
   * while fewer than `maxPending` of theirs are pending and the profile is still at its generation.
   * False when either no longer holds (nothing written).
   */
  createRequest(request: AccessRequest, audit: AuditEvent, maxPending: number): Promise<boolean>;
  /**
   * Replaces the request with `next` if it is still at `expectedVersion`, with the audit event and
   * `effects`, all or nothing. False when the request (or a grant, profile or lockdown it depends on) changed.
   */
  updateRequest(next: AccessRequest, expectedVersion: number, audit: AuditEvent, effects?: RequestChangeEffects): Promise<boolean>;
  /** Newest first, at most `limit`. May lag a write by a moment (an index). */
  listRequests(listing: RequestListing, limit: number): Promise<AccessRequest[]>;
}

/** What people hear about a request's step: the requests topic in AWS; the log (and a webhook) locally. */
export interface RequestNotice {
  readonly type: 'request.created' | 'request.approved' | 'request.denied' | 'request.cancelled' | 'request.expired' | 'request.revoked';
  readonly request: PublicRequest;
  /** Who took the step. */
  readonly by: string;
  /** The request in the web console. */
  readonly link: string;
}

export interface RequestNotifier {
  notify(notice: RequestNotice): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// A trail's log files (ingest-trail-logs.ts)

/** One element of a log file's "Records": parsed, or why it could not be (it is then counted and skipped). */
export type TrailLogElement = { readonly ok: true; readonly record: unknown } | { readonly ok: false; readonly reason: string };

export interface TrailLogReader {
  /** The file's elements in order; throws TrailObjectTooLargeError past the cap on unzipped bytes. */
  read(bucket: string, key: string): AsyncIterable<TrailLogElement>;
}

/** How far the ingestion got through a log file, so a retry resumes instead of starting from record 0. */
export interface TrailProgress {
  /** The position to resume the object from (0: from the start). */
  resumeAt(bucket: string, key: string): Promise<number>;
  /** Records that every position below `resumeAt` is settled; never moves it back. */
  save(bucket: string, key: string, resumeAt: number): Promise<void>;
}

/** Where a function puts what it gives up on itself, rather than letting the platform retry in vain. */
export interface DeadLetters {
  /** Dead-letters `event`, which `functionArn` rejected for `condition` (never retried by the platform). */
  put(event: unknown, rejection: { readonly functionArn: string; readonly condition: string; readonly reason: string }): Promise<void>;
}
