// Cutting live sessions off: the one module behind the lockdown, the handover and grant
// revocation, with one failure policy.
//
// A cut-off starts as a CutOffOrder written in the same transaction as the decision (so it cannot
// be lost), then for each of its roles:
// 1. merge the revocations into the role's ledger, a version-conditioned write retried on conflict,
//    so concurrent cut-offs on one role all take effect;
// 2. render the ledger to the role's `tvm-revocations` policy, within what its other inline policies
//    leave (role-wide fallback when it does not fit, or when IAM says LimitExceeded), and render
//    again while the ledger moves under it: the policy ends at the latest ledger;
// 3. list the role's live sessions the order denies, from an index of live issuances by role (its
//    size is the live sessions', never the recorded uses'): what is reported. A listing that fails
//    leaves the Deny in force and the role in the order, so the schedule reports it later.
// Every role is tried. Sessions are reported revoked (and recorded `session.revoked`) only on roles
// whose policy was written; the others are reported as `sessionsNotCut`, recorded `cutoff.failed`,
// and the order keeps those roles, so the schedule (repair-revocations.ts) tries them again until
// done; all but a role out of tvm's reach (in another account: ROLE_OUT_OF_REACH), which no retry
// can cut. A policy found changed outside tvm is recorded (`revocation.drift`) and put right, keeping
// any Deny it held that tvm can read.
import { createHash } from 'node:crypto';
import { adminEvent, type AuditEvent, type CredentialIssuedEvent } from './audit.js';
import { MAX_SESSION_SECONDS } from './duration.js';
import { ConflictError, RoleOutOfReachError, RolePolicyLimitError, TvmError } from './errors.js';
import type { CutOffOrder, Principal, RequestMeta, RevokedSession, SessionNotCut } from './model.js';
import type { AuditWriter, Clock, CutOffOrders, IdGenerator, LiveSessionFinder, RevocationLedger, RevocationLedgerEntry, RevocationPolicies, RolePolicyState } from './ports.js';
import {
  denies,
  MAX_ROLE_POLICY_CHARS,
  mergeRevocations,
  readableRevocations,
  renderRevocationPolicy,
  renderWithin,
  roleWideFallback,
  type Revocation,
  type SessionFacts,
} from './revocation-policy.js';

/**
 * How far past its decision a cut-off reaches: a vend that read the rules just before the decision
 * committed may still be minting a session (the vend function runs ≤ 25 s, the deciding function
 * ≤ 30 s, plus margin for clocks). Sessions issued up to then are denied too; the template test
 * keeps the function timeouts within it.
 */
export const CUT_OFF_GRACE_SECONDS = 60;

/**
 * Ledger writes lost to concurrent cut-offs on one role before giving up (the schedule tries
 * again). Every lost write is another cut-off's won one, so this bounds how many run at once.
 */
const MAX_LEDGER_ATTEMPTS = 16;
/** Renders of a ledger that keeps moving (one per cut-off that moved it) before leaving it to the schedule. */
const MAX_RENDER_ATTEMPTS = 16;
/** Document digests a ledger remembers: a few versions' worth. */
const REMEMBERED_DOCUMENTS = 32;
/** The digest of "no policy at all" (nothing to deny). */
const NO_DOCUMENT = 'none';

export interface CutOffDeps {
  readonly ledger: RevocationLedger;
  readonly policies: RevocationPolicies;
  readonly sessions: LiveSessionFinder;
  readonly orders: CutOffOrders;
  readonly audit: AuditWriter;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly warn?: (message: string, data: Record<string, unknown>) => void;
}

export interface CutOffReport {
  /** Sessions the order targeted that are now denied (each recorded `session.revoked`). */
  readonly revokedSessions: RevokedSession[];
  /** Sessions it targeted on roles whose policy could not be written: still live for now. */
  readonly sessionsNotCut: SessionNotCut[];
  /** True when a role's policy is a role-wide cutoff: everyone's earlier sessions there are cut too. */
  readonly roleWideFallback: boolean;
  /**
   * True when every role of the order holds it and is recorded. When false the schedule goes on,
   * except for roles out of tvm's reach (another account), which no retry can cut.
   */
  readonly complete: boolean;
}

/** The cut-off time of a decision taken at `decidedAt` (see CUT_OFF_GRACE_SECONDS). */
export function cutOffTime(decidedAt: Date): string {
  return new Date(decidedAt.getTime() + CUT_OFF_GRACE_SECONDS * 1000).toISOString();
}

/**
 * A new order for the decision `principal` took at `now` (written with the decision, then carried
 * out): its revocations reach to the decision's cut-off time (cutOffTime), handed to `revocations`.
 */
