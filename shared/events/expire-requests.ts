// The schedule (every 5 minutes): pending requests past their expiry are recorded expired and announced.
import { expireRequests, type RequestDeps } from '../domain/manage-requests.js';
import { createEventHandler, type EventLog } from './event-handler.js';

export const makeExpireRequestsHandler = (deps: RequestDeps & { readonly log: EventLog }) =>
  createEventHandler(deps.log, async (_event: unknown, { requestId }): Promise<{ expired: string[] }> => {
    const expired = await expireRequests(deps, { requestId });
    if (expired.length > 0) deps.log.info('requests expired', { expired });
    return { expired };
  });
