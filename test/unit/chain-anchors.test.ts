// Anchored chain heads: the comparison verify makes between a chain and its anchored head, and the
// scheduled anchoring, which must never anchor over a chain someone rewrote below its anchor.
import type { AnchoredHead } from '../../shared/domain/chain-anchor-records.js';
import { anchorBreak, anchorChainHeads, isBackdated, MAX_WRITE_LAG_MS, type ChainNow } from '../../shared/domain/chain-anchors.js';
import { FIXED_NOW } from '../fixtures/builders.js';
import { chainEventId, fixedClock, hashOf, InMemoryChainAnchorStore, InMemoryChainHeads } from '../fixtures/in-memory.js';

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
      { day: TODAY, at: FIXED_NOW.toISOString(), heads: today, empty: [{ chain: `${TODAY}#1` }] },
      { day: YESTERDAY, at: FIXED_NOW.toISOString(), heads: [yesterday], empty: [{ chain: `${YESTERDAY}#0` }] },
    ]);
    // Yesterday ended twelve hours before: its anchor is its final one.
    expect(first).toEqual([
      { day: TODAY, saved: true, final: false, chains: 2, heldBack: [] },
      { day: YESTERDAY, saved: true, final: true, chains: 1, heldBack: [] },
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
    expect(today).toEqual({ day: TODAY, saved: true, final: false, chains: 1, heldBack: [] });
    expect((await anchors.latest(TODAY))?.heads).toEqual([grown]);
  });

  it('keeps the anchored head of a chain whose newest events were deleted and whose head was rewritten', async () => {
    // Prepare
    const { heads, anchors, clock, deps } = setUp();
    heads.append(CHAIN, 5);
    await anchorChainHeads(deps);
    const anchored = (await anchors.latest(TODAY))?.heads[0];
    heads.setHead(CHAIN, { seq: 3, hash: hashOf(`${CHAIN}/3`), eventId: chainEventId(CHAIN, 3) });
    heads.append(`${TODAY}#1`, 1);
    clock.advance(300_000);

    // Act
    const [today] = await anchorChainHeads(deps);

    // Assess
    expect(today?.heldBack).toEqual([{ chain: CHAIN, reason: 'behind-anchor' }]);
    const latest = await anchors.latest(TODAY);
    expect(latest?.at).toBe(clock.now().toISOString());
    // Held since the anchoring that last took it: what was written past it came after.
    expect(latest?.heads.find((head) => head.chain === CHAIN)).toEqual({ ...anchored, at: FIXED_NOW.toISOString() });
  });

  it('keeps the anchored head of a chain rewritten below it and then grown past it', async () => {
    // Prepare: events 4 and 5 replaced by forged ones, then three more appended
    const { heads, anchors, clock, deps } = setUp();
    heads.append(CHAIN, 5);
    await anchorChainHeads(deps);
    heads.linkAt(CHAIN, chainEventId(CHAIN, 5), undefined);
    heads.linkAt(CHAIN, 'forged-5', { seq: 5, hash: hashOf('forged') });
    heads.setHead(CHAIN, { seq: 8, hash: hashOf('forged 8'), eventId: 'forged-8' });
    clock.advance(300_000);

    // Act
    const [today] = await anchorChainHeads(deps);

    // Assess
    expect(today).toEqual({ day: TODAY, saved: false, final: false, chains: 1, heldBack: [{ chain: CHAIN, reason: 'anchor-mismatch' }] });
    expect((await anchors.latest(TODAY))?.heads).toEqual([{ chain: CHAIN, seq: 5, hash: hashOf(`${CHAIN}/5`), eventId: chainEventId(CHAIN, 5) }]);
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

  it("saves a day's final anchor once, MAX_WRITE_LAG_MS after the day ended, even though nothing moved", async () => {
    // Prepare: the day's last event before midnight, anchored
    const { heads, anchors, clock, deps } = setUp();
    clock.set(new Date(`${TODAY}T23:50:00Z`));
    heads.append(CHAIN, 2);
    await anchorChainHeads(deps);
    const dayEnd = Date.parse(`${TODAY}T00:00:00Z`) + 86_400_000;

    // Act
    clock.set(new Date(dayEnd + MAX_WRITE_LAG_MS - 1));
    const [, early] = await anchorChainHeads(deps);
    clock.set(new Date(dayEnd + MAX_WRITE_LAG_MS));
    const [, closing] = await anchorChainHeads(deps);
    clock.advance(300_000);
    const [, after] = await anchorChainHeads(deps);

    // Assess
    expect([early, closing, after].map((anchoring) => [anchoring?.day, anchoring?.saved, anchoring?.final])).toEqual([
      [TODAY, false, false],
      [TODAY, true, true],
      [TODAY, false, false],
    ]);
    expect((await anchors.latest(TODAY))?.at).toBe(new Date(dayEnd + MAX_WRITE_LAG_MS).toISOString());
  });

  it('saves a new anchor over one from before anchors listed empty chains, even when no head moved', async () => {
    // Prepare
    const { heads, anchors, clock, deps } = setUp();
    const held = [heads.append(CHAIN, 2), heads.append(`${TODAY}#1`, 1)];
    await anchors.save({ day: TODAY, at: FIXED_NOW.toISOString(), heads: held });
    clock.advance(300_000);

    // Act
    const [today] = await anchorChainHeads(deps);

    // Assess: every events-set chain has events, so the list is empty, and says so
    expect(today?.saved).toBe(true);
    expect((await anchors.latest(TODAY))?.empty).toEqual([]);
  });

  it('lists the events-set chains it found empty, and anchors again when one of them gets its first event', async () => {
    // Prepare
    const { heads, anchors, clock, deps } = setUp(['0', '1', 'u0']);
    heads.append(CHAIN, 1);
    await anchorChainHeads(deps);
    const before = await anchors.latest(TODAY);
    heads.append(`${TODAY}#1`, 1);
    clock.advance(300_000);

    // Act
    const [today] = await anchorChainHeads(deps);

    // Assess: uses chains are never listed (their events come late by nature)
    expect(before?.empty).toEqual([{ chain: `${TODAY}#1` }]);
    expect(today?.saved).toBe(true);
    expect((await anchors.latest(TODAY))?.empty).toEqual([]);
  });
});