export function newCutOffOrder(
  ids: IdGenerator,
  decision: { readonly principal: Principal; readonly meta: RequestMeta; readonly now: Date },
  order: Pick<CutOffOrder, 'cause' | 'roles' | 'context'> & { readonly revocations: (before: string) => Revocation[] },
): CutOffOrder {
  const { principal, meta, now } = decision;
  return {
    id: ids.next(),
    cause: order.cause,
    decidedAt: now.toISOString(),
    decidedBy: principal.id,
    requestId: meta.requestId,
    revocations: order.revocations(cutOffTime(now)),
    roles: order.roles,
    attempts: 0,
    context: order.context,
  };
}

/** Carries an order out on each of its remaining roles (see the header). */
export async function carryOutCutOff(deps: CutOffDeps, order: CutOffOrder, meta: RequestMeta): Promise<CutOffReport> {
  const now = deps.clock.now();
  const outcomes = await Promise.all(order.roles.map((roleArn) => cutRole(deps, order, roleArn, now)));
  const actor: Principal = { id: order.decidedBy, groups: [], issuer: '' };
  const revokedSessions: RevokedSession[] = [];
  const sessionsNotCut: SessionNotCut[] = [];
  const events: { event: AuditEvent; roleArn: string; onceKey?: string }[] = [];
  for (const outcome of outcomes) {
    const { roleArn } = outcome;
    if (outcome.drift) events.push({ event: driftEvent(deps, actor, meta, roleArn, outcome.drift), roleArn });
    if (!outcome.ok) {
      const notCut = outcome.targets.map((session) => ({ ...toRevokedSession(session), roleArn, code: outcome.code, message: outcome.message }));
      sessionsNotCut.push(...notCut);
      events.push({ event: failedEvent(deps, actor, meta, order, roleArn, outcome.code, outcome.message, notCut), roleArn });
      continue;
    }
    for (const session of outcome.targets) {
      revokedSessions.push(toRevokedSession(session));
      // Once per order and key: the request and the schedule may both carry an order out.
      events.push({
        event: revokedEvent(deps, actor, meta, order, session, outcome.fallback),
        roleArn,
        onceKey: `session.revoked#${order.id}#${session.accessKeyId}`,
      });
    }
  }
  // The cut-off holds (or failed) whether or not its record is written: report, never undo. A role
  // whose records could not be written stays in the order, so the schedule writes them (once).
  const unrecorded = new Set<string>();
  for (const { event, roleArn, onceKey } of events) {
    await deps.audit.append(event, onceKey === undefined ? {} : { onceKey }).catch((error: unknown) => {
      unrecorded.add(roleArn);
      deps.warn?.('a cut-off record could not be written', { type: event.type, orderId: order.id, error });
    });
  }
  const retried = outcomes.filter((outcome) => !outcome.ok && !outcome.lasting).map((outcome) => outcome.roleArn);
  const unfinished = order.roles.filter((roleArn) => retried.includes(roleArn) || unrecorded.has(roleArn));
  await settleOrder(deps, order, unfinished);
  const roleWideFallback = outcomes.some((outcome) => outcome.ok && outcome.fallback);
  const complete = unfinished.length === 0 && outcomes.every((outcome) => outcome.ok);
  return { revokedSessions, sessionsNotCut, roleWideFallback, complete };
}

type RoleOutcome = {
  readonly roleArn: string;
  /** The live sessions this order's revocations deny (or would have). */
  readonly targets: readonly CredentialIssuedEvent[];
  readonly drift?: Drift;
} & (
  | { readonly ok: true; readonly fallback: boolean }
  /** `lasting`: trying again cannot help (RoleOutOfReachError): reported and recorded, not retried. */
  | { readonly ok: false; readonly code: string; readonly message: string; readonly lasting: boolean }
);

async function cutRole(deps: CutOffDeps, order: CutOffOrder, roleArn: string, now: Date): Promise<RoleOutcome> {
  const targetsOf = async () =>
    (await deps.sessions.liveIssuancesOnRole(roleArn, now)).filter((session) =>
      order.revocations.some((revocation) => denies(revocation, sessionFacts(session))),
    );
  const failed = (error: unknown, targets: CredentialIssuedEvent[], inForce: boolean): RoleOutcome => {
    deps.warn?.('sessions could not be cut off on a role', { orderId: order.id, roleArn, inForce, error });
    const code = error instanceof TvmError ? error.code : 'INTERNAL';
    const message = inForce
      ? 'the revocation is in force, but the sessions it denies could not be listed yet'
      : error instanceof TvmError
        ? error.message
        : 'the revocation could not be put in force';
    return { roleArn, targets, ok: false, code, message, lasting: error instanceof RoleOutOfReachError };
  };
  // The Deny first: the listing only serves the report, so nothing about it (however many
  // sessions, however slow the read) can delay or stop the cut-off itself.
  let result: RoleInLine;
  try {
    result = await bringRoleInLine(deps, roleArn, order.revocations, now);
  } catch (error) {
    // Not cut: the sessions still live are what the report names, if they can be read.
    return failed(error, await targetsOf().catch(() => []), false);
  }
  try {
    const targets = await targetsOf();
    return { roleArn, targets, ok: true, fallback: result.fallback, ...(result.drift ? { drift: result.drift } : {}) };
  } catch (error) {
    // The Deny holds; which sessions it denies is reported (and recorded) when the schedule lists them.
    return { ...failed(error, [], true), ...(result.drift ? { drift: result.drift } : {}) };
  }
}

