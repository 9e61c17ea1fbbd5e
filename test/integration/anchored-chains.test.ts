// The chain-rewrite attack, against DynamoDB Local through the real SDK clients: someone with a
// stolen function role (write access to the audit table) deletes a chain's newest events and writes
// a head that fits, or rewrites the chain below its head and lets it grow on. The chain alone is
// consistent again, so verify without anchors finds nothing; with the heads anchored outside the
// table (here the local directory store), verify reports the chain, and the next anchoring does not
// anchor over the rewrite.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { linkItem } from '../../shared/adapters/audit-chain.js';
import { auditItem, BY_TIME_INDEX } from '../../shared/adapters/audit-keys.js';
import { DynamoDbAuditLog } from '../../shared/adapters/dynamodb-audit-log.js';
import { DynamoDbChainHeadReader } from '../../shared/adapters/dynamodb-chain-head-reader.js';
import { AuditChains } from '../../shared/adapters/dynamodb-transactions.js';
import { FileSystemChainAnchorStore } from '../../shared/adapters/file-system-chain-anchor-store.js';
import { adminEvent, type AuditEvent } from '../../shared/domain/audit.js';
import { anchorChainHeads } from '../../shared/domain/chain-anchors.js';
import { verifyAuditTrail } from '../../shared/domain/verify-audit.js';
import { aPrincipal, FIXED_NOW } from '../fixtures/builders.js';
import { fixedClock, type FixedClock } from '../fixtures/in-memory.js';
import { anIssuance, aUse } from '../fixtures/key-events.js';
import { getRawItem, queryRawPartition, useDynamoDbLocal, type TestTables } from './support/dynamodb.js';

const TODAY = '2026-06-01';
const YESTERDAY = '2026-05-31';
const CHAIN = `${TODAY}#0`;
const ADMIN = aPrincipal({ id: 'admin@example.com', groups: ['tvm-admin'] });
/** Long enough ago that verify does not wait for an index to catch up with the head. */
const LONG_AGO = '2026-06-01T11:00:00.000Z';

const dynamodb = useDynamoDbLocal();
let tables: TestTables;
let dir: string;
let clock: FixedClock;
let log: DynamoDbAuditLog;
let heads: DynamoDbChainHeadReader;
let anchors: FileSystemChainAnchorStore;

