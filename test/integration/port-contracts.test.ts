// The contract of every port the unit tests fake, run twice: against the in-memory fakes
// (test/fixtures/in-memory*.ts) and against the DynamoDB adapters on DynamoDB Local. The unit tests
// trust the fakes to behave as production does; a case here that passes on one side and fails on
// the other is a fake that drifted. Every case goes through the port interfaces only (the chain
// heads the anchoring reads, at the end, are fed by each side's own writer).
import { adminEvent, type AdminAuditEvent, type AuditEvent, type CredentialUsedEvent } from '../../shared/domain/audit.js';
import { ConflictError, ValidationError } from '../../shared/domain/errors.js';
import type { AccessRequest, CutOffOrder, Engagement, Grant, Lockdown, Profile, Subject } from '../../shared/domain/model.js';
import { MAX_GRANTS_PER_REVOCATION, type ChainHeadReader, type QuotaEntry, type RateLimitDecision } from '../../shared/domain/ports.js';
import { aGrant, aPrincipal, aProfile, FIXED_NOW } from '../fixtures/builders.js';
import { aLockdown } from '../fixtures/in-memory-lockdown.js';
import { anAlert, anIssuance, aSessionRevoked, aUse } from '../fixtures/key-events.js';
import { captureError, useDynamoDbLocal } from './support/dynamodb.js';
import { DynamoDbAuditLog } from '../../shared/adapters/dynamodb-audit-log.js';
import { DynamoDbChainHeadReader } from '../../shared/adapters/dynamodb-chain-head-reader.js';
import { AuditChains } from '../../shared/adapters/dynamodb-transactions.js';
import { InMemoryChainHeads } from '../fixtures/in-memory.js';
import { dynamoDbPorts, inMemoryPorts, type Ports } from './support/port-implementations.js';

const dynamodb = useDynamoDbLocal();

const NOW = FIXED_NOW;
const ADMIN = aPrincipal({ id: 'admin@example.com', groups: ['tvm-admin'] });
const SECURITY = aPrincipal({ id: 'sec@example.com', groups: ['tvm-security'] });
const ALICE: Subject = { type: 'user', id: 'alice@example.com' };
const BOB: Subject = { type: 'user', id: 'bob@example.com' };
const DEVELOPERS: Subject = { type: 'group', id: 'developers' };
const OPS: Subject = { type: 'group', id: 'ops' };
const PROFILE = aProfile();
const ROLE = PROFILE.roleArn;
const inAMinute = new Date(NOW.getTime() + 60_000).toISOString();

const implementations: [string, () => Promise<Ports>][] = [
  ['in-memory fakes', async () => inMemoryPorts()],
  ['DynamoDB adapters', () => dynamoDbPorts(dynamodb(), NOW)],
];

let counter = 0;
/** A new admin event a second after the last: what a use case records with its change. */
function anEvent(type: AdminAuditEvent['type'], change: Parameters<typeof adminEvent>[5] = { profile: PROFILE.name }, by = ADMIN): AdminAuditEvent {
  counter += 1;
  return adminEvent(new Date(NOW.getTime() + counter * 1000), `evt-${counter}`, type, by, { requestId: `req-${counter}` }, change);
}

const ids = (items: readonly { id: string }[]) => items.map((item) => item.id);

/** A cut-off order, as a decision writes it in its own transaction. */
function anOrder(id: string, overrides: Partial<CutOffOrder> = {}): CutOffOrder {
  return {
    id,
    cause: 'grant-revoked',
    decidedAt: NOW.toISOString(),
    decidedBy: ADMIN.id,
    requestId: `req-${id}`,
    revocations: [{ kind: 'grant', grantId: 'grant-0001', before: inAMinute }],
    roles: [ROLE],
    attempts: 0,
    context: { grantId: 'grant-0001' },
    ...overrides,
  };
}