export interface Drift {
  /** True when the policy found is none tvm wrote: changed outside tvm. */
  readonly external: boolean;
  readonly foundDigest: string;
  /** The policy found, when it was changed outside tvm (a policy holds no secret). */
  readonly foundDocument?: string;
  readonly ledgerVersion: number;
}

export interface RoleInLine {
  readonly entry: RevocationLedgerEntry;
  readonly fallback: boolean;
  /** Set when the policy found was not the one the ledger renders. */
  readonly drift?: Drift;
}

/**
 * Steps 2 and 3 for one role: `added` merged into its ledger, and the ledger rendered to its policy.
 * With nothing added it re-renders (and prunes) the ledger: the schedule's repair. A policy found
 * changed outside tvm is reported as drift; the Deny statements in it that tvm can read are kept.
 */
export async function bringRoleInLine(
  deps: Pick<CutOffDeps, 'ledger' | 'policies'>,
  roleArn: string,
  added: readonly Revocation[],
  now: Date,
): Promise<RoleInLine> {
  let state = await deps.policies.read(roleArn);
  const current = await deps.ledger.get(roleArn);
  // In line: the policy is what the ledger's latest version renders (precise or fallback). Known:
  // what tvm rendered for some recent version (a render that failed or was overtaken since).
  const foundDigest = documentDigest(state.document);
  const inLine = (current?.documents.slice(-2) ?? [NO_DOCUMENT]).includes(foundDigest);
  const known = inLine || (current?.documents.includes(foundDigest) ?? false);
  // Each statement tvm can read is kept, so putting the policy right never lifts one of them; one it
  // cannot read is replaced (the drift record keeps the document found).
  const adopted = known ? [] : readableRevocations(state.document).revocations;
  let entry = await applyToLedger(deps.ledger, roleArn, current, [...added, ...adopted], now);
  const drift: Drift | undefined = inLine
    ? undefined
    : { external: !known, foundDigest, ...(known ? {} : { foundDocument: state.document ?? '' }), ledgerVersion: entry.version };

  for (let attempt = 1; ; attempt++) {
    const fallback = await renderToPolicy(deps.policies, entry, state);
    // It cuts everyone's earlier sessions on the role, not only those the decisions named.
    if (fallback) await recordFallback(deps.ledger, entry);
    const latest = await deps.ledger.get(entry.roleArn);
    if (!latest || latest.version <= entry.version) return { entry, fallback, ...(drift ? { drift } : {}) };
    if (attempt >= MAX_RENDER_ATTEMPTS) {
      throw new ConflictError(`the revocations of role ${roleArn} kept changing while being put in force; they will be again`);
    }
    // Another cut-off changed the ledger meanwhile: its policy must hold ours and theirs.
    entry = latest;
    state = await deps.policies.read(entry.roleArn);
  }
}

/** The ledger with `added` merged in and the expired pruned, written if that changed it. */
async function applyToLedger(
  ledger: RevocationLedger,
  roleArn: string,
  current: RevocationLedgerEntry | undefined,
  added: readonly Revocation[],
  now: Date,
): Promise<RevocationLedgerEntry> {
  for (let attempt = 1; attempt <= MAX_LEDGER_ATTEMPTS; attempt++) {
    const { revocations } = mergeRevocations({ existing: current?.revocations ?? [], added, now, maxSessionSeconds: MAX_SESSION_SECONDS });
    if (current && JSON.stringify(revocations) === JSON.stringify(current.revocations)) return current;
    const next: RevocationLedgerEntry = {
      roleArn: current?.roleArn ?? roleArn,
      revocations,
      version: (current?.version ?? 0) + 1,
      updatedAt: now.toISOString(),
      documents: remember(current?.documents ?? [], documentsFor(revocations)),
    };
    if (await ledger.put(next, current?.version ?? 0)) return next;
    current = await ledger.get(roleArn);
  }
  throw new ConflictError(`the revocation ledger of role ${roleArn} kept changing; the cut-off will be tried again`);
}

/**
 * Writes the ledger's document, unless the role already has it; the role-wide fallback when the
 * revocations do not fit beside the role's other inline policies, or IAM refuses them as too large
 * (its count may differ from ours, or another policy grew meanwhile). Returns whether it fell back.
 */