beforeEach(async () => {
  tables = await dynamodb().createTestTables();
  dir = mkdtempSync(join(tmpdir(), 'tvm-anchors-'));
  clock = fixedClock(FIXED_NOW);
  // The legacy layout's chains (CHAIN# heads); chain-keyed ones in chain-keyed-audit.test.ts.
  const table = { tableName: tables.audit, shards: 1, useShards: 1, layout: 'legacy' as const };
  log = new DynamoDbAuditLog(dynamodb().documentClient, {
    ...table,
    chains: new AuditChains(),
    useChains: new AuditChains(),
    now: () => clock.now(),
    pause: async () => undefined,
  });
  heads = new DynamoDbChainHeadReader(dynamodb().documentClient, table);
  anchors = new FileSystemChainAnchorStore(dir);
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

const change = (minutes: number, unique = `c${minutes}`): AuditEvent =>
  adminEvent(new Date(FIXED_NOW.getTime() - minutes * 60_000), unique, 'profile.put', ADMIN, { requestId: `r-${unique}` }, { profile: 'dev-readonly' });

const anchor = () => anchorChainHeads({ heads, anchors, clock });
const verify = () => verifyAuditTrail({ audit: log, anchors, clock }, {});
const verifyWithoutAnchors = () => verifyAuditTrail({ audit: log, anchors: { latest: async () => undefined }, clock }, {});

/** Five changes on the events chain and two uses on the uses chain, anchored. */
async function anAnchoredTrail(): Promise<Record<string, unknown>[]> {
  for (const minutes of [50, 40, 30, 20, 10]) await log.append(change(minutes));
  const issuance = anIssuance({ at: '2026-06-01T11:00:00.000Z' });
  for (const eventTime of ['2026-06-01T11:05:00Z', '2026-06-01T11:06:00Z']) await log.append(aUse(issuance, { eventTime }));
  await anchor();
  return chainItems();
}

async function chainItems(): Promise<Record<string, unknown>[]> {
  const items = await queryRawPartition(dynamodb().documentClient, tables.audit, `TIME#${CHAIN}`, BY_TIME_INDEX);
  return items.sort((a, b) => Number(a.chainSeq) - Number(b.chainSeq));
}

const remove = (item: Record<string, unknown> | undefined) =>
  dynamodb().documentClient.send(new DeleteCommand({ TableName: tables.audit, Key: { PK: item?.PK, SK: item?.SK } }));
const put = (item: Record<string, unknown>) => dynamodb().documentClient.send(new PutCommand({ TableName: tables.audit, Item: item }));
const putHead = (item: Record<string, unknown> | undefined) =>
  put({ PK: `CHAIN#${CHAIN}`, SK: 'HEAD', seq: item?.chainSeq, hash: item?.hash, at: LONG_AGO, eventId: item?.id });

describe('anchored chain heads', () => {
  it('anchor the head of every chain of both chain sets, naming the event at each head', async () => {
    // Act
    const items = await anAnchoredTrail();

    // Assess
    const latest = await anchors.latest(TODAY);
    expect(latest?.heads.map(({ chain, seq }) => [chain, seq])).toEqual([
      [CHAIN, 5],
      [`${TODAY}#u0`, 2],
    ]);
    expect(latest?.heads[0]).toEqual({ chain: CHAIN, seq: 5, hash: items[4]?.hash, eventId: items[4]?.id });
    // Yesterday, which had no events, is anchored too: its chains all empty, in its final anchor.
    expect(await verify()).toMatchObject({
      ok: true,
      checked: 7,
      broken: [],
      anchors: [
        { day: YESTERDAY, at: FIXED_NOW.toISOString(), chains: 0 },
        { day: TODAY, at: FIXED_NOW.toISOString(), chains: 2 },
      ],
    });
  });

  it('catch the newest events deleted and the head rewritten to fit, which the chain alone cannot', async () => {
    // Prepare
    const items = await anAnchoredTrail();

    // Act: the attacker deletes the two newest events and writes a head that names the third
    await remove(items[4]);
    await remove(items[3]);
    await putHead(items[2]);

    // Assess
    expect(await verifyWithoutAnchors()).toMatchObject({ ok: true, checked: 5, broken: [] });
    expect(await verify()).toMatchObject({ ok: false, broken: [{ id: `chain:${CHAIN}`, reason: 'behind-anchor' }] });
  });

  it('catch a chain rewritten below its anchored head and grown past it, and never anchor over it', async () => {
    // Prepare
    const items = await anAnchoredTrail();

    // Act: the attacker replaces the two newest events with forged ones, adds a third, and moves the head
    await remove(items[4]);
    await remove(items[3]);
    let previous = { seq: Number(items[2]?.chainSeq), hash: String(items[2]?.hash) };
    let last: Record<string, unknown> = {};
    for (const minutes of [25, 15, 5]) {
      last = linkItem(auditItem(change(minutes, `forged${minutes}`), 0), previous);
      await put(last);
      previous = { seq: Number(last.chainSeq), hash: String(last.hash) };
    }
    await putHead(last);
    clock.advance(5 * 60_000);
    const [today] = await anchor();

    // Assess
    expect(await verifyWithoutAnchors()).toMatchObject({ ok: true, checked: 8, broken: [] });
    expect(today?.heldBack).toEqual([{ chain: CHAIN, reason: 'anchor-mismatch' }]);
    expect((await anchors.latest(TODAY))?.heads[0]).toMatchObject({ seq: 5, hash: items[4]?.hash });
    expect(await verify()).toMatchObject({ ok: false, broken: [{ id: `chain:${CHAIN}`, reason: 'anchor-mismatch' }] });
  });

  it('keep the rewrite reported after later anchorings, and anchor the chains that grew honestly', async () => {
    // Prepare: the newest event deleted and the head rewritten; then more uses recorded
    const items = await anAnchoredTrail();
    await remove(items[4]);
    await putHead(items[3]);
    await log.append(aUse(anIssuance({ at: '2026-06-01T11:00:00.000Z' }), { eventTime: '2026-06-01T11:07:00Z' }));

    // Act
    clock.advance(5 * 60_000);
    const [first] = await anchor();
    clock.advance(5 * 60_000);
    const [second] = await anchor();

    // Assess
    expect([first?.heldBack, second?.heldBack]).toEqual([
      [{ chain: CHAIN, reason: 'behind-anchor' }],
      [{ chain: CHAIN, reason: 'behind-anchor' }],
    ]);
    expect((await anchors.latest(TODAY))?.heads.map(({ chain, seq }) => [chain, seq])).toEqual([
      [CHAIN, 5],
      [`${TODAY}#u0`, 3],
    ]);
    expect((await verify()).broken).toEqual([{ id: `chain:${CHAIN}`, reason: 'behind-anchor' }]);
  });

  it('catch a whole day’s chain deleted with its head', async () => {
    // Prepare
    const items = await anAnchoredTrail();

    // Act
    for (const item of items) await remove(item);
    await dynamodb().documentClient.send(new DeleteCommand({ TableName: tables.audit, Key: { PK: `CHAIN#${CHAIN}`, SK: 'HEAD' } }));

    // Assess
    expect(await getRawItem(dynamodb().documentClient, tables.audit, { PK: `CHAIN#${CHAIN}`, SK: 'HEAD' })).toBeUndefined();
    expect(await verifyWithoutAnchors()).toMatchObject({ ok: true, broken: [] });
    expect((await verify()).broken).toEqual([{ id: `chain:${CHAIN}`, reason: 'behind-anchor' }]);
  });
});

describe('DynamoDbChainHeadReader', () => {
  it('reads the heads of more chains than one BatchGetItem takes, those that exist', async () => {
    // Prepare: 64 + 64 shards configured, two legacy chains written
    const wide = { tableName: tables.audit, shards: 64, useShards: 64, layout: 'legacy' as const };
    const writer = new DynamoDbAuditLog(dynamodb().documentClient, { ...wide, chains: new AuditChains(), useChains: new AuditChains() });
    await writer.append(change(10));
    await writer.append(aUse(anIssuance(), { eventTime: '2026-06-01T11:05:00Z' }));
    const reader = new DynamoDbChainHeadReader(dynamodb().documentClient, wide);

    // Act
    const found = await reader.readHeads(reader.chainsOf(TODAY));

    // Assess
    // Each shard's legacy chain and its chain-keyed one (`<day>#x<shard>`), of both chain sets.
    expect(reader.chainsOf(TODAY)).toHaveLength(256);
    expect(found.map((head) => head.chain.replace(/#\d+$/, '#n').replace(/#u\d+$/, '#un')).sort()).toEqual([`${TODAY}#n`, `${TODAY}#un`]);
    for (const head of found) expect(head).toMatchObject({ seq: 1, hash: expect.stringMatching(/^[0-9a-f]{64}$/), eventId: expect.any(String) });
  });

  it('finds where an event stands in its chain by its id, and nothing for an id the chain does not hold', async () => {
    // Prepare
    const event = change(10);
    await log.append(event);

    // Act
    const [link, missing] = await Promise.all([heads.linkOf(CHAIN, event.id), heads.linkOf(CHAIN, '2026-06-01T11:50:00.000Z#nothing')]);

    // Assess
    expect(link).toEqual({ seq: 1, hash: (await chainItems())[0]?.hash });
    expect(missing).toBeUndefined();
  });
});
