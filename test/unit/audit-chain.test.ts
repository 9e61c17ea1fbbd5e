// The hash chain's math: the canonical form, the hash, linking, and what verifyChain reports for
// each way a stored chain can be tampered with (edited, deleted, inserted items, a lost head).
import { createHash } from 'node:crypto';
import {
  canonicalJson,
  CHAIN_KEYED_GENESIS_HASH,
  GENESIS_HASH,
  hashItem,
  linkItem,
  verifyChain,
  type ChainLink,
} from '../../shared/adapters/audit-chain.js';

const CHAIN = '2026-06-01#2';

type Item = Record<string, unknown> & ChainLink;

/** An unlinked event item as auditItem builds it (the fields that matter here). */
function anItem(n: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const id = `2026-06-01T12:00:0${n}.000Z#e${n}`;
  return {
    PK: 'PRINCIPAL#alice@example.com',
    SK: id,
    GSI3PK: `TIME#${CHAIN}`,
    id,
    type: 'profile.put',
    at: id.slice(0, 24),
    principal: 'alice@example.com',
    requestId: `req-${n}`,
    ...overrides,
  };
}

/** `count` items linked in order, and the head their last write left. */
function aChain(count: number, item: (n: number) => Record<string, unknown> = anItem): { items: Item[]; head: { seq: number; hash: string } } {
  const items: Item[] = [];
  for (let n = 1; n <= count; n++) {
    const last = items[items.length - 1];
    items.push(linkItem(item(n), last ? { seq: last.chainSeq, hash: last.hash } : undefined));
  }
  const last = items[items.length - 1];
  return { items, head: { seq: last?.chainSeq ?? 0, hash: last?.hash ?? GENESIS_HASH } };
}

const at = (items: Item[], index: number): Item => {
  const item = items[index];
  if (!item) throw new Error(`no item ${index}`);
  return item;
};

describe('canonicalJson', () => {
  it('sorts keys at every level, keeps array order and drops undefined, as DynamoDB stores items', () => {
    // Prepare
    const value = { b: 1, a: { d: [3, undefined, { z: 1, y: undefined, x: null }], c: 'x' }, e: undefined };

    // Act
    const json = canonicalJson(value);

    // Assess
    expect(json).toBe('{"a":{"c":"x","d":[3,{"x":null,"z":1}]},"b":1}');
  });
});

describe('hashItem', () => {
  it('is the SHA-256 of prevHash, a newline and the canonical item without its hash', () => {
    // Prepare
    const item = { ...anItem(1), chainSeq: 1, prevHash: GENESIS_HASH, hash: 'ignored' };
    const { hash: _hash, ...content } = item;
    const expected = createHash('sha256').update(`${GENESIS_HASH}\n${canonicalJson(content)}`).digest('hex');

    // Act
    const hash = hashItem(item);

    // Assess
    expect(hash).toBe(expected);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not depend on key order', () => {
    // Prepare
    const item = { ...anItem(1), chainSeq: 1, prevHash: GENESIS_HASH };
    const reversed = Object.fromEntries(Object.entries(item).reverse());

    // Act
    const hashes = [hashItem(item), hashItem(reversed)];

    // Assess
    expect(hashes[0]).toBe(hashes[1]);
  });
});

describe('linkItem', () => {
  it('starts a chain at seq 1 on the genesis hash and links each next item to the previous hash', () => {
    // Prepare
    const first = linkItem(anItem(1), undefined);

    // Act
    const second = linkItem(anItem(2), { seq: first.chainSeq, hash: first.hash });

    // Assess
    expect(first).toMatchObject({ chainSeq: 1, prevHash: GENESIS_HASH, hash: hashItem(first) });
    expect(second).toMatchObject({ chainSeq: 2, prevHash: first.hash, hash: hashItem(second) });
  });

  it('relinks an item that was linked before (a retry after a lost head race)', () => {
    // Prepare
    const stale = linkItem(anItem(2), { seq: 1, hash: 'a'.repeat(64) });

    // Act
    const relinked = linkItem(stale, { seq: 7, hash: 'b'.repeat(64) });

    // Assess
    expect(relinked).toMatchObject({ chainSeq: 8, prevHash: 'b'.repeat(64), hash: hashItem(relinked) });
  });
});

