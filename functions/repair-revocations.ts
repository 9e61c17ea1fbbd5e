// The scheduled repair of cut-offs (every 5 minutes): pending cut-off orders carried out, every
// role's revocation policy checked against its ledger and put right (repair-revocations.ts).
import type { Context } from 'aws-lambda';
import { randomIds, systemClock } from '../shared/adapters/system.js';
import { cutOffAdapters } from '../shared/composition.js';
import { repairRevocations, type RepairOutcome } from '../shared/domain/repair-revocations.js';
import { logger } from '../shared/logger.js';

const deps = {
  ...cutOffAdapters(),
  clock: systemClock,
  ids: randomIds,
  warn: (message: string, data: Record<string, unknown>) => logger.warn(message, data),
};

export async function handler(_event: unknown, context?: Context): Promise<RepairOutcome> {
  if (context) logger.addContext(context);
  const outcome = await repairRevocations(deps, { requestId: context?.awsRequestId ?? randomIds.next() });
  logger.info('revocations repaired', { ...outcome });
  return outcome;
}
