// The audit items each layout stores, and which of them a reader takes as written by tvm: a
// chain-keyed item carries its event, its own layout's keys and a base64url hash, and nothing
// from the legacy layout; an item forged or re-encoded to look otherwise is left out.
import { createHash } from 'node:crypto';
import { canonicalJson, linkItem } from '../../shared/adapters/audit-chain.js';
import { auditItem, chainKeyedItem, isIntactEventItem, MAX_AUDIT_SHARDS, sessionsPk, toAuditEvent } from '../../shared/adapters/audit-keys.js';
import { anIssuance, ROLE_ARN } from '../fixtures/key-events.js';

/** The sha256 a linked item's hash is written from, in hex. */
function hexDigestOf(item: Readonly<Record<string, unknown>>): string {
  const { hash: _hash, ...content } = item;
  return createHash('sha256').update(`${String(item.prevHash)}\n${canonicalJson(content)}`).digest('hex');
}

/** `item` with one attribute changed and its hash recomputed, as a forger who can hash would. */
const rehashed = (item: Record<string, unknown>, change: Record<string, unknown>) => linkItem({ ...item, ...change }, undefined);

describe('chainKeyedItem', () => {
  it('keys an issuance by its chain position, its X index keys and its bare expiration, without a copy of its id', () => {
    // Prepare
    const issuance = anIssuance({ expiration: '2026-06-01T12:30:00Z' });

    // Act
    const item = chainKeyedItem(issuance, 3, 7);

    // Assess
    expect(item).toEqual({
      ...issuance,
      PK: 'LINK#2026-06-01#3',
      SK: 'SEQ#000000000007',
      XPK1: `KEY#${issuance.accessKeyId}`,
      XPK2: `PROFILE#${issuance.profile}`,
      XPK3: 'TIME#2026-06-01#3',
      XPK4: 'TYPE#credential.issued#2026-06-01#3',
      XPK6: `PRINCIPAL#${issuance.principal}`,
      GSI5PK: sessionsPk(ROLE_ARN),
      GSI5SK: '2026-06-01T12:30:00.000Z',
    });
  });

  it('is read back as exactly its event', () => {
    // Prepare
    const issuance = anIssuance();

    // Act
    const event = toAuditEvent(linkItem(chainKeyedItem(issuance, 0, 1), undefined));

    // Assess
    expect(event).toEqual(issuance);
  });
});

describe('auditItem (legacy)', () => {
  it('keeps the event id after an issuance’s expiration', () => {
    // Prepare
    const issuance = anIssuance();

    // Act
    const item = auditItem(issuance, 0);

    // Assess
    expect(item).toMatchObject({ GSI5PK: sessionsPk(ROLE_ARN), GSI5SK: `2026-06-01T12:30:00.000Z#${issuance.id}` });
  });
});

describe('isIntactEventItem', () => {
  const chainKeyed = () => linkItem(chainKeyedItem(anIssuance(), 0, 1), undefined);
  const legacy = () => linkItem(auditItem(anIssuance(), 0), undefined);

  it('takes either layout’s item as tvm wrote it', () => {
    expect([isIntactEventItem(chainKeyed()), isIntactEventItem(legacy())]).toEqual([true, true]);
  });

  it('takes an item from shard 63 but not from shard 64, past the most either chain set may be configured with', () => {
    const on = (shard: number) => [linkItem(chainKeyedItem(anIssuance(), shard, 1), undefined), linkItem(auditItem(anIssuance(), shard), undefined)].map(isIntactEventItem);
    expect([on(MAX_AUDIT_SHARDS - 1), on(MAX_AUDIT_SHARDS)]).toEqual([[true, true], [false, false]]);
  });

  it.each<[string, () => Record<string, unknown>]>([
    ['a chain-keyed item whose hash is its digest in hex', () => ({ ...chainKeyed(), hash: hexDigestOf(chainKeyed()) })],
    ['a chain-keyed item in hex throughout, from the hex genesis (its hex hash gives it away; a wrong prevHash alone is verify’s to report)', () => {
      const item = { ...chainKeyed(), prevHash: '0'.repeat(64) };
      return { ...item, hash: hexDigestOf(item) };
    }],
    ['a chain-keyed item carrying a legacy index key', () => rehashed(chainKeyedItem(anIssuance(), 0, 1), { GSI1PK: 'KEY#ASIAOTHERKEY0000001' })],
    ['a chain-keyed issuance keyed by expiration and id, as a legacy one', () => {
      const issuance = anIssuance();
      return rehashed(chainKeyedItem(issuance, 0, 1), { GSI5SK: `${issuance.expiration}#${issuance.id}` });
    }],
    ['a legacy item carrying a chain-keyed index key', () => rehashed(auditItem(anIssuance(), 0), { XPK6: 'PRINCIPAL#innocent@example.com' })],
    ['a legacy issuance keyed by its bare expiration, as a chain-keyed one', () => rehashed(auditItem(anIssuance(), 0), { GSI5SK: anIssuance().expiration })],
  ])('leaves out %s', (_, forged) => {
    expect(isIntactEventItem(forged())).toBe(false);
  });
});
