// The schedule that keeps cut-offs in force: what a request could not finish, and what changed
// behind tvm's back.
import { bringRoleInLine, carryOutCutOff, driftEvent, type CutOffDeps } from './cut-off-sessions.js';
import { TvmError } from './errors.js';
import type { Principal, RequestMeta } from './model.js';

/** Who the schedule's own records name as acting. */
export const SCHEDULE_PRINCIPAL: Principal = { id: 'tvm:schedule', groups: [], issuer: '' };

export interface RepairOutcome {
  /** Cut-off orders taken up again, and how many of them are now carried out in full. */
  readonly orders: { readonly pending: number; readonly completed: number };
  /** Ledgers checked; those whose policy had to be put right, and of those, changed outside tvm. */
  readonly roles: { readonly checked: number; readonly repaired: number; readonly external: number };
  /** Roles that could not be checked or put right this time (tried again next time). */
  readonly failures: readonly { readonly roleArn: string; readonly code: string }[];
}

/**
 * Every 5 minutes:
 * 1. Carry out every cut-off order still pending (a role whose policy could not be written, a
 *    function that stopped before it was done): until each holds.
 * 2. For every role's ledger: prune what has expired and put its policy right. A policy that is
 *    not what the ledger renders is rewritten and recorded `revocation.drift`; one tvm never wrote
 *    (changed outside tvm) raises `revocation-policy-changed`, and the Deny statements in it that tvm
 *    can read are kept. Every role is tried; one failing does not stop the others.
 */
export async function repairRevocations(deps: CutOffDeps, meta: RequestMeta): Promise<RepairOutcome> {
  const pending = await deps.orders.list();
  let completed = 0;
  for (const order of pending) {
    if ((await carryOutCutOff(deps, order, meta)).complete) completed += 1;
  }

  const ledgers = await deps.ledger.list();
  const failures: { roleArn: string; code: string }[] = [];
  let repaired = 0;
  let external = 0;
  const now = deps.clock.now();
  for (const ledger of ledgers) {
    try {
      const { drift } = await bringRoleInLine(deps, ledger.roleArn, [], now);
      if (!drift) continue;
      repaired += 1;
      if (drift.external) external += 1;
      await deps.audit.append(driftEvent(deps, SCHEDULE_PRINCIPAL, meta, ledger.roleArn, drift));
    } catch (error) {
      failures.push({ roleArn: ledger.roleArn, code: error instanceof TvmError ? error.code : 'INTERNAL' });
      deps.warn?.('a revocation policy could not be checked or put right', { roleArn: ledger.roleArn, error });
    }
  }
  return { orders: { pending: pending.length, completed }, roles: { checked: ledgers.length, repaired, external }, failures };
}
