// The schedule (every 5 minutes): pending requests past their expiry are recorded expired and announced.
import type { Context } from 'aws-lambda';
import { randomIds } from '../shared/adapters/system.js';
import { requestDeps } from '../shared/composition.js';
import { expireRequests } from '../shared/domain/manage-requests.js';
import { logger } from '../shared/logger.js';

const deps = requestDeps();

export async function handler(_event: unknown, context?: Context): Promise<{ expired: string[] }> {
  if (context) logger.addContext(context);
  const expired = await expireRequests(deps, { requestId: context?.awsRequestId ?? randomIds.next() });
  if (expired.length > 0) logger.info('requests expired', { expired });
  return { expired };
}
