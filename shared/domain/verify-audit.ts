// Tamper evidence on demand: re-check the audit trail's hash chains over a window, each against
// its anchored head (chain-anchors.ts).
import type { ChainAnchor } from './chain-anchor-records.js';
import { StoreUnavailableError, ValidationError } from './errors.js';
import type { AuditLog, ChainAnchorStore, Clock, VerifyReport } from './ports.js';
import type { VerifyQuery } from './schemas.js';

const HOUR_MS = 60 * 60 * 1000;
export const DEFAULT_VERIFY_SPAN_MS = 24 * HOUR_MS;
/** Verify reads every event in the window: a month is about what one request can read in time. */
export const MAX_VERIFY_SPAN_DAYS = 31;

export interface VerifyResult extends VerifyReport {
  /** The window checked, after defaults. */
  readonly from: string;
  readonly to: string;
  /**
   * The anchor each day was compared with, and when its heads were read: what was written after it
   * rests on the hash chain alone. A day without one is not listed.
   */
  readonly anchors: readonly { readonly day: string; readonly at: string; readonly chains: number }[];
}

export interface VerifyDeps {
  readonly audit: Pick<AuditLog, 'verify'>;
  readonly anchors: Pick<ChainAnchorStore, 'latest'>;
  readonly clock: Clock;
  /** Where a broken chain is reported besides the response. */
  readonly warn?: (message: string, data: Record<string, unknown>) => void;
}

/**
 * GET /audit/verify?from=&to=:
 * 1. Default the window to the 24 hours before `to` (default: now); refuse from > to and a span
 *    over MAX_VERIFY_SPAN_DAYS (VALIDATION_FAILED).
 * 2. Read the latest anchor of each day of the window (STORE_UNAVAILABLE when they cannot be read:
 *    a verify that skipped them could not vouch for the chains' newest events).
 * 3. Check the hash chains of that window, each also against its anchored head.
 * 4. A broken chain is also logged at warn: someone edited, deleted or inserted audit items.
 */
export async function verifyAuditTrail(deps: VerifyDeps, query: VerifyQuery): Promise<VerifyResult> {
  const to = query.to ? new Date(query.to) : deps.clock.now();
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - DEFAULT_VERIFY_SPAN_MS);
  if (from.getTime() > to.getTime()) throw new ValidationError('query.from: must not be after to');
  if (to.getTime() - from.getTime() > MAX_VERIFY_SPAN_DAYS * 24 * HOUR_MS) {
    throw new ValidationError(`query.from: the window may span at most ${MAX_VERIFY_SPAN_DAYS} days; verify a longer period in parts`, {
      details: { maxDays: MAX_VERIFY_SPAN_DAYS },
    });
  }

  const anchors = await latestAnchors(deps.anchors, from, to);
  const report = await deps.audit.verify(from, to, anchors);
  if (!report.ok) {
    deps.warn?.('audit trail verification found broken links', {
      from: from.toISOString(),
      to: to.toISOString(),
      checked: report.checked,
      broken: report.broken.length,
      firstBroken: report.broken.slice(0, 10),
    });
  }
  return {
    ok: report.ok,
    checked: report.checked,
    broken: report.broken,
    from: from.toISOString(),
    to: to.toISOString(),
    anchors: anchors.map(({ day, at, heads }) => ({ day, at, chains: heads.length })),
  };
}

async function latestAnchors(store: Pick<ChainAnchorStore, 'latest'>, from: Date, to: Date): Promise<ChainAnchor[]> {
  const days: string[] = [];
  for (let time = Date.parse(from.toISOString().slice(0, 10)); time <= to.getTime(); time += 24 * HOUR_MS) {
    days.push(new Date(time).toISOString().slice(0, 10));
  }
  try {
    const anchors = await Promise.all(days.map((day) => store.latest(day)));
    return anchors.filter((anchor): anchor is ChainAnchor => anchor !== undefined);
  } catch (error) {
    throw new StoreUnavailableError('the chain anchors could not be read', { cause: error });
  }
}