describe('verifyChain', () => {
  it('finds an intact chain intact, whatever order its items are read in', () => {
    // Prepare
    const { items, head } = aChain(4);

    // Act
    const report = verifyChain([...items].reverse(), head, CHAIN);

    // Assess
    expect(report).toEqual({ checked: 4, broken: [] });
  });

  it('finds nothing in an empty chain without a head', () => {
    // Act
    const report = verifyChain([], undefined, CHAIN);

    // Assess
    expect(report).toEqual({ checked: 0, broken: [] });
  });

  it('reports an edited item as hash-mismatch, and only that item', () => {
    // Prepare
    const { items, head } = aChain(4);
    const edited = items.map((item, i) => (i === 1 ? { ...item, type: 'profile.deleted' } : item));

    // Act
    const report = verifyChain(edited, head, CHAIN);

    // Assess
    expect(report.broken).toEqual([{ id: at(items, 1).id, reason: 'hash-mismatch' }]);
  });

  it('reports an edited and rehashed item where its successor no longer links to it', () => {
    // Prepare
    const { items, head } = aChain(4);
    const rehashed = linkItem({ ...at(items, 1), type: 'profile.deleted' }, { seq: 1, hash: at(items, 0).hash });
    const tampered = items.map((item, i) => (i === 1 ? rehashed : item));

    // Act
    const report = verifyChain(tampered, head, CHAIN);

    // Assess
    expect(report.broken).toEqual([{ id: at(items, 2).id, reason: 'link-broken' }]);
  });

  it('reports a deleted item at the item after the gap', () => {
    // Prepare
    const { items, head } = aChain(4);

    // Act
    const report = verifyChain(items.filter((_, i) => i !== 1), head, CHAIN);

    // Assess
    expect(report).toEqual({ checked: 3, broken: [{ id: at(items, 2).id, reason: 'missing-before' }] });
  });

  it('reports a deleted first item', () => {
    // Prepare
    const { items, head } = aChain(3);

    // Act
    const report = verifyChain(items.slice(1), head, CHAIN);

    // Assess
    expect(report.broken).toEqual([{ id: at(items, 1).id, reason: 'missing-before' }]);
  });

  it('reports a deleted last item as the head disagreeing, naming the chain', () => {
    // Prepare
    const { items, head } = aChain(3);

    // Act
    const report = verifyChain(items.slice(0, 2), head, CHAIN);

    // Assess
    expect(report.broken).toEqual([{ id: `chain:${CHAIN}`, reason: 'head-mismatch' }]);
  });

  it('reports an inserted item without chain fields as not-chained', () => {
    // Prepare
    const { items, head } = aChain(2);
    const forged = anItem(5, { type: 'grant.created' });

    // Act
    const report = verifyChain([...items, forged], head, CHAIN);

    // Assess
    expect(report).toEqual({ checked: 2, broken: [{ id: forged.id, reason: 'not-chained' }] });
  });

  it('reports an inserted item claiming a taken place as duplicate-seq, keeping the original', () => {
    // Prepare
    const { items, head } = aChain(3);
    const forged = linkItem(anItem(9, { type: 'grant.created' }), { seq: 1, hash: at(items, 0).hash });

    // Act
    const report = verifyChain([forged, ...items], head, CHAIN);

    // Assess
    expect(forged.chainSeq).toBe(2);
    expect(report.broken).toEqual([{ id: forged.id, reason: 'duplicate-seq' }]);
  });

  it('reports an item linked past the head as beyond-head', () => {
    // Prepare
    const { items, head } = aChain(2);
    const forged = linkItem(anItem(3), { seq: head.seq, hash: head.hash });

    // Act
    const report = verifyChain([...items, forged], head, CHAIN);

    // Assess
    expect(report).toEqual({ checked: 2, broken: [{ id: forged.id, reason: 'beyond-head' }] });
  });

  it('reports events without a head as head-missing', () => {
    // Prepare
    const { items } = aChain(2);

    // Act
    const report = verifyChain(items, undefined, CHAIN);

    // Assess
    expect(report.broken).toEqual([{ id: `chain:${CHAIN}`, reason: 'head-missing' }]);
  });

  it('reports an item moved into the chain from another one (its keys are hashed too)', () => {
    // Prepare
    const { items, head } = aChain(3);
    const moved = items.map((item, i) => (i === 2 ? { ...item, GSI3PK: 'TIME#2026-06-01#0' } : item));

    // Act
    const report = verifyChain(moved, head, CHAIN);

    // Assess
    expect(report.broken).toEqual([{ id: at(items, 2).id, reason: 'hash-mismatch' }]);
  });
});

