// The scheduled repair of cut-offs (every 5 minutes): pending cut-off orders carried out, every
// role's revocation policy checked against its ledger and put right (repair-revocations.ts).
import { repairRevocations, type RepairOutcome } from '../domain/repair-revocations.js';
import { createEventHandler, type EventLog } from './event-handler.js';

export const makeRepairRevocationsHandler = (deps: Parameters<typeof repairRevocations>[0] & { readonly log: EventLog }) =>
  createEventHandler(deps.log, async (_event: unknown, { requestId }): Promise<RepairOutcome> => {
    const outcome = await repairRevocations(deps, { requestId });
    deps.log.info('revocations repaired', { ...outcome });
    return outcome;
  });
