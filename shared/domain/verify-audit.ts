// Tamper evidence on demand: re-check the audit trail's hash chains over a window.
import { ValidationError } from './errors.js';
import type { AuditLog, Clock, VerifyReport } from './ports.js';
import type { VerifyQuery } from './schemas.js';

const HOUR_MS = 60 * 60 * 1000;
export const DEFAULT_VERIFY_SPAN_MS = 24 * HOUR_MS;
/** Verify reads every event in the window: a month is about what one request can read in time. */
export const MAX_VERIFY_SPAN_DAYS = 31;

export interface VerifyResult extends VerifyReport {
  /** The window checked, after defaults. */
  readonly from: string;
  readonly to: string;
}

export interface VerifyDeps {
  readonly audit: Pick<AuditLog, 'verify'>;
  readonly clock: Clock;
  /** Where a broken chain is reported besides the response. */
  readonly warn?: (message: string, data: Record<string, unknown>) => void;
}

/**
 * GET /audit/verify?from=&to=:
 * 1. Default the window to the 24 hours before `to` (default: now); refuse from > to and a span
 *    over MAX_VERIFY_SPAN_DAYS (VALIDATION_FAILED).
 * 2. Check the hash chains of that window.
 * 3. A broken chain is also logged at warn: someone edited, deleted or inserted audit items.
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

  const report = await deps.audit.verify(from, to);
  if (!report.ok) {
    deps.warn?.('audit trail verification found broken links', {
      from: from.toISOString(),
      to: to.toISOString(),
      checked: report.checked,
      broken: report.broken.length,
      firstBroken: report.broken.slice(0, 10),
    });
  }
  return { ok: report.ok, checked: report.checked, broken: report.broken, from: from.toISOString(), to: to.toISOString() };
}
