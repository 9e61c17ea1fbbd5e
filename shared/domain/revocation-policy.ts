// The `tvm-revocations` inline policy: how tvm cuts off STS sessions that are already out.
//
// STS credentials cannot be deleted before they expire, only denied. tvm keeps ONE inline policy per
// target role whose Deny statements match the sessions to cut. What it must deny is recorded first
// in the role's revocation ledger (DynamoDB, version-conditioned writes: cut-off-sessions.ts); the
// policy is rendered from the ledger, so the same ledger always gives the same document.
//
// Four kinds of statement, all `Deny * on *` and all bounded by `aws:TokenIssueTime`, so a
// session issued after the cutoff is untouched and the statement can be dropped once every session
// issued before it has expired:
// - person:    StringEquals aws:SourceIdentity [ids]  (a list is OR: one statement per cutoff time)
// - grant:     StringEquals aws:PrincipalTag/tvm:grant [grant ids]  (the sessions vended under them;
//              cutoffs rounded up to the hour, so grants revoked within an hour share a statement)
// - lockdown:  StringNotEquals aws:SourceIdentity [allowed] (a negated list is NOR: "none of these"),
//              and, when the lockdown tags its allowed callers' sessions, StringNotEquals
//              aws:PrincipalTag/tvm:lockdown <version> (keys of one operator are ANDed: both must hold)
// - role-wide: no other test (what the console's "Revoke active sessions" writes).
//
// Size: all inline policies of a role share 10,240 characters (whitespace not counted; tvm writes
// minified JSON of ASCII only, so `length` is the count). When the statements do not fit, ONE
// role-wide cutoff at the latest time replaces them: it denies every session any of them denied,
// at the price of also cutting sessions nobody meant to revoke. Safe beats precise here.
//
// IAM's GetRolePolicy returns the document URL-encoded: the adapter decodes it before parsing.
import { z } from 'zod';
import { ConflictError, ValidationError } from './errors.js';
import { GRANT_TAG, LOCKDOWN_TAG } from './session-tags.js';
import { matchesSession, type Revocation, type SessionFacts } from './revocations.js';
import { isValidSessionName } from './source-identity.js';

export const REVOCATION_POLICY_NAME = 'tvm-revocations';
/** Shared by every inline policy of one role, not per policy. */
export const MAX_ROLE_POLICY_CHARS = 10_240;

export type { Revocation, SessionFacts } from './revocations.js';

export interface RevocationPlanInput {
  readonly existing: readonly Revocation[];
  readonly added: readonly Revocation[];
  readonly now: Date;
  /** The role's MaxSessionDuration: no session of the role lives longer after it was issued. */
  readonly maxSessionSeconds: number;
  /**
   * Characters this document may use: MAX_ROLE_POLICY_CHARS minus what the role's other inline
   * policies already use. Defaults to all of it.
   */
  readonly maxDocumentChars?: number;
}

export interface RevocationPlan {
  /** The minified policy to put, or undefined when nothing is left (delete the policy). */
  readonly document: string | undefined;
  /** What the document enforces, normalized; parseRevocationPolicy(document) returns exactly this. */
  readonly revocations: Revocation[];
  /**
   * Revocations dropped because every session they could cut has expired. Revocations merged into
   * a stronger one (a later cutoff for the same person, a later role-wide cutoff) are not listed:
   * their effect is still in force.
   */
  readonly pruned: Revocation[];
  /** True when the revocations did not fit and one role-wide cutoff replaced them. */
  readonly fallback: boolean;
}

type PersonRevocation = Extract<Revocation, { kind: 'person' }>;
type GrantRevocation = Extract<Revocation, { kind: 'grant' }>;
type LockdownRevocation = Extract<Revocation, { kind: 'lockdown' }>;

