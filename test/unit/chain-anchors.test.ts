// Anchored chain heads: the comparison verify makes between a chain and its anchored head, and the
// scheduled anchoring, which must never anchor over a chain someone rewrote below its anchor.
import type { AnchoredHead } from '../../shared/domain/chain-anchor-records.js';
import { anchorBreak, anchorChainHeads, type ChainNow } from '../../shared/domain/chain-anchors.js';
import { FIXED_NOW } from '../fixtures/builders.js';
import { fixedClock, hashOf, InMemoryChainAnchorStore, InMemoryChainHeads } from '../fixtures/in-memory.js';

const TODAY = '2026-06-01';
const YESTERDAY = '2026-05-31';
const CHAIN = `${TODAY}#0`;
const ANCHORED: AnchoredHead = { chain: CHAIN, seq: 5, hash: hashOf('five'), eventId: 'event-5' };

describe('anchorBreak: a chain compared with its anchored head', () => {
  it.each<[string, ChainNow, string | undefined]>([
    ['at the anchored head', { head: { seq: 5, hash: hashOf('five') }, hashesAtAnchor: [hashOf('five')] }, undefined],
    ['grown past it, the anchored event where it was', { head: { seq: 9, hash: hashOf('nine') }, hashesAtAnchor: [hashOf('five')] }, undefined],
    ['grown past it, with another event slipped in beside the anchored one', { head: { seq: 9, hash: hashOf('nine') }, hashesAtAnchor: [hashOf('x'), hashOf('five')] }, undefined],
    ['its newest events deleted and the head rewritten to fit', { head: { seq: 3, hash: hashOf('three') }, hashesAtAnchor: [] }, 'behind-anchor'],
    ['its head deleted with its events', { head: undefined, hashesAtAnchor: [] }, 'behind-anchor'],
    ['rewritten to the same length', { head: { seq: 5, hash: hashOf('forged five') }, hashesAtAnchor: [hashOf('forged five')] }, 'anchor-mismatch'],
    ['rewritten and grown past the anchor', { head: { seq: 7, hash: hashOf('seven') }, hashesAtAnchor: [hashOf('forged five')] }, 'anchor-mismatch'],
    ['grown past it, the anchored event gone', { head: { seq: 7, hash: hashOf('seven') }, hashesAtAnchor: [] }, 'anchor-mismatch'],
    ['grown past it, the anchored event not known (an old anchor)', { head: { seq: 7, hash: hashOf('seven') }, hashesAtAnchor: undefined }, undefined],
  ])('%s', (_, now, expected) => {
    // Act / Assess
    expect(anchorBreak(ANCHORED, now)).toBe(expected);
  });
});

describe('anchorChainHeads', () => {
  function setUp(labels?: string[]) {
    const heads = new InMemoryChainHeads(labels);
    const anchors = new InMemoryChainAnchorStore();
    const clock = fixedClock(FIXED_NOW);
    return { heads, anchors, clock, deps: { heads, anchors, clock } };
  }

  it("anchors the head of every chain of today and yesterday, once, and nothing while nothing moves", async () => {
    // Prepare
    const { heads, anchors, clock, deps } = setUp();
    const today = [heads.append(`${TODAY}#0`, 3), heads.append(`${TODAY}#u0`, 40)];
    const yesterday = heads.append(`${YESTERDAY}#1`, 2);

    // Act
    const first = await anchorChainHeads(deps);
    clock.advance(300_000);
    const second = await anchorChainHeads(deps);

    // Assess
    expect(anchors.saved).toEqual([
      { day: TODAY, at: FIXED_NOW.toISOString(), heads: today },
      { day: YESTERDAY, at: FIXED_NOW.toISOString(), heads: [yesterday] },
    ]);
    expect(first).toEqual([
      { day: TODAY, saved: true, chains: 2, heldBack: [] },
      { day: YESTERDAY, saved: true, chains: 1, heldBack: [] },
    ]);
    expect(second.map(({ saved }) => saved)).toEqual([false, false]);
  });

  it('takes the new head of a chain that grew on from its anchored head', async () => {
    // Prepare
    const { heads, anchors, clock, deps } = setUp();
    heads.append(CHAIN, 5);
    await anchorChainHeads(deps);
    const grown = heads.append(CHAIN, 4);
    clock.advance(300_000);

    // Act
    const [today] = await anchorChainHeads(deps);

    // Assess
    expect(today).toEqual({ day: TODAY, saved: true, chains: 1, heldBack: [] });
    expect((await anchors.latest(TODAY))?.heads).toEqual([grown]);
  });

  it('keeps the anchored head of a chain whose newest events were deleted and whose head was rewritten', async () => {
    // Prepare
    const { heads, anchors, clock, deps } = setUp();
    heads.append(CHAIN, 5);
    await anchorChainHeads(deps);
    const anchored = (await anchors.latest(TODAY))?.heads[0];
    heads.setHead(CHAIN, { seq: 3, hash: hashOf(`${CHAIN}/3`), eventId: `event-${CHAIN}-3` });
    heads.append(`${TODAY}#1`, 1);
    clock.advance(300_000);

    // Act
    const [today] = await anchorChainHeads(deps);

    // Assess
    expect(today?.heldBack).toEqual([{ chain: CHAIN, reason: 'behind-anchor' }]);
    const latest = await anchors.latest(TODAY);
    expect(latest?.at).toBe(clock.now().toISOString());
    expect(latest?.heads.find((head) => head.chain === CHAIN)).toEqual(anchored);
  });

  it('keeps the anchored head of a chain rewritten below it and then grown past it', async () => {
    // Prepare: events 4 and 5 replaced by forged ones, then three more appended
    const { heads, anchors, clock, deps } = setUp();
    heads.append(CHAIN, 5);
    await anchorChainHeads(deps);
    heads.linkAt(CHAIN, `event-${CHAIN}-5`, undefined);
    heads.linkAt(CHAIN, 'forged-5', { seq: 5, hash: hashOf('forged') });
    heads.setHead(CHAIN, { seq: 8, hash: hashOf('forged 8'), eventId: 'forged-8' });
    clock.advance(300_000);

    // Act
    const [today] = await anchorChainHeads(deps);

    // Assess
    expect(today).toEqual({ day: TODAY, saved: false, chains: 1, heldBack: [{ chain: CHAIN, reason: 'anchor-mismatch' }] });
    expect((await anchors.latest(TODAY))?.heads).toEqual([{ chain: CHAIN, seq: 5, hash: hashOf(`${CHAIN}/5`), eventId: `event-${CHAIN}-5` }]);
  });

  it('keeps checking a chain it anchored before even when that shard is no longer configured', async () => {
    // Prepare: chain #1 anchored, then the configuration shrinks to chain #0, and #1's head disappears
    const before = setUp(['0', '1']);
    before.heads.append(`${TODAY}#1`, 2);
    await anchorChainHeads(before.deps);
    const heads = new InMemoryChainHeads(['0']);
    const clock = fixedClock(new Date(FIXED_NOW.getTime() + 300_000));

    // Act
    const [today] = await anchorChainHeads({ heads, anchors: before.anchors, clock });

    // Assess
    expect(today?.heldBack).toEqual([{ chain: `${TODAY}#1`, reason: 'behind-anchor' }]);
  });
});
