// Tamper evidence that survives a stolen function role. Whoever can write the audit table can delete
// a chain's newest events and write a head that fits, and the chain alone cannot tell. So the heads
// are copied on a schedule to storage nobody can rewrite (S3 Object Lock in compliance mode), and
// verify compares each chain with its latest copy: a chain may only have grown past what was anchored.
import type { AnchoredHead, ChainAnchor } from './chain-anchor-records.js';
import type { ChainAnchorStore, ChainHeadReader, Clock } from './ports.js';


export type AnchorBreakReason =
  /** The chain's head is behind the anchored one, or gone: its newest events were deleted. */
  | 'behind-anchor'
  /** The chain no longer holds the anchored event at the anchored place: it was rewritten. */
  | 'anchor-mismatch';

/** What a chain holds now, as far as comparing it with its anchored head needs. */
export interface ChainNow {
  readonly head: { readonly seq: number; readonly hash: string } | undefined;
  /**
   * The stored hashes of the chain's events at the anchored seq (several if events were slipped in),
   * or undefined when they cannot be read (an anchor from before heads named their event).
   */
  readonly hashesAtAnchor: readonly string[] | undefined;
}

/** Whether a chain still extends its anchored head, and if not, how it broke. */
export function anchorBreak(anchored: AnchoredHead, now: ChainNow): AnchorBreakReason | undefined {
  const { head, hashesAtAnchor } = now;
  if (!head || head.seq < anchored.seq) return 'behind-anchor';
  if (head.seq === anchored.seq) return head.hash === anchored.hash ? undefined : 'anchor-mismatch';
  if (hashesAtAnchor === undefined) return undefined;
  return hashesAtAnchor.includes(anchored.hash) ? undefined : 'anchor-mismatch';
}

/**
 * How long after its `at` an event of the events set may still be written: the function that dated
 * it runs at most 15 minutes, and clocks differ. Uses are dated by CloudTrail and may arrive hours
 * late, so their chains are not held to it.
 */
export const MAX_WRITE_LAG_MS = 20 * 60_000;

/** Whether `chain` (`<day>#<label>`) is of the events set, whose events are dated when written. */
export const isEventsChain = (chain: string) => /#x?\d+$/.test(chain);

/**
 * Whether an event past what an anchor holds of its chain is dated too long before the anchor was
 * taken for tvm to have written it after: someone dated it back into what the anchor covers. So is
 * one not dated as tvm dates events: `at` in ISO form, and the id starting with it (ids sort by time).
 */
export function isBackdated(event: { readonly at: unknown; readonly id: unknown }, anchorAt: string): boolean {
  const { at, id } = event;
  if (typeof at !== 'string' || typeof id !== 'string' || !id.startsWith(`${at}#`)) return true;
  const time = Date.parse(at);
  return Number.isNaN(time) || new Date(time).toISOString() !== at || time < Date.parse(anchorAt) - MAX_WRITE_LAG_MS;
}

export type HeldBackReason = AnchorBreakReason | 'backdated';

/**
 * What `anchor` holds of `chain`: its links up to `seq` (0: the anchor found it empty), standing
 * since `at` (the anchor's own time, or an older one where it held the chain back). Undefined when
 * the anchor does not say (a chain it did not read, or an anchor from before empty chains were listed).
 */
export function heldByAnchor(anchor: Pick<ChainAnchor, 'at' | 'heads' | 'empty'>, chain: string): { readonly seq: number; readonly at: string } | undefined {
  const head = anchor.heads.find((candidate) => candidate.chain === chain);
  if (head) return { seq: head.seq, at: head.at ?? anchor.at };
  const empty = anchor.empty?.find((candidate) => candidate.chain === chain);
  return empty ? { seq: 0, at: empty.at ?? anchor.at } : undefined;
}

/** One day's anchoring. */
export interface DayAnchoring {
  readonly day: string;
  /** A new anchor was saved (none when nothing changed, unless it is the day's final one). */
  readonly saved: boolean;
  /** The saved anchor is the day's final one: taken after every event of the day was written. */
  readonly final: boolean;
  /** Chains in the anchor. */
  readonly chains: number;
  /**
   * Chains anchored as before, never over what was done to them: they no longer extend their
   * anchored head, or a place written since holds no event, or one dated back. (A legacy chain's
   * time index lagging over a second also looks like a missing place: held once, taken next run.)
   */
  readonly heldBack: readonly { readonly chain: string; readonly reason: HeldBackReason }[];
}

export interface AnchorChainHeadsDeps {
  readonly heads: ChainHeadReader;
  readonly anchors: ChainAnchorStore;
  readonly clock: Clock;
}

const DAY_MS = 86_400_000;
const utcDay = (time: number) => new Date(time).toISOString().slice(0, 10);