const POLICY_VERSION = '2012-10-17';
const SOURCE_IDENTITY_KEY = 'aws:SourceIdentity';
const TOKEN_ISSUE_TIME_KEY = 'aws:TokenIssueTime';
const ROLE_WIDE_SID = 'TvmRoleWide';
const LOCKDOWN_SID_PREFIX = 'TvmLockdown';
const PERSON_SID_PREFIX = 'TvmPerson';
const GRANT_SID_PREFIX = 'TvmGrant';
const GRANT_TAG_KEY = `aws:PrincipalTag/${GRANT_TAG}`;
const LOCKDOWN_TAG_KEY = `aws:PrincipalTag/${LOCKDOWN_TAG}`;
/** Grant ids, as tvm makes them (and as a session tag value allows). */
const GRANT_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
/** The lockdown exemption tag's value: a lockdown version. */
const EXEMPT_TAG_PATTERN = /^[0-9]{1,12}$/;
/** IAM's date form, as in AWS's own examples: UTC, whole seconds. */
const CUTOFF_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const isoDateTime = /* @__PURE__ */ z.string().datetime({ offset: true });
const HOUR_MS = 3_600_000;

/**
 * Parses a tvm-revocations document (URL-decoded) back into revocations, in document order.
 * A statement tvm would not have written is refused with ConflictError rather than dropped: it may
 * be someone else's Deny, and rewriting the policy without it would silently lift it.
 */
export function parseRevocationPolicy(document: string | undefined): Revocation[] {
  if (document === undefined) return [];
  let json: unknown;
  try {
    json = JSON.parse(document);
  } catch (cause) {
    throw new ConflictError(`the ${REVOCATION_POLICY_NAME} policy is not valid JSON`, { cause });
  }
  const policy = policySchema.safeParse(json);
  if (!policy.success) {
    throw new ConflictError(`the ${REVOCATION_POLICY_NAME} policy is not one tvm writes; refusing to rewrite it`, {
      cause: policy.error,
    });
  }
  return policy.data.Statement.flatMap((statement, index) => {
    const parsed = statementSchema.safeParse(statement);
    if (!parsed.success) {
      throw new ConflictError(
        `statement ${index} of the ${REVOCATION_POLICY_NAME} policy is not one tvm writes; refusing to rewrite ` +
          `the policy, which would drop it`,
        { cause: parsed.error, details: { policy: REVOCATION_POLICY_NAME, statement: index } },
      );
    }
    return parsed.data;
  });
}

/**
 * The revocations of every statement in a document that tvm can read, each statement on its own:
 * one statement tvm did not write does not hide the others. `foreign` counts the rest. A document
 * that is not a policy at all yields nothing.
 */
export function readableRevocations(document: string | undefined): { revocations: Revocation[]; foreign: number } {
  if (document === undefined) return { revocations: [], foreign: 0 };
  let json: unknown;
  try {
    json = JSON.parse(document);
  } catch {
    return { revocations: [], foreign: 1 };
  }
  const statements = z.object({ Statement: policySchema.shape.Statement }).safeParse(json);
  if (!statements.success) return { revocations: [], foreign: 1 };
  const parsed = statements.data.Statement.map((statement) => statementSchema.safeParse(statement));
  return {
    revocations: parsed.flatMap((result) => (result.success ? result.data : [])),
    foreign: parsed.filter((result) => !result.success).length,
  };
}

/**
 * Merges `added` into `existing`, prunes what has expired, and renders the minified policy.
 * Same input, same document: statements and Sids are in a fixed order, so rewriting unchanged state
 * is a no-op. Throws ValidationError on a malformed SourceIdentity or time: never a bad policy.
 */
export function planRevocationPolicy(input: RevocationPlanInput): RevocationPlan {
  const { maxDocumentChars = MAX_ROLE_POLICY_CHARS } = input;
  requirePositiveInteger('maxDocumentChars', maxDocumentChars);
  const { revocations, pruned } = mergeRevocations(input);
  const rendered = renderWithin(revocations, maxDocumentChars);
  return { ...rendered, pruned };
}

/**
 * `existing` and `added` as one set: validated, compacted (a later cutoff replaces an earlier one of
 * the same target), and without what has expired (every session it could cut is past
 * maxSessionSeconds). This is what a role's ledger holds.
 */