async function renderToPolicy(policies: RevocationPolicies, entry: RevocationLedgerEntry, state: RolePolicyState): Promise<boolean> {
  const plan = renderWithin(entry.revocations, MAX_ROLE_POLICY_CHARS - state.otherPoliciesChars);
  if (documentDigest(state.document) === documentDigest(plan.document)) return plan.fallback;
  try {
    await policies.write(entry.roleArn, plan.document);
    return plan.fallback;
  } catch (error) {
    if (!(error instanceof RolePolicyLimitError) || plan.fallback) throw error;
    await policies.write(entry.roleArn, renderRevocationPolicy(roleWideFallback(entry.revocations)));
    return true;
  }
}

/** The role-wide fallback in force, recorded where vends read recent cut-offs (once per cutoff). */
async function recordFallback(ledger: RevocationLedger, entry: RevocationLedgerEntry): Promise<void> {
  const [cutOff] = roleWideFallback(entry.revocations);
  if (cutOff?.kind === 'role-wide') await ledger.recordFallback(entry.roleArn, cutOff);
}

/** The documents a ledger's revocations may be rendered to: precise, and the role-wide fallback. */
function documentsFor(revocations: readonly Revocation[]): string[] {
  return [documentDigest(renderRevocationPolicy(revocations)), documentDigest(renderRevocationPolicy(roleWideFallback(revocations)))];
}

function remember(documents: readonly string[], added: readonly string[]): string[] {
  const kept = documents.filter((digest) => !added.includes(digest));
  return [...kept, ...added].slice(-REMEMBERED_DOCUMENTS);
}

/** A policy's digest, whatever its formatting (IAM may hand it back otherwise than it was sent). */
export function documentDigest(document: string | undefined): string {
  if (document === undefined) return NO_DOCUMENT;
  let canonical = document;
  try {
    canonical = JSON.stringify(sortKeys(JSON.parse(document)));
  } catch {
    // Not JSON: digest the text as it is.
  }
  return createHash('sha256').update(canonical).digest('hex');
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}

async function settleOrder(deps: CutOffDeps, order: CutOffOrder, unfinished: readonly string[]): Promise<void> {
  try {
    if (unfinished.length === 0) await deps.orders.complete(order.id);
    else await deps.orders.update({ ...order, roles: unfinished, attempts: order.attempts + 1 }, order.attempts);
  } catch (error) {
    // The order stays as it was: the schedule carries it out again, which is harmless.
    deps.warn?.('a cut-off order could not be updated', { orderId: order.id, error });
  }
}

function sessionFacts(session: CredentialIssuedEvent): SessionFacts {
  return {
    sourceIdentity: session.sourceIdentity,
    grantId: session.grantId,
    ...(session.lockdownExemption === undefined ? {} : { lockdownExemption: session.lockdownExemption }),
    issuedAt: session.at,
  };
}

const toRevokedSession = (session: Pick<CredentialIssuedEvent, 'accessKeyId' | 'sourceIdentity' | 'expiration'>): RevokedSession => ({
  accessKeyId: session.accessKeyId,
  sourceIdentity: session.sourceIdentity,
  expiration: session.expiration,
});

function revokedEvent(
  deps: Pick<CutOffDeps, 'clock' | 'ids'>,
  actor: Principal,
  meta: RequestMeta,
  order: CutOffOrder,
  session: CredentialIssuedEvent,
  roleWideFallback: boolean,
): AuditEvent {
  return adminEvent(deps.clock.now(), deps.ids.next(), 'session.revoked', actor, meta, {
    profile: session.profile,
    accessKeyId: session.accessKeyId,
    detail: { ...toRevokedSession(session), roleArn: session.roleArn, cause: order.cause, orderId: order.id, roleWideFallback, ...order.context },
  });
}

function failedEvent(
  deps: Pick<CutOffDeps, 'clock' | 'ids'>,
  actor: Principal,
  meta: RequestMeta,
  order: CutOffOrder,
  roleArn: string,
  code: string,
  message: string,
  sessionsNotCut: readonly SessionNotCut[],
): AuditEvent {
  return adminEvent(deps.clock.now(), deps.ids.next(), 'cutoff.failed', actor, meta, {
    profile: '',
    detail: { orderId: order.id, cause: order.cause, roleArn, code, message, attempt: order.attempts + 1, sessionsNotCut: [...sessionsNotCut], ...order.context },
  });
}

export function driftEvent(deps: Pick<CutOffDeps, 'clock' | 'ids'>, actor: Principal, meta: RequestMeta, roleArn: string, drift: Drift): AuditEvent {
  return adminEvent(deps.clock.now(), deps.ids.next(), 'revocation.drift', actor, meta, {
    profile: '',
    detail: { roleArn, ...drift },
  });
}
