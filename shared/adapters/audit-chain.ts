// Tamper evidence for the audit table: one hash chain per time partition (UTC day × shard), so
// writers on different shards never wait for each other. Every event item carries its place in the
// chain (`chainSeq`, 1-based), the previous item's hash (`prevHash`) and its own `hash`:
//
//   hash = sha256(prevHash + "\n" + canonicalJson(stored item without `hash`))
//
// written in hex (64 characters) in a legacy chain and in base64url (43) in a chain-keyed one, whose
// items must fit one write unit (1 KB). A chain's first event links to its layout's genesis hash, 32
// zero bytes: 64 `0`s in hex, 43 `A`s in base64url. A legacy chain and a chain-keyed one are never
// one chain (audit-keys.ts), so a hash in the other layout's encoding is simply a wrong hash.
//
// The hashed item includes the keys (PK, SK, GSI keys), so an event moved to another chain or
// principal breaks too. The chain's head item records the last link, so a deleted newest event
// is caught as well. Without a secret key anyone who can write the table can rebuild a chain
// from scratch; the chain proves that no single item was edited, removed or slipped in by
// a writer that did not also rewrite every later link and the head.
import { createHash } from 'node:crypto';
import type { AnchorBreakReason } from '../domain/chain-anchors.js';

/** The `prevHash` of a legacy chain's first event. */
export const GENESIS_HASH = '0'.repeat(64);
/** The `prevHash` of a chain-keyed chain's first event: the same 32 zero bytes, in base64url. */
export const CHAIN_KEYED_GENESIS_HASH = 'A'.repeat(43);

/** Whether an item is a chain-keyed event (else a legacy one, or no event): what its chain's hashes are written in. */
export const isChainKeyed = (item: Readonly<Record<string, unknown>>) => typeof item.PK === 'string' && item.PK.startsWith('LINK#');

/** The `prevHash` of the first event of the chain `item` belongs to. */
export const genesisHashOf = (item: Readonly<Record<string, unknown>>) => (isChainKeyed(item) ? CHAIN_KEYED_GENESIS_HASH : GENESIS_HASH);

/** The last link of a chain, as its head item stores it. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
  /** When the head was written (the writer's clock): a head written moments ago is a busy chain. */
  readonly at: string;
  /** The id of the event at `seq` (heads written before anchoring lack it): what an anchor names. */
  readonly eventId?: string;
}

export interface ChainLink {
  readonly chainSeq: number;
  readonly prevHash: string;
  readonly hash: string;
}

/** One finding of `verifyChain`: an event id, or `chain:<day>#<shard>` for the chain as a whole. */
export interface ChainBreak {
  readonly id: string;
  readonly reason: ChainBreakReason;
}

export type ChainBreakReason =
  /** The item's content no longer matches its hash: it was edited. */
  | 'hash-mismatch'
  /** The item's prevHash is not its predecessor's hash: the predecessor was replaced or rehashed. */
  | 'link-broken'
  /** Sequence numbers skip before this item: the event(s) before it were deleted. */
  | 'missing-before'
  /** Another item already holds this item's sequence number: one of them was slipped in. */
  | 'duplicate-seq'
  /** The item has no (valid) chain fields: it was not written by tvm. */
  | 'not-chained'
  /** The item is past the head, which every tvm write moves in the same transaction. */
  | 'beyond-head'
  /** The head does not name the last link: the newest event(s) were deleted or rehashed. */
  | 'head-mismatch'
  /** Events exist but the head does not. */
  | 'head-missing'
  /**
   * A chain on a shard tvm is not configured to write, which no anchor names, holds events: forged,
   * or written before the shard count was lowered (anchors name such chains; verify checks those).
   */
  | 'unconfigured-chain'
  /**
   * An event of the events set past what the day's anchor holds of its chain (its anchored head, or
   * none when the anchor found the chain empty), dated too long before the anchor for tvm to have
   * written it after (chain-anchors.ts isBackdated): slipped in and dated back.
   */
  | 'backdated'
  /**
   * The item hashes right, but its keys are not the ones tvm gives its content (another place in its
   * chain, another day, another time partition): moved, or made to sort where readers miss it.
   */
  | 'misplaced'
  /** The chain no longer extends its head as anchored outside the table (`behind-anchor`, `anchor-mismatch`). */
  | AnchorBreakReason;

export interface ChainReport {
  /** Events whose hash and link were checked. */
  readonly checked: number;
  readonly broken: ChainBreak[];
}