export function mergeRevocations(input: Omit<RevocationPlanInput, 'maxDocumentChars'>): { revocations: Revocation[]; pruned: Revocation[] } {
  const { now, maxSessionSeconds } = input;
  requirePositiveInteger('maxSessionSeconds', maxSessionSeconds);
  if (!Number.isFinite(now.getTime())) throw new ValidationError('now must be a valid date');
  const all = [...input.existing, ...input.added].map(normalizeRevocation);
  // Every session issued before `before` expires by `before + maxSessionSeconds` at the latest.
  const isExpired = (r: Revocation): boolean => Date.parse(r.before) + maxSessionSeconds * 1000 <= now.getTime();
  return { revocations: compact(all.filter((r) => !isExpired(r))), pruned: all.filter(isExpired) };
}

/**
 * The document for a ledger's revocations within `maxDocumentChars`: all of them, or when they do
 * not fit, the role-wide fallback (see the header). Throws ConflictError when not even that fits.
 */
export function renderWithin(revocations: readonly Revocation[], maxDocumentChars: number): Omit<RevocationPlan, 'pruned'> {
  const document = renderRevocationPolicy(revocations);
  if (document === undefined || document.length <= maxDocumentChars) {
    return { document, revocations: [...revocations], fallback: false };
  }
  const fallback = roleWideFallback(revocations);
  const fallbackDocument = renderRevocationPolicy(fallback) ?? '';
  if (fallbackDocument.length > maxDocumentChars) {
    throw new ConflictError(
      `the role's other inline policies leave ${maxDocumentChars} characters, too few for even one ` +
        `${REVOCATION_POLICY_NAME} statement`,
      { details: { policy: REVOCATION_POLICY_NAME, maxDocumentChars } },
    );
  }
  return { document: fallbackDocument, revocations: fallback, fallback: true };
}

/** One role-wide cutoff at the latest of `revocations`' times: denies all they deny, and more. */
export function roleWideFallback(revocations: readonly Revocation[]): Revocation[] {
  if (revocations.length === 0) return [];
  return [{ kind: 'role-wide', before: revocations.map((r) => r.before).reduce((a, b) => (b > a ? b : a)) }];
}

/** Minified JSON of already merged revocations (mergeRevocations), or undefined for none. */
export function renderRevocationPolicy(revocations: readonly Revocation[]): string | undefined {
  return renderPolicy(compact(revocations.map(normalizeRevocation)));
}

/**
 * Whether `revocation` denies `session`, as IAM would evaluate its statement. `issuedAt` is at or
 * after the session's TokenIssueTime, so a session issued before the cutoff by its record is
 * certainly denied; one recorded at or after it may not be, and is not claimed.
 */
export function denies(revocation: Revocation, session: SessionFacts): boolean {
  return Date.parse(session.issuedAt) < Date.parse(normalizeRevocation(revocation).before) && matchesSession(revocation, session);
}

/** Validates, rounds the cutoff, and puts lists in canonical (sorted, deduplicated) form. */
function normalizeRevocation(revocation: Revocation): Revocation {
  const before = toCutoff(revocation.before);
  switch (revocation.kind) {
    case 'person':
      return { kind: 'person', sourceIdentity: requireSourceIdentity(revocation.sourceIdentity), before };
    case 'grant':
      return { kind: 'grant', grantId: requirePattern('a grant id', GRANT_ID_PATTERN, revocation.grantId), before: endOfHour(before) };
    case 'lockdown': {
      const allowed = [...new Set(revocation.allowedSourceIdentities.map(requireSourceIdentity))].sort();
      const exemptTag = revocation.exemptTag === undefined ? undefined : requirePattern('a lockdown tag', EXEMPT_TAG_PATTERN, revocation.exemptTag);
      // Allowing nobody is exactly a role-wide cutoff (and IAM has no use for an empty list).
      if (allowed.length === 0 && exemptTag === undefined) return { kind: 'role-wide', before };
      return { kind: 'lockdown', allowedSourceIdentities: allowed, ...(exemptTag === undefined ? {} : { exemptTag }), before };
    }
    case 'role-wide':
      return { kind: 'role-wide', before };
  }
}