describe.each(implementations)('port contracts: %s', (_name, makePorts) => {
  let ports: Ports;

  beforeEach(async () => {
    ports = await makePorts();
  });

  /** The ids of what the audit trail holds of `principal`, newest first. */
  const recordedBy = async (principal: string) => ids((await ports.audit.query({ principal, limit: 100 })).events);

  const putProfiles = async (...profiles: Profile[]) => {
    for (const profile of profiles) expect(await ports.delegations.putProfile(profile, anEvent('profile.put', { profile: profile.name }))).toBe(true);
  };

  const createGrants = async (...grants: Grant[]) => {
    for (const grant of grants) await ports.delegations.createGrant(grant, anEvent('grant.created', { profile: grant.profile, grantId: grant.id }));
  };

  const revoke = (grants: Grant[], order?: CutOffOrder) =>
    ports.delegations.revokeGrants(grants, ADMIN.id, NOW.toISOString(), anEvent('grant.revoked', { profile: grants[0]?.profile ?? PROFILE.name }), order);

  describe('DelegationStore: profiles', () => {
    it('putProfile creates a profile only where none exists, and getProfile reads back exactly what it stored', async () => {
      // Prepare
      const profile = aProfile({
        scope: { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bucket/*'] },
        externalId: 'ext-1',
        formerRoles: [{ roleArn: 'arn:aws:iam::123456789012:role/old', until: inAMinute }],
        requestable: { approverGroups: ['leads'], approvals: 2, maxDurationSeconds: 7200, requireReason: true, pendingSeconds: 3600 },
      });

      // Act
      const created = await ports.delegations.putProfile(profile, anEvent('profile.put'));
      const again = await ports.delegations.putProfile({ ...profile, description: 'another' }, anEvent('profile.put'));

      // Assess
      expect([created, again]).toEqual([true, false]);
      expect(await ports.delegations.getProfile(profile.name)).toEqual(profile);
      expect(await ports.delegations.getProfile('no-such-profile')).toBeUndefined();
    });

    it('putProfile replaces only the version read: its generation and its updatedAt', async () => {
      // Prepare
      await putProfiles(PROFILE);
      const replacement = { ...PROFILE, description: 'replaced', updatedAt: '2026-06-01T12:00:00.000Z' };

      // Act
      const replaced = await ports.delegations.putProfile(replacement, anEvent('profile.put'), PROFILE);
      const stale = await ports.delegations.putProfile({ ...PROFILE, description: 'stale' }, anEvent('profile.put'), PROFILE);
      const otherGeneration = await ports.delegations.putProfile(
        { ...PROFILE, description: 'other generation' },
        anEvent('profile.put'),
        { generation: 'profile-generation-2', updatedAt: replacement.updatedAt },
      );

      // Assess
      expect([replaced, stale, otherGeneration]).toEqual([true, false, false]);
      expect(await ports.delegations.getProfile(PROFILE.name)).toEqual(replacement);
    });

    it('of two writers creating one profile at once, exactly one succeeds', async () => {
      // Act
      const outcomes = await Promise.all([
        ports.delegations.putProfile({ ...PROFILE, description: 'first' }, anEvent('profile.put')),
        ports.delegations.putProfile({ ...PROFILE, description: 'second' }, anEvent('profile.put')),
      ]);

      // Assess
      expect([...outcomes].sort()).toEqual([false, true]);
      expect(await recordedBy(ADMIN.id)).toHaveLength(1);
    });

    it('putProfile finds nothing to replace once the profile is deleted', async () => {
      // Prepare
      await putProfiles(PROFILE);
      await ports.delegations.deleteProfile(PROFILE.name, anEvent('profile.deleted'));

      // Act
      const revived = await ports.delegations.putProfile(PROFILE, anEvent('profile.put'), PROFILE);

      // Assess
      expect(revived).toBe(false);
      expect(await ports.delegations.getProfile(PROFILE.name)).toBeUndefined();
    });

    it('deleteProfile deletes a stored profile and is false for one that does not exist', async () => {
      // Prepare
      await putProfiles(PROFILE);

      // Act
      const deleted = await ports.delegations.deleteProfile(PROFILE.name, anEvent('profile.deleted'));
      const again = await ports.delegations.deleteProfile(PROFILE.name, anEvent('profile.deleted'));

      // Assess
      expect([deleted, again]).toEqual([true, false]);
      expect(await ports.delegations.listProfiles()).toEqual([]);
    });

    it('listProfiles lists every profile, by name', async () => {
      // Prepare
      await putProfiles(aProfile({ name: 'zeta' }), aProfile({ name: 'alpha' }), aProfile({ name: 'mid-1' }));

      // Act
      const listed = await ports.delegations.listProfiles();

      // Assess
      expect(listed.map((profile) => profile.name)).toEqual(['alpha', 'mid-1', 'zeta']);
      expect(listed[0]).toEqual(aProfile({ name: 'alpha' }));
    });

    it('records each change with its audit event and nothing for a change refused', async () => {
      // Prepare
      const put = anEvent('profile.put');
      const refusedPut = anEvent('profile.put');
      const refusedDelete = anEvent('profile.deleted', { profile: 'no-such-profile' });
      const deleted = anEvent('profile.deleted');

      // Act
      await ports.delegations.putProfile(PROFILE, put);
      await ports.delegations.putProfile(PROFILE, refusedPut);
      await ports.delegations.deleteProfile('no-such-profile', refusedDelete);
      await ports.delegations.deleteProfile(PROFILE.name, deleted);

      // Assess
      expect(await recordedBy(ADMIN.id)).toEqual([deleted.id, put.id]);
      expect((await ports.audit.query({ principal: ADMIN.id, limit: 1 })).events).toEqual([deleted]);
    });
  });

  describe('DelegationStore: grants', () => {
    beforeEach(async () => {
      await putProfiles(PROFILE, aProfile({ name: 'prod-admin', roleArn: 'arn:aws:iam::123456789012:role/prod-admin' }));
    });

    it('createGrant stores a grant, read back by id exactly as stored', async () => {
      // Prepare
      const grant = aGrant({ scope: { actions: ['s3:List*'] }, maxSessionSeconds: 900, reason: 'on call', version: 1 });

      // Act
      await createGrants(grant);

      // Assess
      expect(await ports.delegations.getGrant(grant.id)).toEqual(grant);
      expect(await ports.delegations.getGrant('grant-none')).toBeUndefined();
    });

    it('createGrant refuses (ConflictError) a grant for a profile deleted or re-created since, and writes nothing', async () => {
      // Prepare
      const event = anEvent('grant.created');

      // Act
      const otherGeneration = await captureError(ports.delegations.createGrant(aGrant({ profileGeneration: 'profile-generation-0' }), event));
      const noProfile = await captureError(ports.delegations.createGrant(aGrant({ id: 'grant-0002', profile: 'gone' }), anEvent('grant.created')));

      // Assess
      expect(otherGeneration).toBeInstanceOf(ConflictError);
      expect(noProfile).toBeInstanceOf(ConflictError);
      expect(await ports.delegations.listGrants({})).toEqual([]);
      expect(await recordedBy(ADMIN.id)).not.toContain(event.id);
    });

    it('createGrant refuses (ConflictError) a grant whose key is taken', async () => {
      // Prepare
      await createGrants(aGrant());

      // Act
      const error = await captureError(ports.delegations.createGrant(aGrant({ reason: 'again' }), anEvent('grant.created')));

      // Assess
      expect(error).toBeInstanceOf(ConflictError);
      expect(await ports.delegations.getGrant('grant-0001')).toEqual(aGrant());
    });

    it('createGrant delegates from a parent only while the parent is still active', async () => {
      // Prepare
      const parent = aGrant({ id: 'grant-parent', canDelegate: true });
      await createGrants(parent);
      const child = aGrant({ id: 'grant-child-1', subject: BOB, parentGrantId: parent.id, depth: 1, createdBy: ALICE.id });

      // Act
      await ports.delegations.createGrant(child, anEvent('grant.created'), parent);
      await revoke([parent]);
      const late = await captureError(
        ports.delegations.createGrant({ ...child, id: 'grant-child-2' }, anEvent('grant.created'), parent),
      );

      // Assess
      expect(late).toBeInstanceOf(ConflictError);
      expect(ids(await ports.delegations.listChildGrants(parent))).toEqual(['grant-child-1']);
    });

    it("createGrant writes the delegator's quota record with the grant, only over the version read", async () => {
      // Prepare
      const parent = aGrant({ id: 'grant-parent', subject: ALICE, canDelegate: true });
      await createGrants(parent);
      const first = aGrant({ id: 'grant-d1', subject: BOB, parentGrantId: parent.id, depth: 1, createdBy: ALICE.id });
      const second = aGrant({ id: 'grant-d2', subject: OPS, parentGrantId: parent.id, depth: 1, createdBy: ALICE.id });
      const entry = (grant: Grant): QuotaEntry => ({ id: grant.id, profile: grant.profile, subject: grant.subject, validUntil: grant.validUntil });
      const before = await ports.delegations.getDelegatorQuota(ALICE.id);

      // Act
      await ports.delegations.createGrant(first, anEvent('grant.created'), parent, { delegator: ALICE.id, expectedVersion: 0, grants: [entry(first)] });
      const raced = await captureError(
        ports.delegations.createGrant(second, anEvent('grant.created'), parent, { delegator: ALICE.id, expectedVersion: 0, grants: [entry(second)] }),
      );

      // Assess
      expect(before).toEqual({ delegator: ALICE.id, version: 0, grants: [] });
      expect(raced).toBeInstanceOf(ConflictError);
      expect(await ports.delegations.getGrant(second.id)).toBeUndefined();
      expect(await ports.delegations.getDelegatorQuota(ALICE.id)).toEqual({ delegator: ALICE.id, version: 1, grants: [entry(first)] });
    });

    it('activeGrantIds names the entries whose grant is still active at its key', async () => {
      // Prepare
      const [kept, revoked] = [aGrant({ id: 'grant-kept' }), aGrant({ id: 'grant-revoked' })];
      await createGrants(kept, revoked);
      await revoke([revoked]);
      const entry = (grant: Grant, overrides: Partial<QuotaEntry> = {}): QuotaEntry => ({
        id: grant.id,
        profile: grant.profile,
        subject: grant.subject,
        validUntil: grant.validUntil,
        ...overrides,
      });

      // Act
      const active = await ports.delegations.activeGrantIds([
        entry(kept),
        entry(revoked),
        entry(kept, { id: 'grant-none' }),
        { ...entry(kept), subject: BOB, id: 'grant-kept' },
      ]);

      // Assess
      expect([...active]).toEqual(['grant-kept']);
    });

    it('listGrants by profile reads in key order (subject, then id); by subject in profile, then id, order', async () => {
      // Prepare
      await createGrants(
        aGrant({ id: 'grant-b', subject: ALICE }),
        aGrant({ id: 'grant-a', subject: ALICE }),
        aGrant({ id: 'grant-c', subject: DEVELOPERS }),
        aGrant({ id: 'grant-0', subject: ALICE, profile: 'prod-admin' }),
      );

      // Act
      const onProfile = await ports.delegations.listGrants({ profile: PROFILE.name });
      const ofAlice = await ports.delegations.listGrants({ subject: ALICE });

      // Assess
      expect(ids(onProfile)).toEqual(['grant-c', 'grant-a', 'grant-b']);
      expect(ids(ofAlice)).toEqual(['grant-a', 'grant-b', 'grant-0']);
    });

    it('listGrants by creator lists what they created, oldest first; every filter given must hold', async () => {
      // Prepare
      await createGrants(
        aGrant({ id: 'grant-late', createdBy: BOB.id, createdAt: '2026-05-03T00:00:00.000Z' }),
        aGrant({ id: 'grant-early', createdBy: BOB.id, createdAt: '2026-05-01T00:00:00.000Z' }),
        aGrant({ id: 'grant-other', subject: OPS, createdBy: BOB.id, createdAt: '2026-05-02T00:00:00.000Z', profile: 'prod-admin' }),
        aGrant({ id: 'grant-admin', createdBy: ADMIN.id }),
      );

      // Act
      const byBob = await ports.delegations.listGrants({ createdBy: BOB.id });
      const byBobOnProfile = await ports.delegations.listGrants({ createdBy: BOB.id, profile: PROFILE.name });
      const byBobForOps = await ports.delegations.listGrants({ createdBy: BOB.id, subject: OPS });

      // Assess
      expect(ids(byBob)).toEqual(['grant-early', 'grant-other', 'grant-late']);
      expect(ids(byBobOnProfile)).toEqual(['grant-early', 'grant-late']);
      expect(ids(byBobForOps)).toEqual(['grant-other']);
    });

    it('listGrants without a filter lists every grant', async () => {
      // Prepare
      await createGrants(aGrant({ id: 'grant-1' }), aGrant({ id: 'grant-2', subject: OPS, profile: 'prod-admin' }));

      // Act
      const all = await ports.delegations.listGrants({});

      // Assess: a scan, in no promised order
      expect(ids(all).sort()).toEqual(['grant-1', 'grant-2']);
    });

    it('listGrantsForSubjects reads each subject in turn, across profiles: a subject named twice, twice', async () => {
      // Prepare
      await createGrants(
        aGrant({ id: 'grant-1', subject: ALICE, profile: 'prod-admin' }),
        aGrant({ id: 'grant-2', subject: ALICE }),
        aGrant({ id: 'grant-3', subject: DEVELOPERS }),
        aGrant({ id: 'grant-4', subject: OPS }),
      );

      // Act
      const listed = await ports.delegations.listGrantsForSubjects([DEVELOPERS, ALICE, DEVELOPERS]);

      // Assess
      expect(ids(listed)).toEqual(['grant-3', 'grant-2', 'grant-1', 'grant-3']);
    });

    it('listChildGrants lists the grants delegated directly from the parent, by id', async () => {
      // Prepare
      const parent = aGrant({ id: 'grant-p', canDelegate: true });
      const child = (id: string, parentGrantId: string, subject: Subject = BOB) => aGrant({ id, subject, parentGrantId, depth: 1, canDelegate: true });
      await createGrants(parent, aGrant({ id: 'grant-q', canDelegate: true, subject: OPS }));
      await createGrants(child('grant-p2', parent.id), child('grant-p1', parent.id, OPS), child('grant-q1', 'grant-q'));
      await createGrants(child('grant-p1a', 'grant-p1'));

      // Act
      const children = await ports.delegations.listChildGrants(parent);

      // Assess
      expect(ids(children)).toEqual(['grant-p1', 'grant-p2']);
    });

    it('revokeGrants revokes every grant, recording who and when and counting the change in its version', async () => {
      // Prepare
      const [first, second] = [aGrant({ id: 'grant-1' }), aGrant({ id: 'grant-2', subject: OPS, version: 1 })];
      await createGrants(first, second);
      const event = anEvent('grant.revoked');

      // Act
      const revoked = await ports.delegations.revokeGrants([first, second], SECURITY.id, inAMinute, event);

      // Assess
      expect(revoked).toBe(true);
      expect(await ports.delegations.getGrant(first.id)).toEqual({ ...first, status: 'revoked', revokedAt: inAMinute, revokedBy: SECURITY.id, version: 1 });
      expect(await ports.delegations.getGrant(second.id)).toEqual({ ...second, status: 'revoked', revokedAt: inAMinute, revokedBy: SECURITY.id, version: 2 });
      expect((await recordedBy(ADMIN.id))[0]).toBe(event.id);
    });

    it('revokeGrants writes nothing when one of the grants is no longer active', async () => {
      // Prepare
      const [first, second] = [aGrant({ id: 'grant-1' }), aGrant({ id: 'grant-2' })];
      await createGrants(first, second);
      await revoke([second]);
      const event = anEvent('grant.revoked');

      // Act
      const revoked = await ports.delegations.revokeGrants([first, second], ADMIN.id, NOW.toISOString(), event, anOrder('order-1'));

      // Assess
      expect(revoked).toBe(false);
      expect((await ports.delegations.getGrant(first.id))?.status).toBe('active');
      expect(await recordedBy(ADMIN.id)).not.toContain(event.id);
      expect(await ports.orders.list()).toEqual([]);
    });

    it('of two revocations of one grant at once, exactly one succeeds and is recorded', async () => {
      // Prepare
      const grant = aGrant();
      await createGrants(grant);
      const [first, second] = [anEvent('grant.revoked'), anEvent('grant.revoked')];

      // Act
      const outcomes = await Promise.all([
        ports.delegations.revokeGrants([grant], ADMIN.id, NOW.toISOString(), first),
        ports.delegations.revokeGrants([grant], SECURITY.id, NOW.toISOString(), second),
      ]);

      // Assess
      expect([...outcomes].sort()).toEqual([false, true]);
      const recorded = await recordedBy(ADMIN.id);
      expect([first.id, second.id].filter((id) => recorded.includes(id))).toHaveLength(1);
      expect((await ports.delegations.getGrant(grant.id))?.version).toBe(1);
    });

    it('revokeGrants finds a grant at its key only: named with another subject, it is not there to revoke', async () => {
      // Prepare
      const grant = aGrant();
      await createGrants(grant);

      // Act
      const revoked = await revoke([{ ...grant, subject: BOB }]);

      // Assess
      expect(revoked).toBe(false);
      expect((await ports.delegations.getGrant(grant.id))?.status).toBe('active');
    });

    it('revokeGrants takes 1 to MAX_GRANTS_PER_REVOCATION grants', async () => {
      // Prepare
      const tooMany = Array.from({ length: MAX_GRANTS_PER_REVOCATION + 1 }, (_, i) => aGrant({ id: `grant-${i}` }));

      // Act
      const none = await captureError(ports.delegations.revokeGrants([], ADMIN.id, NOW.toISOString(), anEvent('grant.revoked')));
      const over = await captureError(ports.delegations.revokeGrants(tooMany, ADMIN.id, NOW.toISOString(), anEvent('grant.revoked')));

      // Assess
      expect(none).toBeInstanceOf(RangeError);
      expect(over).toBeInstanceOf(RangeError);
    });

    it('revokeGrants keeps its cut-off order for the schedule, raises the cut-off epoch and shows vends what it cut off', async () => {
      // Prepare
      const grant = aGrant();
      await createGrants(grant);
      const order = anOrder('order-1');

      // Act
      await revoke([grant], order);

      // Assess
      expect(await ports.orders.list()).toEqual([order]);
      expect(await ports.lockdown.getCutOffEpoch()).toBe(1);
      expect(await ports.lockdownReads.getLockdownAndCutOffs(NOW)).toEqual({
        lockdown: undefined,
        cutOffEpoch: 1,
        recentCutOffs: [{ roles: order.roles, revocations: order.revocations }],
      });
    });

    it('revokeGrants without an order still raises the cut-off epoch', async () => {
      // Prepare
      const [first, second] = [aGrant({ id: 'grant-1' }), aGrant({ id: 'grant-2' })];
      await createGrants(first, second);

      // Act
      await revoke([first]);
      await revoke([second]);

      // Assess
      expect(await ports.lockdown.getCutOffEpoch()).toBe(2);
    });
  });

  describe('ProfileGrantsReader: what a vend reads', () => {
    beforeEach(async () => {
      await putProfiles(PROFILE, aProfile({ name: 'prod-admin' }));
    });

    it("reads the profile and the subjects' active grants that end at or after now, per subject by end", async () => {
      // Prepare
      await createGrants(
        aGrant({ id: 'grant-a-long', subject: ALICE, validUntil: '2026-12-01T00:00:00.000Z' }),
        aGrant({ id: 'grant-b-short', subject: ALICE, validUntil: '2026-06-02T00:00:00.000Z' }),
        aGrant({ id: 'grant-ends-now', subject: ALICE, validUntil: NOW.toISOString() }),
        aGrant({ id: 'grant-expired', subject: ALICE, validUntil: '2026-06-01T11:59:59.999Z' }),
        aGrant({ id: 'grant-revoked', subject: ALICE }),
        aGrant({ id: 'grant-developers', subject: DEVELOPERS }),
        aGrant({ id: 'grant-ops', subject: OPS }),
        aGrant({ id: 'grant-other-profile', subject: ALICE, profile: 'prod-admin' }),
      );
      await revoke([aGrant({ id: 'grant-revoked', subject: ALICE })]);

      // Act
      const read = await ports.vendReads.getProfileWithGrants(PROFILE.name, [ALICE, DEVELOPERS, ALICE], NOW);

      // Assess
      expect(read.profile).toEqual(PROFILE);
      expect(ids(read.grants)).toEqual(['grant-ends-now', 'grant-b-short', 'grant-a-long', 'grant-developers']);
      expect(read.grants[3]).toEqual(aGrant({ id: 'grant-developers', subject: DEVELOPERS }));
    });

    it('reads no profile where there is none, and never a grant whose end does not parse', async () => {
      // Prepare
      await createGrants(aGrant({ id: 'grant-bad-end', validUntil: 'soon' }));

      // Act
      const missing = await ports.vendReads.getProfileWithGrants('no-such-profile', [ALICE], NOW);
      const bad = await ports.vendReads.getProfileWithGrants(PROFILE.name, [ALICE], NOW);

      // Assess
      expect(missing).toEqual({ grants: [] });
      expect(bad).toEqual({ profile: PROFILE, grants: [] });
    });

    it('explains a refusal per subject with the active grant that expired last', async () => {
      // Prepare
      await createGrants(
        aGrant({ id: 'grant-expired-first', subject: ALICE, validUntil: '2026-05-01T00:00:00.000Z' }),
        aGrant({ id: 'grant-expired-last', subject: ALICE, validUntil: '2026-05-20T00:00:00.000Z' }),
        aGrant({ id: 'grant-revoked-expired', subject: ALICE, validUntil: '2026-05-30T00:00:00.000Z' }),
        aGrant({ id: 'grant-developers-expired', subject: DEVELOPERS, validUntil: '2026-05-10T00:00:00.000Z' }),
        aGrant({ id: 'grant-current', subject: ALICE }),
      );
      await revoke([aGrant({ id: 'grant-revoked-expired', subject: ALICE, validUntil: '2026-05-30T00:00:00.000Z' })]);

      // Act
      const ended = await ports.vendReads.getEndedGrants(PROFILE.name, [ALICE, DEVELOPERS, OPS], NOW);

      // Assess
      expect(ids(ended)).toEqual(['grant-expired-last', 'grant-developers-expired']);
    });
  });

  describe('EngagementStore', () => {
    const OWNER = 'owner@example.com';
    const HANDOVER_AT = '2026-06-02T09:00:00.000Z';

    const anEngagement = (overrides: Partial<Engagement> = {}): Engagement => ({
      id: 'eng-00000001',
      name: 'Checkout rewrite',
      owner: OWNER,
      contractors: ['carla@contractor.example', 'carl@contractor.example'],
      profiles: [{ profile: PROFILE.name, scope: { actions: ['s3:GetObject'] }, maxSessionSeconds: 1800 }],
      validUntil: '2026-07-01T00:00:00.000Z',
      status: 'active',
      createdBy: ADMIN.id,
      createdAt: NOW.toISOString(),
      version: 1,
      ...overrides,
    });

    const contractorGrants = (engagement: Engagement): Grant[] =>
      engagement.contractors.map((contractor, i) =>
        aGrant({ id: `${engagement.id}-c${i}`, subject: { type: 'user', id: contractor }, engagementId: engagement.id, validUntil: engagement.validUntil }),
      );

    const handedOver = (engagement: Engagement, revoked: readonly Grant[], created: readonly Grant[]): Engagement => ({
      ...engagement,
      status: 'handed-over',
      version: engagement.version + 1,
      handover: {
        at: HANDOVER_AT,
        by: OWNER,
        to: [OWNER],
        note: 'shipped',
        revokedGrants: ids(revoked),
        newGrants: ids(created),
        cutOffOrder: `order-${engagement.id}`,
      },
    });

    const handoverOrder = (engagement: Engagement): CutOffOrder =>
      anOrder(`order-${engagement.id}`, {
        cause: 'engagement-handed-over',
        decidedAt: HANDOVER_AT,
        decidedBy: OWNER,
        revocations: engagement.contractors.map((contractor) => ({ kind: 'person' as const, sourceIdentity: contractor, before: HANDOVER_AT })),
        context: { engagementId: engagement.id },
      });

    const ownerGrant = aGrant({ id: 'grant-owner', subject: { type: 'user', id: OWNER }, canDelegate: true });

    beforeEach(async () => {
      await putProfiles(PROFILE);
    });

    it('createEngagement writes the engagement and its grants; they read back in the order made, and the vend finds the grants', async () => {
      // Prepare
      const engagement = anEngagement();
      const grants = contractorGrants(engagement);
      const event = anEvent('engagement.created', { profiles: [PROFILE.name] });

      // Act
      await ports.engagements.createEngagement(engagement, grants, event, []);

      // Assess
      expect(await ports.engagements.getEngagement(engagement.id)).toEqual(engagement);
      expect(await ports.engagements.getEngagementWithGrants(engagement.id)).toEqual({ engagement, grants });
      const carla = await ports.vendReads.getProfileWithGrants(PROFILE.name, [{ type: 'user', id: 'carla@contractor.example' }], NOW);
      expect(carla.grants).toEqual([grants[0]]);
      expect(await recordedBy(ADMIN.id)).toContain(event.id);
    });

    it('reads nothing of an engagement that does not exist', async () => {
      // Act
      const engagement = await ports.engagements.getEngagement('eng-none');
      const withGrants = await ports.engagements.getEngagementWithGrants('eng-none');

      // Assess
      expect(engagement).toBeUndefined();
      expect(withGrants).toBeUndefined();
    });

    it('createEngagement refuses (ConflictError) an id taken, a grant key taken or a parent no longer active, writing nothing', async () => {
      // Prepare
      const first = anEngagement();
      await ports.engagements.createEngagement(first, contractorGrants(first), anEvent('engagement.created', { profiles: [PROFILE.name] }), []);
      await createGrants(ownerGrant);
      await revoke([ownerGrant]);
      const second = anEngagement({ id: 'eng-00000002' });

      // Act
      const idTaken = await captureError(
        ports.engagements.createEngagement({ ...first, name: 'again' }, [], anEvent('engagement.created', { profiles: [PROFILE.name] }), []),
      );
      const grantTaken = await captureError(
        ports.engagements.createEngagement(second, contractorGrants(first), anEvent('engagement.created', { profiles: [PROFILE.name] }), []),
      );
      const parentRevoked = await captureError(
        ports.engagements.createEngagement(second, contractorGrants(second), anEvent('engagement.created', { profiles: [PROFILE.name] }), [ownerGrant]),
      );

      // Assess
      expect(idTaken).toBeInstanceOf(ConflictError);
      expect(grantTaken).toBeInstanceOf(ConflictError);
      expect(parentRevoked).toBeInstanceOf(ConflictError);
      expect(await ports.engagements.getEngagement(first.id)).toEqual(first);
      expect(await ports.engagements.getEngagement(second.id)).toBeUndefined();
      expect(await ports.delegations.getGrant(`${second.id}-c0`)).toBeUndefined();
    });

    it('listEngagements lists every engagement, oldest first', async () => {
      // Prepare
      const later = anEngagement({ id: 'eng-00000001', createdAt: '2026-06-01T12:00:00.000Z' });
      const earlier = anEngagement({ id: 'eng-00000002', createdAt: '2026-05-01T12:00:00.000Z' });
      for (const engagement of [later, earlier]) {
        await ports.engagements.createEngagement(engagement, [], anEvent('engagement.created', { profiles: [PROFILE.name] }), []);
      }

      // Act
      const listed = await ports.engagements.listEngagements();

      // Assess
      expect(listed).toEqual([earlier, later]);
    });

    it('handOver revokes the contractors as handed over, creates the new grants, keeps the cut-off order and raises the epoch, all at once', async () => {
      // Prepare
      const engagement = anEngagement();
      const grants = contractorGrants(engagement);
      await createGrants(ownerGrant);
      await ports.engagements.createEngagement(engagement, grants, anEvent('engagement.created', { profiles: [PROFILE.name] }), [ownerGrant]);
      const created = [aGrant({ id: 'grant-new', subject: { type: 'user', id: 'olga@example.com' }, engagementId: engagement.id, parentGrantId: ownerGrant.id, depth: 1 })];
      const next = handedOver(engagement, grants, created);
      const order = handoverOrder(engagement);
      const event = anEvent('handover.completed', { profiles: [PROFILE.name] });

      // Act
      const done = await ports.engagements.handOver(next, engagement.version, grants, created, event, order, [ownerGrant]);

      // Assess
      expect(done).toBe(true);
      const revoked = grants.map((grant) => ({
        ...grant,
        status: 'revoked',
        revokedAt: HANDOVER_AT,
        revokedBy: OWNER,
        revokedReason: 'engagement-handed-over',
        version: 1,
      }));
      expect(await ports.engagements.getEngagementWithGrants(engagement.id)).toEqual({ engagement: next, grants: [...revoked, ...created] });
      expect(await ports.orders.list()).toEqual([order]);
      expect(await ports.lockdown.getCutOffEpoch()).toBe(1);
      expect((await ports.lockdownReads.getLockdownAndCutOffs(new Date(HANDOVER_AT))).recentCutOffs).toEqual([{ roles: order.roles, revocations: order.revocations }]);
      expect(await recordedBy(ADMIN.id)).toContain(event.id);
    });

    it('a handed-over grant explains a refusal until its end', async () => {
      // Prepare
      const engagement = anEngagement();
      const grants = contractorGrants(engagement);
      await ports.engagements.createEngagement(engagement, grants, anEvent('engagement.created', { profiles: [PROFILE.name] }), []);
      await ports.engagements.handOver(handedOver(engagement, grants, []), 1, grants, [], anEvent('handover.completed', { profiles: [PROFILE.name] }), handoverOrder(engagement), []);
      const carla: Subject = { type: 'user', id: 'carla@contractor.example' };

      // Act
      const beforeEnd = await ports.vendReads.getEndedGrants(PROFILE.name, [carla], NOW);
      const afterEnd = await ports.vendReads.getEndedGrants(PROFILE.name, [carla], new Date('2026-07-02T00:00:00.000Z'));
      const vend = await ports.vendReads.getProfileWithGrants(PROFILE.name, [carla], NOW);

      // Assess
      expect(ids(beforeEnd)).toEqual([grants[0]?.id]);
      expect(beforeEnd[0]).toMatchObject({ status: 'revoked', revokedReason: 'engagement-handed-over' });
      expect(afterEnd).toEqual([]);
      expect(vend.grants).toEqual([]);
    });

    it('handOver is false and writes nothing when the engagement moved on or a grant to revoke is no longer active', async () => {
      // Prepare
      const engagement = anEngagement();
      const grants = contractorGrants(engagement);
      await ports.engagements.createEngagement(engagement, grants, anEvent('engagement.created', { profiles: [PROFILE.name] }), []);
      const created = [aGrant({ id: 'grant-new', subject: { type: 'user', id: OWNER } })];

      // Act
      const staleVersion = await ports.engagements.handOver(
        handedOver({ ...engagement, version: 2 }, grants, created),
        2,
        grants,
        created,
        anEvent('handover.completed', { profiles: [PROFILE.name] }),
        handoverOrder(engagement),
        [],
      );
      await revoke([grants[1] as Grant]);
      const grantRevoked = await ports.engagements.handOver(
        handedOver(engagement, grants, created),
        1,
        grants,
        created,
        anEvent('handover.completed', { profiles: [PROFILE.name] }),
        handoverOrder(engagement),
        [],
      );

      // Assess
      expect([staleVersion, grantRevoked]).toEqual([false, false]);
      expect(await ports.engagements.getEngagement(engagement.id)).toEqual(engagement);
      expect((await ports.delegations.getGrant(grants[0]?.id as string))?.status).toBe('active');
      expect(await ports.delegations.getGrant('grant-new')).toBeUndefined();
      expect(await ports.orders.list()).toEqual([]);
    });
  });

  describe('LockdownStore and LockdownReader', () => {
    const activation = (overrides: Partial<Lockdown> = {}) => aLockdown({ version: 1, ...overrides });
    const lift = (lockdown: Lockdown): Lockdown => ({
      ...lockdown,
      active: false,
      liftedBy: SECURITY.id,
      liftedAt: '2026-06-01T13:00:00.000Z',
      liftReason: 'all clear',
      version: lockdown.version + 1,
    });

    it('reads no lockdown and epoch 0 before the first decision', async () => {
      // Act
      const lockdown = await ports.lockdown.getLockdown();
      const epoch = await ports.lockdown.getCutOffEpoch();
      const forVend = await ports.lockdownReads.getLockdownAndCutOffs(NOW);

      // Assess
      expect(lockdown).toBeUndefined();
      expect(epoch).toBe(0);
      expect(forVend).toEqual({ lockdown: undefined, cutOffEpoch: 0, recentCutOffs: [] });
    });

    it('putLockdown activates and lifts, each only over the version read (0: none stored)', async () => {
      // Prepare
      const active = activation({ roles: [ROLE], profiles: [PROFILE.name], allow: { groups: ['top-brass'], principals: ['ceo@example.com'] } });

      // Act
      const activated = await ports.lockdown.putLockdown(active, 0, anEvent('lockdown.activated', { profiles: active.profiles }, SECURITY));
      const raced = await ports.lockdown.putLockdown(activation({ reason: 'racing' }), 0, anEvent('lockdown.activated', { profiles: ['*'] }, SECURITY));
      const lifted = await ports.lockdown.putLockdown(lift(active), 1, anEvent('lockdown.lifted', { profiles: active.profiles }, SECURITY));
      const staleLift = await ports.lockdown.putLockdown(lift(active), 1, anEvent('lockdown.lifted', { profiles: active.profiles }, SECURITY));

      // Assess
      expect([activated, raced, lifted, staleLift]).toEqual([true, false, true, false]);
      expect(await ports.lockdown.getLockdown()).toEqual(lift(active));
      expect((await ports.lockdownReads.getLockdownAndCutOffs(NOW)).lockdown).toEqual(lift(active));
      expect(await ports.lockdown.getCutOffEpoch()).toBe(0);
    });

    it('of two activations racing from no lockdown, exactly one is written', async () => {
      // Act
      const outcomes = await Promise.all(
        ['first', 'second'].map((reason) => ports.lockdown.putLockdown(activation({ reason }), 0, anEvent('lockdown.activated', { profiles: ['*'] }, SECURITY))),
      );

      // Assess
      expect([...outcomes].sort()).toEqual([false, true]);
      expect((await ports.lockdown.getLockdown())?.reason).toBe(outcomes[0] ? 'first' : 'second');
    });

    it('putLockdown records its audit event with the change, and nothing for a change refused', async () => {
      // Prepare
      const written = anEvent('lockdown.activated', { profiles: ['*'] }, SECURITY);
      const refused = anEvent('lockdown.activated', { profiles: ['*'] }, SECURITY);

      // Act
      await ports.lockdown.putLockdown(activation(), 0, written);
      await ports.lockdown.putLockdown(activation(), 0, refused);

      // Assess
      expect(await recordedBy(SECURITY.id)).toEqual([written.id]);
    });

    it('putLockdown writes nothing when its cut-off order id is pending already', async () => {
      // Prepare
      const order = anOrder('order-lockdown', { cause: 'lockdown' });
      await ports.lockdown.putLockdown(activation(), 0, anEvent('lockdown.activated', { profiles: ['*'] }, SECURITY), order);

      // Act
      const again = await ports.lockdown.putLockdown(lift(activation()), 1, anEvent('lockdown.lifted', { profiles: ['*'] }, SECURITY), { ...order, roles: [] });

      // Assess
      expect(again).toBe(false);
      expect(await ports.lockdown.getLockdown()).toEqual(activation());
      expect(await ports.orders.list()).toEqual([order]);
      expect(await ports.lockdown.getCutOffEpoch()).toBe(1);
    });

    it('putLockdown with a cut-off order raises the epoch and shows vends what it cut off while it can reach new sessions', async () => {
      // Prepare
      const order = anOrder('order-lockdown', {
        cause: 'lockdown',
        revocations: [{ kind: 'lockdown', allowedSourceIdentities: ['ceo@example.com'], before: inAMinute }],
        context: { lockdownVersion: '1' },
      });

      // Act
      await ports.lockdown.putLockdown(activation(), 0, anEvent('lockdown.activated', { profiles: ['*'] }, SECURITY), order);

      // Assess
      const cutOff = { roles: order.roles, revocations: order.revocations };
      expect(await ports.lockdownReads.getLockdownAndCutOffs(NOW)).toEqual({ lockdown: activation(), cutOffEpoch: 1, recentCutOffs: [cutOff] });
      expect((await ports.lockdownReads.getLockdownAndCutOffs(new Date(Date.parse(inAMinute) + 1_999))).recentCutOffs).toEqual([cutOff]);
      expect((await ports.lockdownReads.getLockdownAndCutOffs(new Date(Date.parse(inAMinute) + 2_000))).recentCutOffs).toEqual([]);
      expect(await ports.orders.list()).toEqual([order]);
    });

    it('shows the recent cut-offs of several decisions, the one reaching furthest first', async () => {
      // Prepare
      const [soon, later] = [anOrder('order-a', { revocations: [{ kind: 'role-wide', before: inAMinute }] }), anOrder('order-b', { revocations: [{ kind: 'grant', grantId: 'grant-0002', before: '2026-06-01T12:05:00.000Z' }] })];
      await putProfiles(PROFILE);
      await createGrants(aGrant({ id: 'grant-1' }), aGrant({ id: 'grant-2' }));

      // Act
      await revoke([aGrant({ id: 'grant-1' })], soon);
      await revoke([aGrant({ id: 'grant-2' })], later);

      // Assess
      const { recentCutOffs, cutOffEpoch } = await ports.lockdownReads.getLockdownAndCutOffs(NOW);
      expect(recentCutOffs).toEqual([later, soon].map((order) => ({ roles: order.roles, revocations: order.revocations })));
      expect(cutOffEpoch).toBe(2);
    });
  });

  describe('RequestStore', () => {
    const APPROVER = 'carol@example.com';
    const REQUESTABLE = aProfile({
      name: 'prod-read',
      roleArn: 'arn:aws:iam::123456789012:role/tvm-prod-read',
      requestable: { approverGroups: ['prod-approvers'], approvals: 1, maxDurationSeconds: 14_400, requireReason: false, pendingSeconds: 86_400 },
    });

    const aRequest = (overrides: Partial<AccessRequest> = {}): AccessRequest => {
      const createdAt = overrides.createdAt ?? NOW.toISOString();
      return {
        id: 'req-00000001',
        profile: REQUESTABLE.name,
        profileGeneration: REQUESTABLE.generation,
        roleArn: REQUESTABLE.roleArn,
        requester: ALICE.id,
        requesterGroups: ['developers'],
        durationSeconds: 3600,
        reason: 'incident review',
        status: 'pending',
        approvals: [],
        approvalsRequired: 1,
        approverGroups: ['prod-approvers'],
        createdAt,
        expiresAt: '2026-06-02T12:00:00.000Z',
        history: [{ action: 'created', by: ALICE.id, at: createdAt }],
        version: 1,
        ...overrides,
      };
    };

    const requestGrant = (request: AccessRequest) =>
      aGrant({ id: `grant-${request.id}`, profile: request.profile, profileGeneration: request.profileGeneration, subject: ALICE, requestId: request.id, createdBy: APPROVER });

    const approved = (request: AccessRequest): AccessRequest => ({
      ...request,
      status: 'approved',
      approvals: [{ by: APPROVER, at: inAMinute }],
      grantId: `grant-${request.id}`,
      grantValidFrom: inAMinute,
      grantValidUntil: '2026-06-01T13:01:00.000Z',
      history: [...request.history, { action: 'approved', by: APPROVER, at: inAMinute }],
      version: request.version + 1,
    });

    const requestEvent = (type: AdminAuditEvent['type'], by = ALICE.id) => anEvent(type, { profile: REQUESTABLE.name }, aPrincipal({ id: by }));

    beforeEach(async () => {
      await putProfiles(REQUESTABLE);
    });

    it('reads the profiles it decides on', async () => {
      // Act
      const profile = await ports.requests.getProfile(REQUESTABLE.name);
      const profiles = await ports.requests.listProfiles();

      // Assess
      expect(profile).toEqual(REQUESTABLE);
      expect(profiles).toEqual([REQUESTABLE]);
    });

    it('createRequest stores a pending request, read back exactly, and counts it against its requester', async () => {
      // Prepare
      const request = aRequest({ scope: { actions: ['s3:GetObject'] }, startAt: '2026-06-01T14:00:00.000Z' });
      const event = requestEvent('request.created');

      // Act
      const created = await ports.requests.createRequest(request, event, 3);

      // Assess
      expect(created).toBe(true);
      expect(await ports.requests.getRequest(request.id)).toEqual(request);
      expect(await ports.requests.getRequest('req-none')).toBeUndefined();
      expect(await ports.requests.pendingCount(ALICE.id)).toBe(1);
      expect(await ports.requests.pendingCount(BOB.id)).toBe(0);
      expect(await recordedBy(ALICE.id)).toEqual([event.id]);
    });

    it('createRequest refuses once the requester has maxPending pending, for a profile at another generation, and an id taken', async () => {
      // Prepare
      await ports.requests.createRequest(aRequest(), requestEvent('request.created'), 2);

      // Act
      const idTaken = await ports.requests.createRequest(aRequest({ reason: 'again' }), requestEvent('request.created'), 2);
      const otherGeneration = await ports.requests.createRequest(aRequest({ id: 'req-2', profileGeneration: 'old' }), requestEvent('request.created'), 2);
      const second = await ports.requests.createRequest(aRequest({ id: 'req-3' }), requestEvent('request.created'), 2);
      const third = await ports.requests.createRequest(aRequest({ id: 'req-4' }), requestEvent('request.created'), 2);

      // Assess
      expect([idTaken, otherGeneration, second, third]).toEqual([false, false, true, false]);
      expect(await ports.requests.pendingCount(ALICE.id)).toBe(2);
      expect(await ports.requests.getRequest('req-00000001')).toEqual(aRequest());
      expect(await ports.requests.getRequest('req-4')).toBeUndefined();
    });

    it('updateRequest replaces the request only over the version read; leaving pending lowers the count', async () => {
      // Prepare
      const request = aRequest();
      await ports.requests.createRequest(request, requestEvent('request.created'), 3);
      const cancelled: AccessRequest = { ...request, status: 'cancelled', history: [...request.history, { action: 'cancelled', by: ALICE.id, at: inAMinute }], version: 2 };

      // Act
      const stale = await ports.requests.updateRequest(cancelled, 2, requestEvent('request.cancelled'), { leavesPending: true });
      const done = await ports.requests.updateRequest(cancelled, 1, requestEvent('request.cancelled'), { leavesPending: true });

      // Assess
      expect([stale, done]).toEqual([false, true]);
      expect(await ports.requests.getRequest(request.id)).toEqual(cancelled);
      expect(await ports.requests.pendingCount(ALICE.id)).toBe(0);
    });

    it('the approval creates its grant only while the profile and the lockdown are as read; the grant is what the vend reads', async () => {
      // Prepare
      const request = aRequest();
      await ports.requests.createRequest(request, requestEvent('request.created'), 3);
      const grant = requestGrant(request);
      const approve = (profileUpdatedAt: string, lockdownVersion: number) =>
        ports.requests.updateRequest(approved(request), 1, requestEvent('request.approved', APPROVER), {
          createGrant: { grant, profileUpdatedAt, lockdownVersion },
          leavesPending: true,
        });

      // Act
      const profileChanged = await approve('2026-05-01T00:00:00.000Z', 0);
      const lockdownMoved = await approve(REQUESTABLE.updatedAt, 1);
      const done = await approve(REQUESTABLE.updatedAt, 0);

      // Assess
      expect([profileChanged, lockdownMoved, done]).toEqual([false, false, true]);
      expect(await ports.requests.getGrantOf(approved(request))).toEqual(grant);
      expect(await ports.requests.getGrantOf(request)).toBeUndefined();
      expect((await ports.vendReads.getProfileWithGrants(REQUESTABLE.name, [ALICE], NOW)).grants).toEqual([grant]);
      expect(await ports.requests.pendingCount(ALICE.id)).toBe(0);
    });

    it('the approval checks the lockdown at the version it read', async () => {
      // Prepare
      const request = aRequest();
      await ports.requests.createRequest(request, requestEvent('request.created'), 3);
      await ports.lockdown.putLockdown(aLockdown({ version: 1 }), 0, anEvent('lockdown.activated', { profiles: ['*'] }, SECURITY));
      const approve = (lockdownVersion: number) =>
        ports.requests.updateRequest(approved(request), 1, requestEvent('request.approved', APPROVER), {
          createGrant: { grant: requestGrant(request), profileUpdatedAt: REQUESTABLE.updatedAt, lockdownVersion },
        });

      // Act
      const unseen = await approve(0);
      const seen = await approve(1);

      // Assess
      expect([unseen, seen]).toEqual([false, true]);
    });

    it('revoking revokes the grant with the cut-off of its sessions, and raises the epoch', async () => {
      // Prepare
      const request = aRequest();
      await ports.requests.createRequest(request, requestEvent('request.created'), 3);
      const grant = requestGrant(request);
      await ports.requests.updateRequest(approved(request), 1, requestEvent('request.approved', APPROVER), {
        createGrant: { grant, profileUpdatedAt: REQUESTABLE.updatedAt, lockdownVersion: 0 },
        leavesPending: true,
      });
      const revoked: AccessRequest = { ...approved(request), status: 'revoked', version: 3 };
      const order = anOrder('order-request', { roles: [REQUESTABLE.roleArn], revocations: [{ kind: 'grant', grantId: grant.id, before: inAMinute }] });
      const event = requestEvent('request.revoked', SECURITY.id);

      // Act
      const done = await ports.requests.updateRequest(revoked, 2, event, { revokeGrant: grant, order });
      const again = await ports.requests.updateRequest({ ...revoked, version: 4 }, 3, requestEvent('request.revoked', SECURITY.id), { revokeGrant: grant });

      // Assess
      expect([done, again]).toEqual([true, false]);
      expect(await ports.requests.getGrantOf(revoked)).toEqual({ ...grant, status: 'revoked', revokedAt: event.at, revokedBy: SECURITY.id, version: 1 });
      expect(await ports.orders.list()).toEqual([order]);
      expect(await ports.lockdown.getCutOffEpoch()).toBe(1);
    });

    it('listRequests lists by requester, the pending ones and all, newest first, at most `limit`', async () => {
      // Prepare
      const [oldest, middle, newest] = ['2026-06-01T09:00:00.000Z', '2026-06-01T10:00:00.000Z', '2026-06-01T11:00:00.000Z'];
      const mine = aRequest({ id: 'req-a', createdAt: middle });
      const cancelled = aRequest({ id: 'req-b', createdAt: oldest });
      const bobs = aRequest({ id: 'req-c', requester: BOB.id, createdAt: newest, history: [{ action: 'created', by: BOB.id, at: newest }] });
      for (const request of [mine, cancelled, bobs]) await ports.requests.createRequest(request, requestEvent('request.created', request.requester), 3);
      const cancel: AccessRequest = { ...cancelled, status: 'cancelled', version: 2 };
      await ports.requests.updateRequest(cancel, 1, requestEvent('request.cancelled'), { leavesPending: true });

      // Act
      const alices = await ports.requests.listRequests({ requester: ALICE.id }, 10);
      const pending = await ports.requests.listRequests({ pending: true }, 10);
      const all = await ports.requests.listRequests({ all: true }, 10);
      const newestTwo = await ports.requests.listRequests({ all: true }, 2);

      // Assess
      expect(alices).toEqual([mine, cancel]);
      expect(ids(pending)).toEqual(['req-c', 'req-a']);
      expect(ids(all)).toEqual(['req-c', 'req-a', 'req-b']);
      expect(ids(newestTwo)).toEqual(['req-c', 'req-a']);
    });
  });

  describe('RateLimiter', () => {
    it('allows `limit` vends a window and refuses the next, only the first refusal marked first, with the wait to the window end', async () => {
      // Prepare
      const limiter = ports.rateLimiter(3, 60);
      const at = new Date('2026-06-01T12:00:15.500Z');

      // Act
      const decisions: RateLimitDecision[] = [];
      for (let i = 0; i < 5; i++) decisions.push(await limiter.take(ALICE.id, at));

      // Assess
      expect(decisions).toEqual([
        { allowed: true },
        { allowed: true },
        { allowed: true },
        { allowed: false, retryAfterSeconds: 45, firstRefusal: true },
        { allowed: false, retryAfterSeconds: 45, firstRefusal: false },
      ]);
    });

    it('of a flood of vends at once, exactly `limit` are allowed and one refusal is the first', async () => {
      // Prepare
      const limiter = ports.rateLimiter(3, 60);

      // Act
      const decisions = await Promise.all(Array.from({ length: 10 }, () => limiter.take(ALICE.id, NOW)));

      // Assess
      expect(decisions.filter((decision) => decision.allowed)).toHaveLength(3);
      expect(decisions.filter((decision) => !decision.allowed && decision.firstRefusal)).toHaveLength(1);
    });

    it('counts each principal apart, and each window from zero', async () => {
      // Prepare
      const limiter = ports.rateLimiter(1, 60);
      await limiter.take(ALICE.id, NOW);

      // Act
      const sameWindow = await limiter.take(ALICE.id, new Date(NOW.getTime() + 59_999));
      const otherPrincipal = await limiter.take(BOB.id, NOW);
      const nextWindow = await limiter.take(ALICE.id, new Date(NOW.getTime() + 60_000));

      // Assess
      expect(sameWindow).toMatchObject({ allowed: false, firstRefusal: true, retryAfterSeconds: 1 });
      expect(otherPrincipal).toEqual({ allowed: true });
      expect(nextWindow).toEqual({ allowed: true });
    });
  });

  describe('AuditLog and AuditWriter', () => {
    const KEY = 'ASIAFAKEACCESSKEY001';
    const issuance = anIssuance({ at: '2026-06-01T11:30:00.000Z', expiration: '2026-06-01T12:30:00.000Z' });
    const use = (eventTime: string, overrides: Partial<CredentialUsedEvent> = {}) =>
      aUse(issuance, { eventTime, recordedAt: new Date(Date.parse(eventTime) + 300_000).toISOString(), ...overrides });

    const appendAll = async (...events: AuditEvent[]) => {
      for (const event of events) expect(await ports.audit.append(event)).toBe('appended');
    };

    it('reads back by principal what was appended, newest first, a page at a time', async () => {
      // Prepare
      const events = [anEvent('profile.put'), anEvent('grant.created'), anEvent('grant.revoked'), anEvent('profile.put', { profile: 'x' }, SECURITY)];
      for (const event of events.slice(0, 2)) expect(await ports.auditWriter.append(event)).toBe('appended');
      await appendAll(...events.slice(2));

      // Act
      const first = await ports.audit.query({ principal: ADMIN.id, limit: 2 });
      const second = await ports.audit.query({ principal: ADMIN.id, limit: 2, cursor: first.nextCursor as string });

      // Assess
      expect(first).toEqual({ events: [events[2], events[1]], nextCursor: events[1]?.id });
      expect(second).toEqual({ events: [events[0]] });
    });

    it('pages within from and to with a cursor: nothing outside them, nothing twice, the cursor always moving down', async () => {
      // Prepare: five events a second apart; from and to leave out the newest and the oldest
      const events = [anEvent('profile.put'), anEvent('grant.created'), anEvent('grant.revoked'), anEvent('grant.created'), anEvent('profile.put')];
      await appendAll(...events);
      const range = { principal: ADMIN.id, from: events[1]?.at as string, to: events[3]?.at as string };

      // Act
      const first = await ports.audit.query({ ...range, limit: 2 });
      const second = await ports.audit.query({ ...range, limit: 2, cursor: first.nextCursor as string });
      const typed = await ports.audit.query({ ...range, type: 'grant.created', limit: 1, cursor: events[3]?.id as string });

      // Assess
      expect(first).toEqual({ events: [events[3], events[2]], nextCursor: events[2]?.id });
      expect(second).toEqual({ events: [events[1]] });
      expect(typed).toEqual({ events: [events[1]] });
    });

    it('with a onceKey, the first append is written and later ones are duplicates', async () => {
      // Prepare
      const [first, second] = [anEvent('profile.put'), anEvent('profile.put')];

      // Act
      const results = [await ports.audit.append(first, { onceKey: 'alert#1' }), await ports.audit.append(second, { onceKey: 'alert#1' })];

      // Assess
      expect(results).toEqual(['appended', 'duplicate']);
      expect(await recordedBy(ADMIN.id)).toEqual([first.id]);
      expect(await ports.audit.isRecordedOnce('alert#1')).toBe(true);
      expect(await ports.audit.isRecordedOnce('alert#2')).toBe(false);
    });

    it('queries by profile find the events about it, those about several profiles including it, and those about every profile', async () => {
      // Prepare
      const own = anEvent('profile.put');
      const several = anEvent('engagement.created', { profiles: ['prod-admin', PROFILE.name] });
      const every = anEvent('lockdown.activated', { profiles: ['*'] }, SECURITY);
      const other = anEvent('profile.put', { profile: 'prod-admin' });
      const otherSeveral = anEvent('engagement.created', { profiles: ['prod-admin'] });
      const usedHere = use('2026-06-01T11:40:00Z');
      await appendAll(own, several, every, other, otherSeveral, usedHere);

      // Act
      const about = await ports.audit.query({ profile: PROFILE.name, limit: 10 });
      const usesOnly = await ports.audit.query({ profile: PROFILE.name, type: 'credential.used', limit: 10 });

      // Assess
      expect(ids(about.events)).toEqual([every.id, several.id, own.id, usedHere.id]);
      expect(usesOnly.events).toEqual([usedHere]);
    });

    it('queries by access key merge its control events and its uses, newest first; a type narrows them', async () => {
      // Prepare
      const first = use('2026-06-01T11:40:00Z');
      const second = use('2026-06-01T11:45:00Z', { cloudTrailEventId: 'ct-2' });
      const revoked = aSessionRevoked(issuance, { at: '2026-06-01T11:50:00.000Z' });
      const alert = anAlert({ at: '2026-06-01T11:55:00.000Z' });
      const otherKey = anIssuance({ accessKeyId: 'ASIAOTHERACCESSKEY02', at: '2026-06-01T11:31:00.000Z' });
      await appendAll(issuance, first, second, revoked, alert, otherKey);

      // Act
      const all = await ports.audit.query({ accessKeyId: KEY, limit: 10 });
      const issued = await ports.audit.query({ accessKeyId: KEY, type: 'credential.issued', limit: 10 });
      const alicesUses = await ports.audit.query({ accessKeyId: KEY, principal: issuance.principal, type: 'credential.used', limit: 1 });

      // Assess
      expect(ids(all.events)).toEqual([alert.id, revoked.id, second.id, first.id, issuance.id]);
      expect(issued.events).toEqual([issuance]);
      expect(alicesUses).toEqual({ events: [second], nextCursor: second.id });
    });

    it('queries by type or by time alone walk back through the days', async () => {
      // Prepare
      const yesterday = anIssuance({ accessKeyId: 'ASIAYESTERDAYKEY0001', at: '2026-05-31T10:00:00.000Z' });
      const event = anEvent('profile.put');
      await appendAll(yesterday, issuance, event);

      // Act
      const issuances = await ports.audit.query({ type: 'credential.issued', limit: 10 });
      const everything = await ports.audit.query({ limit: 10 });

      // Assess
      expect(ids(issuances.events)).toEqual([issuance.id, yesterday.id]);
      expect(ids(everything.events)).toEqual([event.id, issuance.id, yesterday.id]);
    });

    it('bounds queries by time, both bounds inclusive, comparing instants however they are written', async () => {
      // Prepare
      const at = (time: string) => anIssuance({ accessKeyId: `ASIAKEYAT${time.replace(':', '')}`, at: `2026-06-01T${time}:00.000Z` });
      const [early, onFrom, onTo, late] = [at('11:00'), at('11:30'), at('12:00'), at('12:30')];
      await appendAll(early, onFrom, onTo, late);

      // Act
      const between = await ports.audit.query({ principal: issuance.principal, from: '2026-06-01T11:30:00Z', to: '2026-06-01T12:00:00.000Z', limit: 10 });
      const otherSpelling = await ports.audit.query({ principal: issuance.principal, from: '2026-06-01T13:30:00+02:00', limit: 10 });
      const empty = await ports.audit.query({ principal: issuance.principal, from: '2026-06-01T12:01:00.000Z', to: '2026-06-01T12:00:00.000Z', limit: 10 });

      // Assess
      expect(ids(between.events)).toEqual([onTo.id, onFrom.id]);
      expect(ids(otherSpelling.events)).toEqual([late.id, onTo.id, onFrom.id]);
      expect(empty).toEqual({ events: [] });
    });

    it('refuses a time bound that is no time (ValidationError)', async () => {
      // Act
      const error = await captureError(ports.audit.query({ principal: ADMIN.id, from: 'yesterday', limit: 10 }));

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
    });

    it("controlEventsForKey reads everything about a key but its uses, oldest first; findIssuance its issuance", async () => {
      // Prepare
      const revoked = aSessionRevoked(issuance, { at: '2026-06-01T11:50:00.000Z' });
      const alert = anAlert({ at: '2026-06-01T11:45:00.000Z' });
      await appendAll(alert, revoked, use('2026-06-01T11:40:00Z'), issuance);

      // Act
      const control = await ports.audit.controlEventsForKey(KEY);
      const found = await ports.audit.findIssuance(KEY);
      const none = await ports.audit.findIssuance('ASIAUNKNOWNKEY000001');

      // Assess
      expect(control).toEqual([issuance, alert, revoked]);
      expect(found).toEqual(issuance);
      expect(none).toBeUndefined();
    });

    it('usesOfKey pages through the uses of one key, newest first or oldest first', async () => {
      // Prepare
      const uses = ['11:40', '11:41', '11:42'].map((time, i) => use(`2026-06-01T${time}:00Z`, { cloudTrailEventId: `ct-${i}` }));
      await appendAll(issuance, ...uses, aUse(anIssuance({ accessKeyId: 'ASIAOTHERACCESSKEY02' }), { recordedAt: NOW.toISOString() }));

      // Act
      const newest = await ports.audit.usesOfKey({ accessKeyId: KEY, limit: 2 });
      const rest = await ports.audit.usesOfKey({ accessKeyId: KEY, limit: 2, cursor: newest.nextCursor as string });
      const oldest = await ports.audit.usesOfKey({ accessKeyId: KEY, limit: 2, oldestFirst: true });

      // Assess
      expect(newest).toEqual({ uses: [uses[2], uses[1]], nextCursor: uses[1]?.id });
      expect(rest).toEqual({ uses: [uses[0]] });
      expect(ids(oldest.uses)).toEqual([uses[0]?.id, uses[1]?.id]);
    });

    it("keeps a key's first counted use, never replaced by a later one", async () => {
      // Prepare
      const [ignored, first, later] = ['11:40', '11:41', '11:42'].map((time, i) => use(`2026-06-01T${time}:00Z`, { cloudTrailEventId: `ct-${i}` }));

      // Act
      await ports.audit.append(ignored as CredentialUsedEvent);
      await ports.audit.append(first as CredentialUsedEvent, { firstCountedUse: true });
      await ports.audit.append(later as CredentialUsedEvent, { firstCountedUse: true });

      // Assess
      expect(await ports.audit.firstCountedUse(KEY)).toEqual(first);
      expect(await ports.audit.firstCountedUse('ASIAUNKNOWNKEY000001')).toBeUndefined();
    });

    it('usesRecordedBetween reads uses by when they were recorded, oldest first, saying when there were more', async () => {
      // Prepare
      const recorded = (eventTime: string, recordedAt: string, i: number) => use(eventTime, { recordedAt, cloudTrailEventId: `ct-${i}` });
      const lateArrival = recorded('2026-06-01T08:00:00Z', '2026-06-01T11:10:00.000Z', 1);
      const prompt = recorded('2026-06-01T11:04:00Z', '2026-06-01T11:05:00.000Z', 2);
      const onBound = recorded('2026-06-01T11:19:00Z', '2026-06-01T11:20:00.000Z', 3);
      const outside = recorded('2026-06-01T11:30:00Z', '2026-06-01T11:31:00.000Z', 4);
      await appendAll(lateArrival, prompt, onBound, outside);

      // Act
      const all = await ports.audit.usesRecordedBetween('2026-06-01T11:00:00.000Z', '2026-06-01T11:20:00.000Z', 10);
      const two = await ports.audit.usesRecordedBetween('2026-06-01T11:00:00.000Z', '2026-06-01T11:20:00.000Z', 2);

      // Assess
      expect(all).toEqual({ uses: [prompt, lateArrival, onBound], truncated: false });
      expect(two).toEqual({ uses: [prompt, lateArrival], truncated: true });
    });

    it('usesRecordedBetween finds only uses stamped in the writer\'s own form (ISO 8601 in UTC, to the millisecond)', async () => {
      // Prepare
      const stamped = use('2026-06-01T11:04:00Z', { recordedAt: '2026-06-01T11:05:00.000Z', cloudTrailEventId: 'ct-1' });
      const otherForm = use('2026-06-01T11:05:00Z', { recordedAt: '2026-06-01T11:06:00Z', cloudTrailEventId: 'ct-2' });
      await appendAll(stamped, otherForm);

      // Act
      const recorded = await ports.audit.usesRecordedBetween('2026-06-01T11:00:00.000Z', '2026-06-01T11:20:00.000Z', 10);

      // Assess
      expect(recorded).toEqual({ uses: [stamped], truncated: false });
    });

    it('usesRecordedBetween refuses (ValidationError) a bound that is no time, or more than 31 days at once', async () => {
      // Act
      const noTime = await captureError(ports.audit.usesRecordedBetween('an hour ago', NOW.toISOString(), 10));
      const tooLong = await captureError(ports.audit.usesRecordedBetween('2026-05-01T00:00:00.000Z', '2026-06-01T00:00:00.000Z', 10));
      const longest = await ports.audit.usesRecordedBetween('2026-05-02T00:00:00.000Z', '2026-06-01T23:59:59.999Z', 10);

      // Assess
      expect(noTime).toBeInstanceOf(ValidationError);
      expect(tooLong).toBeInstanceOf(ValidationError);
      expect(longest).toEqual({ uses: [], truncated: false });
    });

    it('finds the live sessions of a profile, and of a role as IAM names it', async () => {
      // Prepare
      const live = issuance;
      const expired = anIssuance({ accessKeyId: 'ASIAEXPIREDKEY000001', at: '2026-06-01T10:00:00.000Z', expiration: '2026-06-01T11:00:00.000Z' });
      const elsewhere = anIssuance({ accessKeyId: 'ASIAELSEWHEREKEY0001', profile: 'prod-admin', roleArn: 'arn:aws:iam::123456789012:role/prod-admin' });
      await appendAll(live, expired, elsewhere, use('2026-06-01T11:40:00Z'));

      // Act
      const onProfile = await ports.audit.liveIssuancesForProfile(PROFILE.name, NOW);
      const onRole = await ports.audit.liveIssuancesOnRole('arn:aws:iam::123456789012:role/team/DEV-READONLY', NOW);
      // At the very instant a session expires, who has access no longer lists it, while a cut-off still reaches it.
      const atExpiry = new Date(live.expiration);
      const lastInstant = [await ports.audit.liveIssuancesForProfile(PROFILE.name, atExpiry), await ports.audit.liveIssuancesOnRole(live.roleArn, atExpiry)];
      const afterwards = [
        await ports.audit.liveIssuancesForProfile(PROFILE.name, new Date(atExpiry.getTime() + 1)),
        await ports.audit.liveIssuancesOnRole(live.roleArn, new Date(atExpiry.getTime() + 1)),
      ];

      // Assess
      expect(onProfile).toEqual([live]);
      expect(onRole).toEqual([live]);
      expect(lastInstant).toEqual([[], [live]]);
      expect(afterwards).toEqual([[], []]);
    });

    it('compares expirations as instants, not as text: one written without milliseconds is not live half a second after it', async () => {
      // Prepare
      const issued = anIssuance({ accessKeyId: 'ASIASECONDSONLY00001', expiration: '2026-06-01T12:30:00Z' });
      await appendAll(issued);

      // Act
      const before = await ports.audit.liveIssuancesForProfile(PROFILE.name, new Date('2026-06-01T12:29:59.500Z'));
      const after = await ports.audit.liveIssuancesForProfile(PROFILE.name, new Date('2026-06-01T12:30:00.500Z'));

      // Assess
      expect(before.map((event) => event.accessKeyId)).toEqual([issued.accessKeyId]);
      expect(after).toEqual([]);
    });

    it('verifies an intact trail, checking every event of the days asked for', async () => {
      // Prepare
      const yesterday = anIssuance({ accessKeyId: 'ASIAYESTERDAYKEY0001', at: '2026-05-31T10:00:00.000Z' });
      await appendAll(yesterday, issuance, use('2026-06-01T11:40:00Z'), anEvent('profile.put'));

      // Act
      const today = await ports.audit.verify(NOW, NOW);
      const both = await ports.audit.verify(new Date('2026-05-31T00:00:00.000Z'), NOW);

      // Assess
      expect(today).toEqual({ ok: true, checked: 3, broken: [] });
      expect(both).toEqual({ ok: true, checked: 4, broken: [] });
    });
  });

  describe('RevocationLedger and CutOffOrders', () => {
    const entry = (version: number, roleArn = ROLE) => ({
      roleArn,
      revocations: [{ kind: 'grant' as const, grantId: `grant-${version}`, before: inAMinute }],
      version,
      updatedAt: NOW.toISOString(),
      documents: [`digest-${version}`],
    });

    it('puts a ledger only over the version read (0: none), and reads it by role as IAM compares roles', async () => {
      // Act
      const created = await ports.ledger.put(entry(1), 0);
      const raced = await ports.ledger.put(entry(1), 0);
      const changed = await ports.ledger.put(entry(2), 1);
      const stale = await ports.ledger.put(entry(3), 1);

      // Assess
      expect([created, raced, changed, stale]).toEqual([true, false, true, false]);
      expect(await ports.ledger.get('arn:aws:iam::123456789012:role/some/path/DEV-READONLY')).toEqual(entry(2));
      expect(await ports.ledger.get('arn:aws:iam::123456789012:role/prod-admin')).toBeUndefined();
    });

    it('of two writers of a ledger at one version, exactly one wins', async () => {
      // Prepare
      await ports.ledger.put(entry(1), 0);

      // Act
      const outcomes = await Promise.all([ports.ledger.put(entry(2), 1), ports.ledger.put({ ...entry(2), documents: ['other'] }, 1)]);

      // Assess
      expect([...outcomes].sort()).toEqual([false, true]);
      expect((await ports.ledger.get(ROLE))?.documents).toEqual(outcomes[0] ? ['digest-2'] : ['other']);
    });

    it('lists every ledger, by role', async () => {
      // Prepare
      await ports.ledger.put(entry(1, 'arn:aws:iam::123456789012:role/zeta'), 0);
      await ports.ledger.put(entry(1, 'arn:aws:iam::123456789012:role/alpha'), 0);

      // Act
      const listed = await ports.ledger.list();

      // Assess
      expect(listed.map((ledger) => ledger.roleArn)).toEqual(['arn:aws:iam::123456789012:role/alpha', 'arn:aws:iam::123456789012:role/zeta']);
    });

    it('records a role-wide fallback once per role and cutoff, raising the epoch and showing it to vends', async () => {
      // Prepare
      const cutOff = { kind: 'role-wide' as const, before: inAMinute };

      // Act
      await ports.ledger.recordFallback(ROLE, cutOff);
      await ports.ledger.recordFallback(ROLE.replace('dev-readonly', 'DEV-READONLY'), cutOff);

      // Assess
      expect(await ports.lockdownReads.getLockdownAndCutOffs(NOW)).toEqual({
        lockdown: undefined,
        cutOffEpoch: 1,
        recentCutOffs: [{ roles: [ROLE], revocations: [cutOff] }],
      });
    });

    it('updates a cut-off order only over the attempts read; completing one removes it', async () => {
      // Prepare
      await putProfiles(PROFILE);
      await createGrants(aGrant({ id: 'grant-1' }), aGrant({ id: 'grant-2' }));
      const [second, first] = [anOrder('order-b'), anOrder('order-a', { revocations: [{ kind: 'grant', grantId: 'grant-2', before: inAMinute }] })];
      await revoke([aGrant({ id: 'grant-1' })], second);
      await revoke([aGrant({ id: 'grant-2' })], first);
      const retried = { ...first, attempts: 1, roles: [] };

      // Act
      const updated = await ports.orders.update(retried, 0);
      const stale = await ports.orders.update({ ...first, attempts: 2 }, 0);
      await ports.orders.complete(second.id);
      await ports.orders.complete('order-none');
      const completedMeanwhile = await ports.orders.update({ ...second, attempts: 1 }, 0);

      // Assess
      expect([updated, stale, completedMeanwhile]).toEqual([true, false, false]);
      expect(await ports.orders.list()).toEqual([retried]);
    });

    it('lists the pending cut-off orders by id', async () => {
      // Prepare
      await putProfiles(PROFILE);
      await createGrants(aGrant({ id: 'grant-1' }), aGrant({ id: 'grant-2' }));

      // Act
      await revoke([aGrant({ id: 'grant-1' })], anOrder('order-b'));
      await revoke([aGrant({ id: 'grant-2' })], anOrder('order-a'));

      // Assess
      expect(ids(await ports.orders.list())).toEqual(['order-a', 'order-b']);
    });
  });
});

// The chain heads the anchoring reads. The fake is fed by its own methods; the adapter by tvm's
// audit writer, in each layout, one chain per set and layout (one events shard, one use shard).
type ChainSet = 'events' | 'uses';
type Layout = 'chain-keyed' | 'legacy';

interface ChainHeadsUnderTest {
  readonly reader: ChainHeadReader;
  /** Appends an event dated `at` to today's chain of `set` in `layout`; its id. */
  append(set: ChainSet, layout: Layout, at: string): Promise<string>;
}

const TODAY = NOW.toISOString().slice(0, 10);
/** A link's hash: SHA-256, in hex on a legacy chain and in base64url on a chain-keyed one. */
const SHA256_HEX = expect.stringMatching(/^[0-9a-f]{64}$/);
const SHA256_BASE64URL = expect.stringMatching(/^[A-Za-z0-9_-]{43}$/);
const chainOf = (set: ChainSet, layout: Layout) => `${TODAY}#${layout === 'chain-keyed' ? 'x' : ''}${set === 'uses' ? 'u' : ''}0`;

const chainHeadImplementations: [string, () => Promise<ChainHeadsUnderTest>][] = [
  [
    'in-memory fake',
    async () => {
      const heads = InMemoryChainHeads.configured({ events: 1, uses: 1 });
      return { reader: heads, append: async (set, layout, at) => heads.append(chainOf(set, layout), 1, at).eventId as string };
    },
  ],
  [
    'DynamoDB adapter',
    async () => {
      const { audit: tableName } = await dynamodb().createTestTables();
      const table = { tableName, shards: 1, useShards: 1 };
      const writers = Object.fromEntries(
        (['chain-keyed', 'legacy'] as const).map((layout) => [
          layout,
          new DynamoDbAuditLog(dynamodb().documentClient, { ...table, layout, chains: new AuditChains(), useChains: new AuditChains(), now: () => NOW, pause: async () => undefined }),
        ]),
      ) as Record<Layout, DynamoDbAuditLog>;
      let n = 0;
      return {
        reader: new DynamoDbChainHeadReader(dynamodb().documentClient, { ...table, pause: async () => undefined }),
        append: async (set, layout, at) => {
          n += 1;
          const event = set === 'uses' ? aUse(anIssuance(), { at, eventTime: at, cloudTrailEventId: `ct-${n}` }) : adminEvent(new Date(at), `e${n}`, 'profile.put', ADMIN, { requestId: `r${n}` }, { profile: PROFILE.name });
          await writers[layout].append(event);
          return event.id;
        },
      };
    },
  ],
];

describe.each(chainHeadImplementations)('port contract ChainHeadReader: %s', (_name, make) => {
  let chains: ChainHeadsUnderTest;
  const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000).toISOString();

  beforeEach(async () => {
    chains = await make();
  });

  it("names the day's chains of both sets in both layouts, as configured", () => {
    expect([...chains.reader.chainsOf(TODAY)].sort()).toEqual([`${TODAY}#0`, `${TODAY}#u0`, `${TODAY}#x0`, `${TODAY}#xu0`]);
  });

  it('reads the head of each written chain: its last event, by place, hash and id; none for a chain never written', async () => {
    // Prepare
    await chains.append('events', 'chain-keyed', minutesAgo(30));
    const last = await chains.append('events', 'chain-keyed', minutesAgo(20));
    const legacy = await chains.append('events', 'legacy', minutesAgo(10));
    const use = await chains.append('uses', 'chain-keyed', minutesAgo(5));

    // Act
    const heads = await chains.reader.readHeads(chains.reader.chainsOf(TODAY));

    // Assess
    expect([...heads].sort((a, b) => (a.chain < b.chain ? -1 : 1))).toEqual([
      { chain: chainOf('events', 'legacy'), seq: 1, hash: SHA256_HEX, eventId: legacy },
      { chain: chainOf('events', 'chain-keyed'), seq: 2, hash: SHA256_BASE64URL, eventId: last },
      { chain: chainOf('uses', 'chain-keyed'), seq: 1, hash: SHA256_BASE64URL, eventId: use },
    ]);
    expect(await chains.reader.readHeads([chainOf('uses', 'legacy')])).toEqual([]);
  });

  it.each<Layout>(['chain-keyed', 'legacy'])('finds where an event of a %s chain stands and its hash, the head at its place, and nothing for an id the chain lacks', async (layout) => {
    // Prepare
    const chain = chainOf('events', layout);
    const first = await chains.append('events', layout, minutesAgo(30));
    const second = await chains.append('events', layout, minutesAgo(20));
    const [head] = await chains.reader.readHeads([chain]);

    // Act
    const [atFirst, atSecond, missing] = await Promise.all([
      chains.reader.linkOf(chain, first),
      chains.reader.linkOf(chain, second),
      chains.reader.linkOf(chain, `${minutesAgo(25)}#nothing`),
    ]);

    // Assess
    expect(atFirst).toEqual({ seq: 1, hash: layout === 'legacy' ? SHA256_HEX : SHA256_BASE64URL });
    expect(atSecond).toEqual({ seq: 2, hash: head?.hash });
    expect(atFirst?.hash).not.toBe(head?.hash);
    expect(missing).toBeUndefined();
  });

  it.each<[string, Layout, number, number[]]>([
    ['a chain-keyed chain after a place through another, in order, with their ids and dates, however old', 'chain-keyed', 3, [2, 3]],
    ['a legacy chain after a place, only for the events dated from `datedFrom` on', 'legacy', 4, [3, 4]],
  ])('lists the places of %s', async (_what, layout, through, expected) => {
    // Prepare: four events ten minutes apart, 50 to 20 minutes ago
    const ats = [minutesAgo(50), minutesAgo(40), minutesAgo(30), minutesAgo(20)];
    const written: string[] = [];
    for (const at of ats) written.push(await chains.append('events', layout, at));

    // Act
    const links = await chains.reader.linksAfter(chainOf('events', layout), 1, { through, datedFrom: minutesAgo(35) });

    // Assess
    expect(links).toEqual(expected.map((seq) => ({ seq, id: written[seq - 1], at: ats[seq - 1] })));
  });
});
