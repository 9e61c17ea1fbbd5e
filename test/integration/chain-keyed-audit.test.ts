// The chain-keyed audit layout against the real DynamoDB Local: one item per event, keyed by its
// place in its chain (LINK#<day>#<shard> / SEQ#<seq>), written by one conditional PutItem. The
// attacks: two processes racing for one place, a stale cached head, items edited, forged, deleted
// or cut off the tail behind tvm's back; and reads after the switch from the legacy layout that
// must still find every legacy event. Every test gets fresh tables.
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CHAIN_KEYED_GENESIS_HASH, hashItem, isChainKeyed, linkItem } from '../../shared/adapters/audit-chain.js';
import { auditItem, chainKeyedItem, linkPk, seqSk } from '../../shared/adapters/audit-keys.js';
import { DynamoDbAuditLog } from '../../shared/adapters/dynamodb-audit-log.js';
import { DynamoDbChainHeadReader } from '../../shared/adapters/dynamodb-chain-head-reader.js';
import { AuditChains } from '../../shared/adapters/dynamodb-transactions.js';
import { FileSystemChainAnchorStore } from '../../shared/adapters/file-system-chain-anchor-store.js';
import { adminEvent, type AuditEvent } from '../../shared/domain/audit.js';
import { anchorChainHeads, MAX_WRITE_LAG_MS } from '../../shared/domain/chain-anchors.js';
import type { ChainAnchor } from '../../shared/domain/chain-anchor-records.js';
import { aPrincipal, FIXED_NOW } from '../fixtures/builders.js';
import { anIssuance, aUse, KEY, ROLE_ARN } from '../fixtures/key-events.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getRawItem, queryRawPartition, useDynamoDbLocal, type TestTables } from './support/dynamodb.js';

const TODAY = '2026-06-01';
const ADMIN = aPrincipal({ id: 'admin@example.com', groups: ['tvm-admin'] });
const dynamodb = useDynamoDbLocal();

let tables: TestTables;
let dir: string;