/**
 * The ISO 8601 UTC second at or after `iso`. Rounded UP, never truncated: truncating a revocation
 * at 12:00:00.700 to 12:00:00 would let a session issued at 12:00:00.300, before the revocation,
 * slip past `DateLessThan`. Rounding up cuts it; the cost is that a session issued in the rest of
 * that second is cut too, and its owner simply vends again.
 */
function toCutoff(iso: string): string {
  if (!isoDateTime.safeParse(iso).success) {
    throw new ValidationError(`a revocation time must be an ISO 8601 date-time, got ${JSON.stringify(iso)}`);
  }
  const fraction = /\.(\d+)/.exec(iso)?.[1] ?? '';
  const wholeSecond = Date.parse(iso.replace(/\.\d+/, ''));
  const cutoff = new Date(wholeSecond + (/[1-9]/.test(fraction) ? 1000 : 0)).toISOString().replace('.000Z', 'Z');
  if (!CUTOFF_PATTERN.test(cutoff)) {
    throw new ValidationError(`a revocation time must lie in years 0000-9999, got ${JSON.stringify(iso)}`);
  }
  return cutoff;
}

/**
 * A grant's cutoff, rounded up to the whole hour. A revoked grant mints no session after its own
 * cutoff (which already covers a vend in flight), so denying its tag until the hour ends denies
 * nothing more, and grants revoked within one hour share one statement: revoking grants one at a
 * time cannot fill the role's policy and force the role-wide fallback.
 */
function endOfHour(cutoff: string): string {
  const time = Date.parse(cutoff);
  return new Date(Math.ceil(time / HOUR_MS) * HOUR_MS).toISOString().replace('.000Z', 'Z');
}

function requireSourceIdentity(sourceIdentity: string): string {
  if (!isValidSessionName(sourceIdentity)) {
    throw new ValidationError(
      `a SourceIdentity must be 2-64 characters of [A-Za-z0-9_+=,.@-], got ${JSON.stringify(sourceIdentity)}`,
    );
  }
  return sourceIdentity;
}

function requirePattern(what: string, pattern: RegExp, value: string): string {
  if (!pattern.test(value)) throw new ValidationError(`${what} in a revocation is malformed: ${JSON.stringify(value)}`);
  return value;
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new ValidationError(`${name} must be a positive whole number, got ${value}`);
  }
}

/**
 * The smallest equivalent set, in canonical order (role-wide, lockdowns, grants, people; each by
 * time, then by identity): a later cutoff replaces an earlier one of the same target, and the
 * latest role-wide cutoff replaces everything at or before it.
 */
