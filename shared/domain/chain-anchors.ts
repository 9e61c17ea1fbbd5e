// Tamper evidence that survives a stolen function role. Whoever can write the audit table can delete
// a chain's newest events and write a head that fits, and the chain alone cannot tell. So the heads
// are copied on a schedule to storage nobody can rewrite (S3 Object Lock in compliance mode), and
// verify compares each chain with its latest copy: a chain may only have grown past what was anchored.
import type { AnchoredHead } from './chain-anchor-records.js';
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

/** One day's anchoring. */
export interface DayAnchoring {
  readonly day: string;
  /** A new anchor was saved (none when no head moved). */
  readonly saved: boolean;
  /** Chains in the anchor. */
  readonly chains: number;
  /** Chains that no longer extend their anchored head: anchored as before, never over the rewrite. */
  readonly heldBack: readonly { readonly chain: string; readonly reason: AnchorBreakReason }[];
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
 *    event where it stood) keeps the anchored head, so a rewrite is never anchored over and verify
 *    keeps reporting it; every other chain takes its current head.
 * 3. Save the day's new anchor when a head moved.
 */
export async function anchorChainHeads(deps: AnchorChainHeadsDeps): Promise<DayAnchoring[]> {
  const now = deps.clock.now();
  const days = [utcDay(now.getTime()), utcDay(now.getTime() - DAY_MS)];
  return Promise.all(days.map((day) => anchorDay(deps, day, now)));
}

async function anchorDay(deps: AnchorChainHeadsDeps, day: string, now: Date): Promise<DayAnchoring> {
  const previous = await deps.anchors.latest(day);
  const anchoredBefore = new Map((previous?.heads ?? []).map((head) => [head.chain, head]));
  const chains = [...new Set([...deps.heads.chainsOf(day), ...anchoredBefore.keys()])].sort();
  const current = new Map((await deps.heads.readHeads(chains)).map((head) => [head.chain, head]));

  const decided = await Promise.all(
    chains.map(async (chain): Promise<{ head?: AnchoredHead; reason?: AnchorBreakReason }> => {
      const anchored = anchoredBefore.get(chain);
      const head = current.get(chain);
      if (!anchored) return head ? { head } : {};
      // Past the anchored place: the anchored event must still be there, as it was.
      const moved = head !== undefined && head.seq > anchored.seq && anchored.eventId !== undefined;
      const link = moved ? await deps.heads.linkOf(chain, anchored.eventId as string) : undefined;
      const hashesAtAnchor = moved ? (link?.seq === anchored.seq ? [link.hash] : []) : undefined;
      const reason = anchorBreak(anchored, { head, hashesAtAnchor });
      return reason || !head ? { head: anchored, ...(reason ? { reason } : {}) } : { head };
    }),
  );
  const heads = decided.flatMap(({ head }) => (head ? [head] : []));
  const heldBack = chains.flatMap((chain, i) => {
    const reason = decided[i]?.reason;
    return reason ? [{ chain, reason }] : [];
  });

  const changed = heads.length !== anchoredBefore.size || heads.some((head) => anchoredBefore.get(head.chain)?.hash !== head.hash);
  if (changed) await deps.anchors.save({ day, at: now.toISOString(), heads });
  return { day, saved: changed, chains: heads.length, heldBack };
}