/** JSON with object keys sorted at every level and undefined dropped, as DynamoDB stores it. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}

/** The hash an item should carry: over its content (hash excluded), chained to its prevHash. */
export function hashItem(item: Readonly<Record<string, unknown>>): string {
  const { hash: _hash, ...content } = item;
  return createHash('sha256')
    .update(`${String(item.prevHash)}\n${canonicalJson(content)}`)
    .digest(isChainKeyed(item) ? 'base64url' : 'hex');
}

/** `item` as the next link after `previous` (no head yet: the chain's first event). */
export function linkItem(
  item: Readonly<Record<string, unknown>>,
  previous: Pick<ChainHead, 'seq' | 'hash'> | undefined,
): Record<string, unknown> & ChainLink {
  const { hash: _hash, ...content } = item;
  const linked = { ...content, chainSeq: (previous?.seq ?? 0) + 1, prevHash: previous?.hash ?? genesisHashOf(content) };
  return { ...linked, hash: hashItem(linked) };
}

/**
 * Checks one chain: every item's hash, every link, the sequence without gaps or doubles, and the
 * head naming the last link. `items` are the raw items of the chain's partition, in any order.
 */
export function verifyChain(
  items: readonly Readonly<Record<string, unknown>>[],
  head: Pick<ChainHead, 'seq' | 'hash'> | undefined,
  chainId: string,
): ChainReport {
  const broken: ChainBreak[] = [];
  const report = (item: Readonly<Record<string, unknown>>, reason: ChainBreakReason) =>
    broken.push({ id: String(item.id ?? item.SK), reason });

  const linked: (Readonly<Record<string, unknown>> & ChainLink)[] = [];
  for (const item of items) {
    if (isLinked(item)) linked.push(item);
    else report(item, 'not-chained');
  }
  if (!head && items.length > 0) broken.push({ id: `chain:${chainId}`, reason: 'head-missing' });
  const limit = head?.seq ?? Infinity;
  const inChain = linked.filter((item) => item.chainSeq <= limit);
  for (const item of linked) if (item.chainSeq > limit) report(item, 'beyond-head');

  const bySeq = new Map<number, (typeof inChain)[number][]>();
  for (const item of inChain) bySeq.set(item.chainSeq, [...(bySeq.get(item.chainSeq) ?? []), item]);

  let expectedSeq = 1;
  // Until the first link is walked, the genesis hash of the item's own layout.
  let linkedTo: string | undefined;
  const expectedPrevOf = (item: Readonly<Record<string, unknown>>) => linkedTo ?? genesisHashOf(item);
  let last: ChainLink | undefined;
  for (const seq of [...bySeq.keys()].sort((a, b) => a - b)) {
    const candidates = bySeq.get(seq) ?? [];
    const successorLinks = new Set((bySeq.get(seq + 1) ?? []).map((item) => item.prevHash));
    // Of several items claiming one place, the original is the one that hashes right, links to its
    // predecessor and is linked to by its successor; the others were slipped in.
    const score = (item: (typeof candidates)[number]) =>
      Number(hashItem(item) === item.hash) + Number(item.prevHash === expectedPrevOf(item)) + Number(successorLinks.has(item.hash));
    const original = [...candidates].sort((a, b) => score(b) - score(a))[0];
    if (!original) continue;
    for (const other of candidates) if (other !== original) report(other, 'duplicate-seq');

    if (hashItem(original) !== original.hash) report(original, 'hash-mismatch');
    // Across a gap the link cannot be checked: the item it should link to is gone.
    if (seq > expectedSeq) report(original, 'missing-before');
    else if (original.prevHash !== expectedPrevOf(original)) report(original, 'link-broken');
    // The stored hash carries the chain on, so one edited item is reported once, not with its successor.
    expectedSeq = seq + 1;
    linkedTo = original.hash;
    last = original;
  }
  if (head && (last?.chainSeq !== head.seq || last.hash !== head.hash)) {
    broken.push({ id: `chain:${chainId}`, reason: 'head-mismatch' });
  }
  return { checked: inChain.length, broken };
}

function isLinked(item: Readonly<Record<string, unknown>>): item is Readonly<Record<string, unknown>> & ChainLink {
  return (
    Number.isInteger(item.chainSeq) &&
    (item.chainSeq as number) >= 1 &&
    typeof item.prevHash === 'string' &&
    typeof item.hash === 'string'
  );
}