describe('anchorChainHeads: events dated back into what an anchor holds', () => {
  const LINKED = `${TODAY}#x0`;
  const EMPTY = `${TODAY}#x1`;
  const minutes = (n: number) => new Date(FIXED_NOW.getTime() + n * 60_000).toISOString();

  function setUp() {
    const heads = new InMemoryChainHeads(['x0', 'x1', 'xu0']);
    const anchors = new InMemoryChainAnchorStore();
    const clock = fixedClock(FIXED_NOW);
    return { heads, anchors, clock, deps: { heads, anchors, clock } };
  }

  it.each([
    ['a chain it found empty, started from scratch', EMPTY],
    ['a chain it holds, appended to', LINKED],
  ])('holds back %s with an event dated an hour before the anchor, then never takes it, even once the day is over', async (_what, chain) => {
    // Prepare
    const { heads, anchors, clock, deps } = setUp();
    heads.append(LINKED, 2);
    await anchorChainHeads(deps);
    const before = await anchors.latest(TODAY);
    heads.append(chain, 1, minutes(-60));
    heads.append(chain, 2, minutes(4));
    clock.advance(5 * 60_000);

    // Act
    const [today] = await anchorChainHeads(deps);
    clock.set(new Date(`${TODAY}T23:59:00Z`));
    heads.append(`${TODAY}#xu0`, 1);
    const [later] = await anchorChainHeads(deps);

    // Assess
    expect(today?.heldBack).toEqual([{ chain, reason: 'backdated' }]);
    expect(later?.heldBack).toEqual([{ chain, reason: 'backdated' }]);
    const latest = await anchors.latest(TODAY);
    expect(latest?.at).toBe(clock.now().toISOString());
    // As the first anchor held it, since that anchor: the events after it are judged from then.
    const held = chain === EMPTY ? latest?.empty?.find((entry) => entry.chain === EMPTY) : latest?.heads.find((head) => head.chain === LINKED);
    const was = chain === EMPTY ? before?.empty?.find((entry) => entry.chain === EMPTY) : before?.heads.find((head) => head.chain === LINKED);
    expect(held).toEqual({ ...was, at: FIXED_NOW.toISOString() });
  });

  it('takes a chain whose new events are dated up to the write lag before the anchor (a slow writer)', async () => {
    // Prepare
    const { heads, anchors, clock, deps } = setUp();
    await anchorChainHeads(deps);
    const taken = heads.append(EMPTY, 1, new Date(FIXED_NOW.getTime() - MAX_WRITE_LAG_MS).toISOString());
    clock.advance(5 * 60_000);

    // Act
    const [today] = await anchorChainHeads(deps);

    // Assess
    expect(today?.heldBack).toEqual([]);
    expect((await anchors.latest(TODAY))?.heads).toEqual([taken]);
  });

  it('takes a chain of uses whatever the dates of its new uses (CloudTrail delivers late)', async () => {
    // Prepare
    const { heads, anchors, clock, deps } = setUp();
    heads.append(`${TODAY}#xu0`, 1);
    await anchorChainHeads(deps);
    const taken = heads.append(`${TODAY}#xu0`, 1, minutes(-300));
    clock.advance(5 * 60_000);

    // Act
    const [today] = await anchorChainHeads(deps);

    // Assess
    expect(today?.heldBack).toEqual([]);
    expect((await anchors.latest(TODAY))?.heads).toEqual([taken]);
  });
});

describe('isBackdated: an event past what the anchor holds of its chain', () => {
  const ANCHOR_AT = '2026-06-01T12:00:00.000Z';

  const dated = (at: string) => ({ at, id: `${at}#e1` });

  it.each<[string, { at: unknown; id: unknown }, boolean]>([
    ['dated after the anchor', dated('2026-06-01T12:05:00.000Z'), false],
    ['dated just within the write lag before it', dated(new Date(Date.parse(ANCHOR_AT) - MAX_WRITE_LAG_MS).toISOString()), false],
    ['dated a millisecond more before it', dated(new Date(Date.parse(ANCHOR_AT) - MAX_WRITE_LAG_MS - 1).toISOString()), true],
    ['dated an hour before it', dated('2026-06-01T11:00:00.000Z'), true],
    ['dated after it, with an id of an hour before (ids sort by time)', { at: '2026-06-01T12:05:00.000Z', id: '2026-06-01T11:00:00.000Z#e1' }, true],
    ['dated after it in another ISO form (an offset)', dated('2026-06-01T03:05:00.000-09:00'), true],
    ['with no readable date', dated('yesterday'), true],
    ['with no date at all', { at: undefined, id: 'e1' }, true],
  ])('%s', (_, event, expected) => {
    // Act / Assess
    expect(isBackdated(event, ANCHOR_AT)).toBe(expected);
  });
});
