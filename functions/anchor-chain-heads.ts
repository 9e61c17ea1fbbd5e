import { anchorDeps } from '../shared/composition.js';
import { makeAnchorChainHeadsHandler } from '../shared/events/anchor-chain-heads.js';

export const handler = makeAnchorChainHeadsHandler(anchorDeps());
