// How many active delegated grants one delegator may hold, so a flood cannot take tvm down: without
// a bound, one canDelegate grant could mint grants without end. Shared by POST /grants and
// engagements, whose grants by a non-admin owner are delegated grants too.
import { ConflictError, DelegationQuotaExceededError } from './errors.js';
import type { Grant } from './model.js';
import type { DelegatorQuota, DelegatorQuotaStore, QuotaEntry, QuotaUpdate } from './ports.js';

export const DEFAULT_DELEGATION_QUOTA = 200;

/** A write that loses the race for the quota record reads it again and decides again, this often. */
const MAX_QUOTA_ATTEMPTS = 3;

/** A grant counts against its creator's quota when it was delegated (an admin's grant has no parent). */
export const countsAgainstQuota = (grant: Grant): boolean => grant.parentGrantId !== undefined;

export interface QuotaDeps {
  readonly store: DelegatorQuotaStore;
  /** At most this many active delegated grants per delegator (DEFAULT_DELEGATION_QUOTA unless configured). */
  readonly delegationQuota?: number;
}

/**
 * The quota record to write with `add`, the delegator's new delegated grants:
 * 1. Read the delegator's record (strongly consistent) and drop the grants that have expired, and
 *    those `freeing` revokes in the same write.
 * 2. Only when that leaves no room: read the rest by key and drop those revoked since.
 * 3. No room still: DELEGATION_QUOTA_EXCEEDED. A write that frees at least as many as it adds (a
 *    handover) is never refused, even above a quota lowered since.
 * The record is written with the grants, conditional on the version read (see withinQuota).
 */
export async function reserveDelegations(
  deps: QuotaDeps,
  delegator: string,
  add: readonly Grant[],
  now: Date,
  options: { readonly freeing?: readonly string[] } = {},
): Promise<QuotaUpdate> {
  const quota = deps.delegationQuota ?? DEFAULT_DELEGATION_QUOTA;
  const record = await deps.store.getDelegatorQuota(delegator);
  const freeing = new Set(options.freeing ?? []);
  const unexpired = unique(record.grants).filter((entry) => Date.parse(entry.validUntil) > now.getTime());
  let held = unexpired.filter((entry) => !freeing.has(entry.id));
  const freed = unexpired.length - held.length;
  if (held.length + add.length > quota) {
    const active = await deps.store.activeGrantIds(held);
    held = held.filter((entry) => active.has(entry.id));
  }
  if (held.length + add.length > quota && add.length > freed) {
    throw new DelegationQuotaExceededError(
      `you hold ${held.length} active delegated grants; at most ${quota} are allowed: revoke one, or wait until one expires`,
      { details: { limit: quota, active: held.length } },
    );
  }
  return { delegator, expectedVersion: record.version, grants: [...held, ...add.map(toQuotaEntry)] };
}

/**
 * Runs `write` with the quota reserved for `add`. A write refused because the delegator's record
 * moved on meanwhile (a concurrent delegation by the same delegator won) reserves again from the
 * new record: so of two delegations racing for the last place exactly one gets it, and the other
 * learns DELEGATION_QUOTA_EXCEEDED. Any other conflict is the write's own.
 */
export async function withinQuota<T>(
  deps: QuotaDeps,
  delegator: string,
  add: readonly Grant[],
  now: Date,
  write: (quota: QuotaUpdate) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const quota = await reserveDelegations(deps, delegator, add, now);
    try {
      return await write(quota);
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= MAX_QUOTA_ATTEMPTS) throw error;
      const current: DelegatorQuota = await deps.store.getDelegatorQuota(delegator);
      if (current.version === quota.expectedVersion) throw error;
    }
  }
}

export function toQuotaEntry(grant: Grant): QuotaEntry {
  return { id: grant.id, profile: grant.profile, subject: grant.subject, validUntil: grant.validUntil };
}

function unique(entries: readonly QuotaEntry[]): QuotaEntry[] {
  return [...new Map(entries.map((entry) => [entry.id, entry])).values()];
}