describe('a chain-keyed chain', () => {
  const LINK_CHAIN = '2026-06-01#x2';
  /** An unlinked item as chainKeyedItem builds it (the fields that matter here). */
  const aLinkItem = (n: number): Record<string, unknown> => {
    const { GSI3PK: _time, ...item } = anItem(n);
    return { ...item, PK: 'LINK#2026-06-01#2', SK: `SEQ#00000000000${n}`, XPK3: 'TIME#2026-06-01#2' };
  };
  const hexOf = (base64url: string) => Buffer.from(base64url, 'base64url').toString('hex');

  it('hashes in base64url, from the same 32 zero bytes as a legacy chain', () => {
    // Act
    const first = linkItem(aLinkItem(1), undefined);
    const { hash: _hash, ...content } = first;

    // Assess
    expect(first.prevHash).toBe(CHAIN_KEYED_GENESIS_HASH);
    expect(hexOf(CHAIN_KEYED_GENESIS_HASH)).toBe(GENESIS_HASH);
    expect(first.hash).toMatch(/^[\w-]{43}$/);
    expect(hexOf(first.hash)).toBe(createHash('sha256').update(`${CHAIN_KEYED_GENESIS_HASH}\n${canonicalJson(content)}`).digest('hex'));
    expect(hashItem(first)).toBe(first.hash);
  });

  it('verifies intact', () => {
    // Prepare
    const { items, head } = aChain(3, aLinkItem);

    // Act
    const report = verifyChain(items, head, LINK_CHAIN);

    // Assess
    expect(report).toEqual({ checked: 3, broken: [] });
  });

  it('reports an item whose hash is re-encoded in hex, the same digest (hash-mismatch, and link-broken after it)', () => {
    // Prepare
    const { items, head } = aChain(3, aLinkItem);
    const reencoded = items.map((item, i) => (i === 1 ? { ...item, hash: hexOf(item.hash) } : item));

    // Act
    const report = verifyChain(reencoded, head, LINK_CHAIN);

    // Assess
    expect(report.broken).toEqual([
      { id: at(items, 1).id, reason: 'hash-mismatch' },
      { id: at(items, 2).id, reason: 'link-broken' },
    ]);
  });

  it('reports a first item linked to the legacy (hex) genesis (link-broken)', () => {
    // Prepare
    const first = aLinkItem(1);
    const unlinked = { ...first, chainSeq: 1, prevHash: GENESIS_HASH };
    const hexRooted = { ...unlinked, hash: hashItem(unlinked) };

    // Act
    const report = verifyChain([hexRooted], { seq: 1, hash: hexRooted.hash }, LINK_CHAIN);

    // Assess
    expect(report.broken).toEqual([{ id: first.id, reason: 'link-broken' }]);
  });
});
