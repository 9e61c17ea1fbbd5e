import { repairDeps } from '../shared/composition.js';
import { makeRepairRevocationsHandler } from '../shared/events/repair-revocations.js';

export const handler = makeRepairRevocationsHandler(repairDeps());