function compact(revocations: readonly Revocation[]): Revocation[] {
  const roleWide = revocations
    .filter((r) => r.kind === 'role-wide')
    .map((r) => r.before)
    .reduce<string | undefined>((a, b) => (a === undefined || b > a ? b : a), undefined);
  const people = new Map<string, PersonRevocation>();
  const grants = new Map<string, GrantRevocation>();
  const lockdowns = new Map<string, LockdownRevocation>();
  const keepLatest = <R extends Revocation>(map: Map<string, R>, key: string, r: R) => {
    const kept = map.get(key);
    if (kept === undefined || r.before > kept.before) map.set(key, r);
  };
  for (const r of revocations) {
    if (roleWide !== undefined && r.before <= roleWide) continue;
    if (r.kind === 'person') keepLatest(people, r.sourceIdentity, r);
    else if (r.kind === 'grant') keepLatest(grants, r.grantId, r);
    // JSON, not join(','): a comma is a legal SourceIdentity character.
    else if (r.kind === 'lockdown') keepLatest(lockdowns, JSON.stringify([r.allowedSourceIdentities, r.exemptTag ?? null]), r);
  }
  const lockdownKey = (r: LockdownRevocation) => JSON.stringify([r.allowedSourceIdentities, r.exemptTag ?? null]);
  // Cutoffs share one format, so string order is time order.
  return [
    ...(roleWide === undefined ? [] : [{ kind: 'role-wide', before: roleWide } as const]),
    ...[...lockdowns.values()].sort((a, b) => compareStrings(a.before, b.before) || compareStrings(lockdownKey(a), lockdownKey(b))),
    ...[...grants.values()].sort((a, b) => compareStrings(a.before, b.before) || compareStrings(a.grantId, b.grantId)),
    ...[...people.values()].sort((a, b) => compareStrings(a.before, b.before) || compareStrings(a.sourceIdentity, b.sourceIdentity)),
  ];
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Minified JSON of compacted revocations; people (and grants) sharing a cutoff share a statement. */
function renderPolicy(revocations: readonly Revocation[]): string | undefined {
  if (revocations.length === 0) return undefined;
  const peopleByBefore = new Map<string, string[]>();
  const grantsByBefore = new Map<string, string[]>();
  const statements: object[] = [];
  let lockdownIndex = 0;
  for (const r of revocations) {
    if (r.kind === 'role-wide') {
      statements.push(denyStatement(ROLE_WIDE_SID, {}, r.before));
    } else if (r.kind === 'lockdown') {
      const notAllowed: Record<string, unknown> = { [SOURCE_IDENTITY_KEY]: [...r.allowedSourceIdentities] };
      if (r.allowedSourceIdentities.length === 0) delete notAllowed[SOURCE_IDENTITY_KEY];
      if (r.exemptTag !== undefined) notAllowed[LOCKDOWN_TAG_KEY] = r.exemptTag;
      statements.push(denyStatement(`${LOCKDOWN_SID_PREFIX}${lockdownIndex++}`, { StringNotEquals: notAllowed }, r.before));
    } else if (r.kind === 'grant') {
      grantsByBefore.set(r.before, [...(grantsByBefore.get(r.before) ?? []), r.grantId]);
    } else {
      peopleByBefore.set(r.before, [...(peopleByBefore.get(r.before) ?? []), r.sourceIdentity]);
    }
  }
  [...grantsByBefore].forEach(([before, grantIds], index) => {
    statements.push(denyStatement(`${GRANT_SID_PREFIX}${index}`, { StringEquals: { [GRANT_TAG_KEY]: grantIds } }, before));
  });
  [...peopleByBefore].forEach(([before, sourceIdentities], index) => {
    const condition = { StringEquals: { [SOURCE_IDENTITY_KEY]: sourceIdentities } };
    statements.push(denyStatement(`${PERSON_SID_PREFIX}${index}`, condition, before));
  });
  return JSON.stringify({ Version: POLICY_VERSION, Statement: statements });
}

function denyStatement(sid: string, condition: object, before: string): object {
  return {
    Sid: sid,
    Effect: 'Deny',
    Action: '*',
    Resource: '*',
    Condition: { ...condition, DateLessThan: { [TOKEN_ISSUE_TIME_KEY]: before } },
  };
}

// What parseRevocationPolicy accepts: exactly what renderPolicy writes (a lone identity may be a
// string instead of a one-element list, as IAM allows). Strict objects, so an extra key such as
// NotAction or a second condition makes the statement foreign. Compiled once at module load.
const cutoffSchema = /* @__PURE__ */ z
  .string()
  .refine((value) => CUTOFF_PATTERN.test(value) && isoDateTime.safeParse(value).success);
const sourceIdentitySchema = /* @__PURE__ */ z.string().refine(isValidSessionName);
// In IIFEs: a call among a pure call's arguments is kept, so bundles that never parse a policy
// (the vend function's) would carry these anyway.
const sourceIdentitiesSchema = /* @__PURE__ */ (() =>
  z.union([sourceIdentitySchema.transform((id) => [id]), z.array(sourceIdentitySchema).min(1)]))();
const denyAll = /* @__PURE__ */ (() => ({ Effect: z.literal('Deny'), Action: z.literal('*'), Resource: z.literal('*') }))();
const issuedBefore = /* @__PURE__ */ z.object({ [TOKEN_ISSUE_TIME_KEY]: cutoffSchema }).strict();

const roleWideStatementSchema = /* @__PURE__ */ z
  .object({ Sid: z.literal(ROLE_WIDE_SID), ...denyAll, Condition: z.object({ DateLessThan: issuedBefore }).strict() })
  .strict()
  .transform((s): Revocation[] => [{ kind: 'role-wide', before: s.Condition.DateLessThan[TOKEN_ISSUE_TIME_KEY] }]);

const grantIdSchema = /* @__PURE__ */ z.string().regex(GRANT_ID_PATTERN);
const grantIdsSchema = /* @__PURE__ */ (() => z.union([grantIdSchema.transform((id) => [id]), z.array(grantIdSchema).min(1)]))();

const lockdownStatementSchema = /* @__PURE__ */ z
  .object({
    Sid: z.string().regex(new RegExp(`^${LOCKDOWN_SID_PREFIX}\\d+$`)),
    ...denyAll,
    Condition: z
      .object({
        StringNotEquals: z
          .object({
            [SOURCE_IDENTITY_KEY]: sourceIdentitiesSchema.optional(),
            [LOCKDOWN_TAG_KEY]: z.string().regex(EXEMPT_TAG_PATTERN).optional(),
          })
          .strict()
          .refine((test) => test[SOURCE_IDENTITY_KEY] !== undefined || test[LOCKDOWN_TAG_KEY] !== undefined),
        DateLessThan: issuedBefore,
      })
      .strict(),
  })
  .strict()
  .transform((s): Revocation[] => {
    const exemptTag = s.Condition.StringNotEquals[LOCKDOWN_TAG_KEY];
    return [
      {
        kind: 'lockdown',
        allowedSourceIdentities: s.Condition.StringNotEquals[SOURCE_IDENTITY_KEY] ?? [],
        ...(exemptTag === undefined ? {} : { exemptTag }),
        before: s.Condition.DateLessThan[TOKEN_ISSUE_TIME_KEY],
      },
    ];
  });

const grantStatementSchema = /* @__PURE__ */ z
  .object({
    Sid: z.string().regex(new RegExp(`^${GRANT_SID_PREFIX}\\d+$`)),
    ...denyAll,
    Condition: z
      .object({ StringEquals: z.object({ [GRANT_TAG_KEY]: grantIdsSchema }).strict(), DateLessThan: issuedBefore })
      .strict(),
  })
  .strict()
  .transform((s): Revocation[] =>
    s.Condition.StringEquals[GRANT_TAG_KEY].map((grantId) => ({ kind: 'grant', grantId, before: s.Condition.DateLessThan[TOKEN_ISSUE_TIME_KEY] })),
  );

const personStatementSchema = /* @__PURE__ */ z
  .object({
    Sid: z.string().regex(new RegExp(`^${PERSON_SID_PREFIX}\\d+$`)),
    ...denyAll,
    Condition: z
      .object({
        StringEquals: z.object({ [SOURCE_IDENTITY_KEY]: sourceIdentitiesSchema }).strict(),
        DateLessThan: issuedBefore,
      })
      .strict(),
  })
  .strict()
  .transform((s): Revocation[] =>
    s.Condition.StringEquals[SOURCE_IDENTITY_KEY].map((sourceIdentity) => ({
      kind: 'person',
      sourceIdentity,
      before: s.Condition.DateLessThan[TOKEN_ISSUE_TIME_KEY],
    })),
  );

const statementSchema = /* @__PURE__ */ z.union([roleWideStatementSchema, lockdownStatementSchema, grantStatementSchema, personStatementSchema]);
const policySchema = /* @__PURE__ */ z
  .object({
    Version: z.literal(POLICY_VERSION),
    Statement: z.union([z.array(z.unknown()), z.object({}).passthrough().transform((s) => [s])]),
  })
  .strict();
