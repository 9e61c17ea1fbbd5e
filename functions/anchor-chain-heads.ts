// anchorChainHeads: every 5 minutes (an EventBridge schedule; locally local/schedule-driver.ts),
// copies the head of every audit hash chain of today and yesterday to write-once storage (the
// Object Lock bucket), so that verify can tell when someone with write access to the audit table
// rewrote a chain. The event itself is not read: an anchoring is always of the heads as they are now.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { systemClock } from '../shared/adapters/system.js';
import { chainAnchorStore, chainHeadReader } from '../shared/composition.js';
import { anchorChainHeads, type DayAnchoring } from '../shared/domain/chain-anchors.js';
import { logger } from '../shared/logger.js';

const deps = { heads: chainHeadReader(), anchors: chainAnchorStore(), clock: systemClock };

async function anchor(): Promise<DayAnchoring[]> {
  const days = await anchorChainHeads(deps);
  logger.info('chain heads anchored', { days: days.map(({ day, saved, chains }) => ({ day, saved, chains })) });
  const heldBack = days.flatMap(({ heldBack: chains }) => chains);
  if (heldBack.length > 0) {
    // Someone rewrote these chains below their anchored heads: the anchors keep what was there.
    logger.error('audit chains no longer extend their anchored heads; run verify', { heldBack });
  }
  return days;
}

export const handler = middy(anchor).use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }));
