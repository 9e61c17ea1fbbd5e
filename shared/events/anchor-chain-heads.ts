// anchorChainHeads: every 5 minutes (an EventBridge schedule; locally local/schedule-driver.ts),
// copies the head of every audit hash chain of today and yesterday to write-once storage (the
// Object Lock bucket), so that verify can tell when someone with write access to the audit table
// rewrote a chain. The event itself is not read: an anchoring is always of the heads as they are now.
import { anchorChainHeads, type AnchorChainHeadsDeps, type DayAnchoring } from '../domain/chain-anchors.js';
import { createEventHandler, type EventLog } from './event-handler.js';

export const makeAnchorChainHeadsHandler = (deps: AnchorChainHeadsDeps & { readonly log: EventLog }) =>
  createEventHandler(deps.log, async (): Promise<DayAnchoring[]> => {
    const days = await anchorChainHeads(deps);
    deps.log.info('chain heads anchored', { days: days.map(({ day, saved, final, chains }) => ({ day, saved, final, chains })) });
    const heldBack = days.flatMap(({ heldBack: chains }) => chains);
    // Someone rewrote these chains below their anchored heads, or dated events back into them: the
    // anchors keep what was there.
    if (heldBack.length > 0) deps.log.error('audit chains were changed behind tvm; anchored as before; run verify', { heldBack });
    return days;
  });