/**
 * The scheduled anchoring of the audit trail's chain heads:
 * 1. For today and yesterday (UTC: late writes still reach yesterday's chains after midnight), read
 *    the day's latest anchor and the head of every chain, configured or anchored before.
 * 2. A chain that no longer extends its anchored head (behind it, or past it without the anchored
 *    event where it stood), or whose places written since are not all held by events dated from
 *    the previous anchor on (isBackdated), keeps what the previous anchor holds of it, so a change
 *    is never anchored over and verify keeps reporting it; every other chain takes its current head.
 * 3. Save the day's new anchor, with the events-set chains still empty, when a head moved or that
 *    list changed; and once MAX_WRITE_LAG_MS after the day has ended, even if nothing moved: that
 *    final anchor covers every event of the day, so verify can tell one dated back (isBackdated).
 */
export async function anchorChainHeads(deps: AnchorChainHeadsDeps): Promise<DayAnchoring[]> {
  const now = deps.clock.now();
  const days = [utcDay(now.getTime()), utcDay(now.getTime() - DAY_MS)];
  return Promise.all(days.map((day) => anchorDay(deps, day, now)));
}

async function anchorDay(deps: AnchorChainHeadsDeps, day: string, now: Date): Promise<DayAnchoring> {
  const previous = await deps.anchors.latest(day);
  const anchoredBefore = new Map((previous?.heads ?? []).map((head) => [head.chain, head]));
  const emptyBefore = new Set((previous?.empty ?? []).map((entry) => entry.chain));
  const chains = [...new Set([...deps.heads.chainsOf(day), ...anchoredBefore.keys()])].sort();
  const current = new Map((await deps.heads.readHeads(chains)).map((head) => [head.chain, head]));

  const decided = await Promise.all(
    chains.map(async (chain): Promise<{ head?: AnchoredHead; emptySince?: string; reason?: HeldBackReason }> => {
      const anchored = anchoredBefore.get(chain);
      const head = current.get(chain);
      const held = previous ? heldByAnchor(previous, chain) : undefined;
      // Kept as the previous anchor holds it, since when it did.
      const hold = (reason?: HeldBackReason) => ({
        ...(held ? (anchored ? { head: { ...anchored, at: held.at } } : { emptySince: held.at }) : {}),
        ...(reason ? { reason } : {}),
      });
      if (anchored) {
        // Past the anchored place: the anchored event must still be there, as it was.
        const moved = head !== undefined && head.seq > anchored.seq && anchored.eventId !== undefined;
        const link = moved ? await deps.heads.linkOf(chain, anchored.eventId as string) : undefined;
        const hashesAtAnchor = moved ? (link?.seq === anchored.seq ? [link.hash] : []) : undefined;
        const reason = anchorBreak(anchored, { head, hashesAtAnchor });
        if (reason || !head) return hold(reason);
      } else if (!head) {
        return {};
      }
      // Events written since may not be dated before what the previous anchor holds: each place
      // past it must hold an event dated (and with an id) from then on.
      if (held && isEventsChain(chain) && head.seq > held.seq) {
        const datedFrom = new Date(Date.parse(held.at) - MAX_WRITE_LAG_MS).toISOString();
        const links = await deps.heads.linksAfter(chain, held.seq, { through: head.seq, datedFrom });
        const places = new Set(links.map((link) => link.seq));
        const everyPlace = places.size === head.seq - held.seq && [...places].every((seq) => seq > held.seq && seq <= head.seq);
        if (!everyPlace || links.some((link) => isBackdated(link, held.at))) return hold('backdated');
      }
      return { head };
    }),
  );
  const heads = decided.flatMap(({ head }) => (head ? [head] : []));
  const heldBack = chains.flatMap((chain, i) => {
    const reason = decided[i]?.reason;
    return reason ? [{ chain, reason }] : [];
  });
  const anchoredNow = new Set(heads.map((head) => head.chain));
  const empty = chains.flatMap((chain, i) => {
    if (!isEventsChain(chain) || anchoredNow.has(chain)) return [];
    const emptySince = decided[i]?.emptySince;
    return [{ chain, ...(emptySince ? { at: emptySince } : {}) }];
  });

  const closesAt = Date.parse(day) + DAY_MS + MAX_WRITE_LAG_MS;
  const final = now.getTime() >= closesAt && (!previous || Date.parse(previous.at) < closesAt);
  const changed =
    heads.length !== anchoredBefore.size ||
    heads.some((head) => anchoredBefore.get(head.chain)?.hash !== head.hash) ||
    empty.map(({ chain }) => chain).join() !== [...emptyBefore].join() ||
    (previous !== undefined && previous.empty === undefined);
  const saved = changed || final;
  if (saved) await deps.anchors.save({ day, at: now.toISOString(), heads, empty });
  return { day, saved, final, chains: heads.length, heldBack };
}