beforeEach(async () => {
  tables = await dynamodb().createTestTables();
  dir = mkdtempSync(join(tmpdir(), 'tvm-anchors-'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A writer of its own: its own head cache and leases, as another Lambda instance has. */
function aProcess(layout: 'chain-keyed' | 'legacy' = 'chain-keyed', shards = 1, warn?: (message: string, data: Record<string, unknown>) => void): DynamoDbAuditLog {
  return new DynamoDbAuditLog(dynamodb().documentClient, {
    ...(warn ? { warn } : {}),
    tableName: tables.audit,
    shards,
    useShards: 1,
    layout,
    chains: new AuditChains({ raceBudgetMs: 60_000 }),
    useChains: new AuditChains({ raceBudgetMs: 60_000 }),
    now: () => FIXED_NOW,
    pause: async () => undefined,
  });
}

const change = (seconds: number, unique = `c${seconds}`, profile = 'dev-readonly'): AuditEvent =>
  adminEvent(new Date(FIXED_NOW.getTime() - seconds * 1000), unique, 'profile.put', ADMIN, { requestId: `r-${unique}` }, { profile });

const chainItems = () => queryRawPartition(dynamodb().documentClient, tables.audit, linkPk(TODAY, '0'));
const itemAt = (seq: number) => getRawItem(dynamodb().documentClient, tables.audit, { PK: linkPk(TODAY, '0'), SK: seqSk(seq) });
const verifyToday = (log: DynamoDbAuditLog, anchors: Parameters<DynamoDbAuditLog['verify']>[2] = []) =>
  log.verify(new Date(`${TODAY}T00:00:00Z`), new Date(`${TODAY}T23:59:59Z`), anchors);

describe('chain-keyed writes', () => {
  it('two processes racing for the same places: exactly one item per place, every event chained, the chain intact', async () => {
    // Prepare
    const [first, second] = [aProcess(), aProcess()];
    const events = Array.from({ length: 40 }, (_, i) => change(100 - i, `race${i}`));

    // Act
    await Promise.all(events.map((event, i) => (i % 2 === 0 ? first : second).append(event)));

    // Assess
    const items = await chainItems();
    expect(items.map((item) => item.chainSeq)).toEqual(events.map((_, i) => i + 1));
    expect(items.map((item) => item.SK)).toEqual(events.map((_, i) => seqSk(i + 1)));
    expect(new Set(items.map((item) => item.id))).toEqual(new Set(events.map((event) => event.id)));
    for (const [i, item] of items.entries()) {
      expect(item.prevHash).toBe(i === 0 ? CHAIN_KEYED_GENESIS_HASH : items[i - 1]?.hash);
      expect(item.hash).toBe(hashItem(item));
    }
    expect(await verifyToday(first)).toEqual({ ok: true, checked: 40, broken: [] });
  }, 30_000);

  it('a stale cached head: the write lands at the next free place, linked to the item really there', async () => {
    // Prepare: this process saw the chain at 1; another then wrote 2 and 3
    const stale = aProcess();
    const other = aProcess();
    await stale.append(change(50, 'a'));
    await other.append(change(40, 'b'));
    await other.append(change(30, 'c'));

    // Act
    await stale.append(change(20, 'd'));

    // Assess
    const [third, fourth] = [await itemAt(3), await itemAt(4)];
    expect(fourth).toMatchObject({ id: change(20, 'd').id, chainSeq: 4, prevHash: third?.hash });
    expect(await chainItems()).toHaveLength(4);
    expect((await verifyToday(stale)).ok).toBe(true);
  });

  it('a record with a change is one transaction of the change and the event item, nothing else', async () => {
    // Prepare
    const log = aProcess();
    await log.append(change(10, 'first'));

    // Act: a use recorded once per CloudTrail event id, and its key's first counted use named
    const use = aUse(anIssuance(), { eventTime: '2026-06-01T11:59:00Z' });
    const written = await log.append(use, { onceKey: 'cloudtrail:ct-1', firstCountedUse: true });
    const again = await log.append(use, { onceKey: 'cloudtrail:ct-1', firstCountedUse: true });

    // Assess: the marker names where the use landed, and the use is found through it
    expect([written, again]).toEqual(['appended', 'duplicate']);
    const [stored] = await queryRawPartition(dynamodb().documentClient, tables.audit, linkPk(TODAY, 'u0'));
    expect(await getRawItem(dynamodb().documentClient, tables.audit, { PK: `FIRSTUSE#${KEY}`, SK: 'FIRSTUSE' })).toMatchObject({
      usePk: stored?.PK,
      useSk: stored?.SK,
    });
    expect(await log.firstCountedUse(KEY)).toEqual(expect.objectContaining({ id: use.id }));
  });
});

async function aChainOfThree(): Promise<DynamoDbAuditLog> {
  const log = aProcess();
  for (const [i, seconds] of [30, 20, 10].entries()) await log.append(change(seconds, `t${i}`));
  return log;
}

describe('chain-keyed tamper evidence', () => {
  it('catches an edited item (hash-mismatch)', async () => {
    // Prepare
    const log = await aChainOfThree();
    await dynamodb().documentClient.send(
      new UpdateCommand({
        TableName: tables.audit,
        Key: { PK: linkPk(TODAY, '0'), SK: seqSk(2) },
        UpdateExpression: 'SET #p = :p',
        ExpressionAttributeNames: { '#p': 'profile' },
        ExpressionAttributeValues: { ':p': 'prod-admin' },
      }),
    );

    // Act
    const report = await verifyToday(log);

    // Assess
    expect(report.broken).toEqual([{ id: change(20, 't1').id, reason: 'hash-mismatch' }]);
  });

  it('catches a forged item rehashed to fit (link-broken at its successor)', async () => {
    // Prepare: the item at 2 replaced by one naming someone else, its own hash recomputed
    const log = await aChainOfThree();
    const original = (await itemAt(2)) as Record<string, unknown>;
    const forged: Record<string, unknown> = { ...original, principal: 'innocent@example.com' };
    forged.hash = hashItem(forged);
    await dynamodb().documentClient.send(new PutCommand({ TableName: tables.audit, Item: forged }));

    // Act
    const report = await verifyToday(log);

    // Assess
    expect(report.broken).toEqual([{ id: change(10, 't2').id, reason: 'link-broken' }]);
  });

  it('catches an item whose hash is re-encoded in hex, the same digest (hash-mismatch), and readers leave it out', async () => {
    // Prepare
    const warnings: Record<string, unknown>[] = [];
    await aChainOfThree();
    const log = aProcess('chain-keyed', 1, (_message, data) => warnings.push(data));
    const original = (await itemAt(2)) as Record<string, unknown>;
    const hex = Buffer.from(String(original.hash), 'base64url').toString('hex');
    await dynamodb().documentClient.send(new PutCommand({ TableName: tables.audit, Item: { ...original, hash: hex } }));

    // Act
    const report = await verifyToday(log);
    const page = await log.query({ principal: ADMIN.id, limit: 10 });

    // Assess
    expect(report.broken).toEqual([
      { id: change(20, 't1').id, reason: 'hash-mismatch' },
      { id: change(10, 't2').id, reason: 'link-broken' },
    ]);
    expect(page.events.map((event) => event.id)).toEqual([change(10, 't2').id, change(30, 't0').id]);
    expect(warnings).toContainEqual(expect.objectContaining({ id: change(20, 't1').id, PK: original.PK, SK: original.SK, XPK3: original.XPK3 }));
  });

  it('catches a deleted item (missing-before, at the item after it)', async () => {
    // Prepare
    const log = await aChainOfThree();
    await dynamodb().documentClient.send(new DeleteCommand({ TableName: tables.audit, Key: { PK: linkPk(TODAY, '0'), SK: seqSk(2) } }));

    // Act
    const report = await verifyToday(log);

    // Assess
    expect(report.broken).toEqual([{ id: change(10, 't2').id, reason: 'missing-before' }]);
  });

  it('catches a truncated tail by the anchors (behind-anchor), which the chain alone cannot', async () => {
    // Prepare: the three anchored, then the newest deleted
    const log = await aChainOfThree();
    const heads = new DynamoDbChainHeadReader(dynamodb().documentClient, { tableName: tables.audit, shards: 1, useShards: 1 });
    const anchors = new FileSystemChainAnchorStore(dir);
    const clock = { now: () => FIXED_NOW };
    await anchorChainHeads({ heads, anchors, clock });
    await dynamodb().documentClient.send(new DeleteCommand({ TableName: tables.audit, Key: { PK: linkPk(TODAY, '0'), SK: seqSk(3) } }));
    const anchored = (await anchors.latest(TODAY)) ?? undefined;

    // Act
    const alone = await verifyToday(log);
    const withAnchors = await verifyToday(log, anchored ? [anchored] : []);

    // Assess
    expect(anchored?.heads).toEqual([{ chain: `${TODAY}#x0`, seq: 3, hash: expect.any(String), eventId: change(10, 't2').id }]);
    expect(alone.ok).toBe(true);
    expect(withAnchors.broken).toEqual([{ id: `chain:${TODAY}#x0`, reason: 'behind-anchor' }]);
  });
});

describe('chains tvm does not write', () => {
  // Whoever can write the table can start a chain of their own on a shard tvm is not configured to
  // write: internally consistent, so only where it stands gives it away. Verify must look there.
  const forgedIssuance = () => anIssuance({ principal: 'innocent@example.com', accessKeyId: 'ASIAFORGEDKEY0000001' });
  const forge = async (item: Record<string, unknown>) => dynamodb().documentClient.send(new PutCommand({ TableName: tables.audit, Item: item }));

  it.each([
    ['a chain-keyed chain', () => linkItem(chainKeyedItem(forgedIssuance(), 5, 1), undefined), `${TODAY}#x5`],
    ['a legacy chain, head and all', () => linkItem(auditItem(forgedIssuance(), 7), undefined), `${TODAY}#7`],
    ['a chain-keyed chain of uses', () => linkItem(chainKeyedItem(aUse(anIssuance(), { eventTime: '2026-06-01T11:10:00Z' }), 3, 1), undefined), `${TODAY}#xu3`],
  ])('reports %s started on a shard beyond the configured ones (unconfigured-chain)', async (_what, forged, chain) => {
    // Prepare: a real chain on the one configured shard, and the forgery beside it
    const log = await aChainOfThree();
    const item = forged();
    await forge(item);
    if (!isChainKeyed(item)) await forge({ PK: `CHAIN#${chain}`, SK: 'HEAD', seq: 1, hash: item.hash, at: FIXED_NOW.toISOString() });

    // Act
    const report = await verifyToday(log);

    // Assess
    expect(report.broken).toEqual([{ id: `chain:${chain}`, reason: 'unconfigured-chain' }]);
  });

  it('does not report a chain beyond the configured shards that an anchor names (shards lowered since): it checks it', async () => {
    // Prepare: shard 0 written by a process configured for one shard; shard 1 as one configured for two wrote it, then anchored
    const narrow = await aChainOfThree();
    let previous: { seq: number; hash: string } | undefined;
    for (const [i, seconds] of [35, 25, 15].entries()) {
      const item = linkItem(chainKeyedItem(change(seconds, `wide${i}`), 1, i + 1), previous);
      await forge(item);
      previous = { seq: item.chainSeq, hash: item.hash };
    }
    const heads = new DynamoDbChainHeadReader(dynamodb().documentClient, { tableName: tables.audit, shards: 2, useShards: 1 });
    const anchors = new FileSystemChainAnchorStore(dir);
    await anchorChainHeads({ heads, anchors, clock: { now: () => FIXED_NOW } });
    const anchored = await anchors.latest(TODAY);

    // Act
    const withAnchor = await verifyToday(narrow, anchored ? [anchored] : []);
    const withoutAnchor = await verifyToday(narrow);

    // Assess
    expect(anchored?.heads.map((head) => head.chain).sort()).toEqual([`${TODAY}#x0`, `${TODAY}#x1`]);
    expect(withAnchor).toEqual({ ok: true, checked: 6, broken: [] });
    expect(withoutAnchor.broken).toEqual([{ id: `chain:${TODAY}#x1`, reason: 'unconfigured-chain' }]);
  });

  it('leaves out of every read an item on a shard past the most any configuration has (64)', async () => {
    // Prepare
    const log = aProcess();
    await forge(linkItem(chainKeyedItem(forgedIssuance(), 99, 1), undefined));

    // Act
    const page = await log.query({ principal: 'innocent@example.com', limit: 10 });

    // Assess
    expect(page.events).toEqual([]);
  });
});

describe('chains started after their day was anchored', () => {
  // A configured shard may still be empty when its day is anchored. Whoever can write the table can
  // then start a chain there from scratch, dated back into what the anchor already covers: the chain
  // is consistent in itself and no anchor names it, so only its dates give it away.
  const forgedIssuance = (at: string) => ({ ...anIssuance({ principal: 'innocent@example.com', accessKeyId: 'ASIAFORGEDKEY0000001' }), at });
  const forge = async (item: Record<string, unknown>) => dynamodb().documentClient.send(new PutCommand({ TableName: tables.audit, Item: item }));
  const HOUR_BEFORE = new Date(FIXED_NOW.getTime() - 3_600_000).toISOString();
  const minutesLater = (minutes: number) => new Date(FIXED_NOW.getTime() + minutes * 60_000);

  /** The scheduled anchoring at `at`, configured for `shards` events shards, its anchors in `dir`. */
  const anchorAt = (at: Date, shards = 2) =>
    anchorChainHeads({
      heads: new DynamoDbChainHeadReader(dynamodb().documentClient, { tableName: tables.audit, shards, useShards: 1, pause: async () => undefined }),
      anchors: new FileSystemChainAnchorStore(dir),
      clock: { now: () => at },
    });
  const latestAnchor = async (): Promise<ChainAnchor> => {
    const anchor = await new FileSystemChainAnchorStore(dir).latest(TODAY);
    if (!anchor) throw new Error('no anchor saved');
    return anchor;
  };

  /** Shard 0 holds a chain of three; both configured shards of the events set are anchored at FIXED_NOW, shard 1 empty. */
  async function anchoredWithShardOneEmpty(): Promise<{ log: DynamoDbAuditLog; anchored: ChainAnchor }> {
    await aChainOfThree();
    await anchorAt(FIXED_NOW);
    return { log: aProcess('chain-keyed', 2), anchored: await latestAnchor() };
  }

  it.each([
    ['a chain-keyed chain', (at: string) => [linkItem(chainKeyedItem(forgedIssuance(at), 1, 1), undefined)]],
    [
      'a legacy chain, head and all',
      (at: string) => {
        const item = linkItem(auditItem(forgedIssuance(at), 1), undefined);
        return [item, { PK: `CHAIN#${TODAY}#1`, SK: 'HEAD', seq: 1, hash: item.hash, at, eventId: item.id }];
      },
    ],
  ])('reports %s started from scratch on a shard the anchor found empty, dated an hour before the anchor (backdated)', async (_what, forged) => {
    // Prepare
    const { log, anchored } = await anchoredWithShardOneEmpty();
    const items = forged(HOUR_BEFORE);
    for (const item of items) await forge(item);

    // Act
    const report = await verifyToday(log, [anchored]);

    // Assess
    expect(report.broken).toEqual([{ id: (items[0] as { id?: unknown }).id, reason: 'backdated' }]);
  });

  it('keeps reporting it after the next anchorings, which never take the forged chain', async () => {
    // Prepare: the forgery, an anchoring, a real event on the same shard, another anchoring
    const { log, anchored } = await anchoredWithShardOneEmpty();
    const forged = linkItem(chainKeyedItem(forgedIssuance(HOUR_BEFORE), 1, 1), undefined);
    await forge(forged);
    const [first] = await anchorAt(minutesLater(5));
    const real = change(-30 * 60, 'real');
    await forge(linkItem(chainKeyedItem(real, 1, 2), { seq: 1, hash: forged.hash }));
    await aProcess().append(change(-50 * 60, 'moves'));
    await anchorAt(minutesLater(60));
    const latest = await latestAnchor();

    // Act
    const report = await verifyToday(log, [latest]);

    // Assess: the real event, written after the anchor held the chain, is not blamed
    expect(first?.heldBack).toEqual([{ chain: `${TODAY}#x1`, reason: 'backdated' }]);
    expect(latest.at).toBe(minutesLater(60).toISOString());
    expect(latest.empty).toEqual([{ chain: `${TODAY}#0` }, { chain: `${TODAY}#1` }, { chain: `${TODAY}#x1`, at: anchored.at }]);
    expect(report.broken).toEqual([{ id: forged.id, reason: 'backdated' }]);
  });

  it('holds back a legacy chain started from scratch on a shard the anchor found empty, and keeps reporting it', async () => {
    // Prepare
    const { log } = await anchoredWithShardOneEmpty();
    const item = linkItem(auditItem(forgedIssuance(HOUR_BEFORE), 1), undefined);
    await forge(item);
    await forge({ PK: `CHAIN#${TODAY}#1`, SK: 'HEAD', seq: 1, hash: item.hash, at: HOUR_BEFORE, eventId: item.id });
    const [today] = await anchorAt(minutesLater(5));

    // Act
    const report = await verifyToday(log, [await latestAnchor()]);

    // Assess
    expect(today?.heldBack).toEqual([{ chain: `${TODAY}#1`, reason: 'backdated' }]);
    expect(report.broken).toEqual([{ id: item.id, reason: 'backdated' }]);
  });

  it('holds back a legacy chain once anchored, when a later event is dated back (two steps: first an honest-looking event, then the backdated one)', async () => {
    // Prepare: a forged event dated now, anchored; then one dated an hour back, with a head to fit
    const { log } = await anchoredWithShardOneEmpty();
    const first = linkItem(auditItem(change(-60, 'forged-now'), 1), undefined);
    await forge(first);
    await forge({ PK: `CHAIN#${TODAY}#1`, SK: 'HEAD', seq: 1, hash: first.hash, at: FIXED_NOW.toISOString(), eventId: first.id });
    const [taken] = await anchorAt(minutesLater(5));
    const second = linkItem(auditItem(change(3_600, 'forged-back'), 1), { seq: 1, hash: first.hash });
    await forge(second);
    await forge({ PK: `CHAIN#${TODAY}#1`, SK: 'HEAD', seq: 2, hash: second.hash, at: FIXED_NOW.toISOString(), eventId: second.id });
    const [held] = await anchorAt(minutesLater(10));

    // Act
    const report = await verifyToday(log, [await latestAnchor()]);

    // Assess
    expect(taken?.heldBack).toEqual([]);
    expect(held?.heldBack).toEqual([{ chain: `${TODAY}#1`, reason: 'backdated' }]);
    expect(report.broken).toEqual([{ id: second.id, reason: 'backdated' }]);
  });

  it('reports an item placed where the anchoring does not look (a sort key below the first place), even once anchored (misplaced)', async () => {
    // Prepare: hashed right, keyed SEQ#0000000000, which sorts before SEQ#000000000001
    const { log } = await anchoredWithShardOneEmpty();
    const item = linkItem({ ...chainKeyedItem(forgedIssuance(HOUR_BEFORE), 1, 1), SK: 'SEQ#0000000000' }, undefined);
    await forge(item);
    const [today] = await anchorAt(minutesLater(5));

    // Act
    const report = await verifyToday(log, [await latestAnchor()]);

    // Assess: the anchoring found no event at the head's place, so it held the chain as empty
    expect(today?.heldBack).toEqual([{ chain: `${TODAY}#x1`, reason: 'backdated' }]);
    expect(report.broken).toEqual([
      { id: item.id, reason: 'misplaced' },
      { id: item.id, reason: 'backdated' },
    ]);
  });

  it('does not call an item misplaced whose index keys an earlier version of tvm wrote (an issuance before the recorded-uses index)', async () => {
    // Prepare: a legacy chain of one issuance stored without the GSI5 keys today's writer gives it
    const log = aProcess('legacy');
    const { GSI5PK: _pk, GSI5SK: _sk, ...older } = auditItem(anIssuance(), 0);
    const item = linkItem(older, undefined);
    await forge(item);
    await forge({ PK: `CHAIN#${TODAY}#0`, SK: 'HEAD', seq: 1, hash: item.hash, at: FIXED_NOW.toISOString(), eventId: item.id });

    // Act
    const report = await verifyToday(log);

    // Assess
    expect(report).toEqual({ ok: true, checked: 1, broken: [] });
  });

  it("reports an event of another day put into a closed day's chain (misplaced)", async () => {
    // Prepare
    const log = await aChainOfThree();
    const last = await itemAt(3);
    const nextDay = adminEvent(new Date('2026-06-02T00:30:00Z'), 'next-day', 'profile.put', ADMIN, { requestId: 'r-next' }, { profile: 'dev-readonly' });
    const item = linkItem({ ...chainKeyedItem(nextDay, 0, 4), PK: linkPk(TODAY, '0') }, { seq: 3, hash: String(last?.hash) });
    await forge(item);

    // Act
    const report = await verifyToday(log);

    // Assess
    expect(report.broken).toEqual([{ id: nextDay.id, reason: 'misplaced' }]);
  });

  it('reports an event slipped in past the anchored head of a chain, dated back (backdated)', async () => {
    // Prepare
    const { log, anchored } = await anchoredWithShardOneEmpty();
    const last = await itemAt(3);
    const item = linkItem(chainKeyedItem(change(3_600, 'slipped'), 0, 4), { seq: 3, hash: String(last?.hash) });
    await forge(item);

    // Act
    const report = await verifyToday(log, [anchored]);

    // Assess
    expect(report.broken).toEqual([{ id: change(3_600, 'slipped').id, reason: 'backdated' }]);
  });

  it("closes the day with its final anchor: an event dated to the day's last minute, written after it, is reported", async () => {
    // Prepare: the final anchor of the day, taken 20 minutes after midnight
    await aChainOfThree();
    const [, closing] = await anchorAt(new Date('2026-06-02T00:00:00Z'), 1);
    const [, final] = await anchorAt(new Date(Date.parse('2026-06-02T00:00:00Z') + MAX_WRITE_LAG_MS), 1);
    const last = await itemAt(3);
    const lateAt = new Date(`${TODAY}T23:59:00Z`);
    const late = adminEvent(lateAt, 'late', 'profile.put', ADMIN, { requestId: 'r-late' }, { profile: 'dev-readonly' });
    await forge(linkItem(chainKeyedItem(late, 0, 4), { seq: 3, hash: String(last?.hash) }));

    // Act
    const report = await verifyToday(aProcess(), [await latestAnchor()]);

    // Assess
    expect([closing?.final, final?.final]).toEqual([false, true]);
    expect(report.broken).toEqual([{ id: late.id, reason: 'backdated' }]);
  });

  it('reports nothing for events written after the anchor, dated up to the write lag before it (a slow writer), nor for late uses', async () => {
    // Prepare: an event dated just within the lag on the empty shard, and a use CloudTrail delivered an hour late
    const { anchored } = await anchoredWithShardOneEmpty();
    const slow = adminEvent(new Date(FIXED_NOW.getTime() - MAX_WRITE_LAG_MS), 'slow', 'profile.put', ADMIN, { requestId: 'r-slow' }, { profile: 'dev-readonly' });
    await forge(linkItem(chainKeyedItem(slow, 1, 1), undefined));
    const log = aProcess('chain-keyed', 2);
    await log.append(aUse(anIssuance(), { eventTime: HOUR_BEFORE }));

    // Act
    const report = await verifyToday(log, [anchored]);

    // Assess
    expect(report).toEqual({ ok: true, checked: 5, broken: [] });
  });
});

describe('chain-keyed reads', () => {
  it('page through an index sorted on the event id within a window, each event once', async () => {
    // Prepare
    const log = aProcess();
    const events = [50, 40, 30, 20, 10].map((seconds) => change(seconds, `p${seconds}`));
    for (const event of events) await log.append(event);
    const from = change(45, 'bound').at;

    // Act
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await log.query({ principal: ADMIN.id, from, limit: 2, ...(cursor ? { cursor } : {}) });
      pages.push(page.events.map((event) => event.id));
      cursor = page.nextCursor;
    } while (cursor && pages.length < 10);

    // Assess
    expect(pages.flat()).toEqual(events.slice(1).map((event) => event.id).reverse());
    expect(pages.map((page) => page.length)).toEqual([2, 2]);
  });

  it.each(['chain-keyed', 'legacy'] as const)('counts a %s session expiring at this very moment as live on its role, and not a millisecond later', async (layout) => {
    // Prepare
    const log = aProcess(layout);
    const issuance = anIssuance({ expiration: '2026-06-01T12:30:00Z' });
    await log.append(issuance);

    // Act
    const atExpiry = await log.liveIssuancesOnRole(ROLE_ARN, new Date('2026-06-01T12:30:00.000Z'));
    const after = await log.liveIssuancesOnRole(ROLE_ARN, new Date('2026-06-01T12:30:00.001Z'));

    // Assess
    expect(atExpiry).toEqual([issuance]);
    expect(after).toEqual([]);
  });

  it('finds where an anchored event stands in its chain by its id, so the anchoring moves on as the chain grows', async () => {
    // Prepare: anchored at 1, then grown to 2
    const log = aProcess();
    const first = change(20, 'anchored');
    await log.append(first);
    const heads = new DynamoDbChainHeadReader(dynamodb().documentClient, { tableName: tables.audit, shards: 1, useShards: 1 });
    const anchors = new FileSystemChainAnchorStore(dir);
    await anchorChainHeads({ heads, anchors, clock: { now: () => FIXED_NOW } });
    await log.append(change(10, 'later'));

    // Act
    const link = await heads.linkOf(`${TODAY}#x0`, first.id);
    const [today] = await anchorChainHeads({ heads, anchors, clock: { now: () => new Date(FIXED_NOW.getTime() + 300_000) } });

    // Assess
    expect(link).toEqual({ seq: 1, hash: (await itemAt(1))?.hash });
    expect(today).toMatchObject({ saved: true, heldBack: [] });
    expect((await anchors.latest(TODAY))?.heads).toEqual([{ chain: `${TODAY}#x0`, seq: 2, hash: (await itemAt(2))?.hash, eventId: change(10, 'later').id }]);
  });
});

describe('reads after the switch from the legacy layout', () => {
  it('find legacy and chain-keyed events alike: a key trace, a profile, a principal, the time and type indexes, recorded uses', async () => {
    // Prepare: the same key issued and used under the legacy layout, used and cut off after the switch
    const legacy = aProcess('legacy');
    const switched = aProcess('chain-keyed');
    const issuance = anIssuance();
    const before = aUse(issuance, { eventTime: '2026-06-01T11:10:00Z' });
    const after = aUse(issuance, { eventTime: '2026-06-01T11:50:00Z' });
    await legacy.append(issuance);
    await legacy.append(before);
    await legacy.append(change(600, 'legacy-change'));
    await switched.append(after);
    await switched.append(change(60, 'new-change'));

    // Act
    const control = await switched.controlEventsForKey(KEY);
    const uses = await switched.usesOfKey({ accessKeyId: KEY, limit: 10 });
    const byProfile = await switched.query({ profile: 'dev-readonly', type: 'profile.put', limit: 10 });
    const byPrincipal = await switched.query({ principal: ADMIN.id, limit: 10 });
    const byTime = await switched.query({ limit: 10, from: `${TODAY}T00:00:00Z` });
    const byType = await switched.query({ type: 'credential.used', limit: 1 });
    const nextByType = await switched.query({ type: 'credential.used', limit: 1, cursor: byType.nextCursor });
    // Uses are re-checked by when tvm recorded them: the writers' clock, the machine's.
    const recorded = await switched.usesRecordedBetween(new Date(Date.now() - 3_600_000).toISOString(), new Date(Date.now() + 60_000).toISOString(), 10);

    // Assess
    expect(control.map((event) => event.id)).toEqual([issuance.id]);
    expect(uses.uses.map((use) => use.id)).toEqual([after.id, before.id]);
    expect(byProfile.events.map((event) => event.id)).toEqual([change(60, 'new-change').id, change(600, 'legacy-change').id]);
    expect(byPrincipal.events.map((event) => event.id)).toEqual([change(60, 'new-change').id, change(600, 'legacy-change').id]);
    expect(byTime.events).toHaveLength(5);
    expect([...byType.events, ...nextByType.events].map((event) => event.id)).toEqual([after.id, before.id]);
    expect(recorded.uses.map((use) => use.id).sort()).toEqual([before.id, after.id].sort());
    expect((await verifyToday(switched)).ok).toBe(true);
  });
});
