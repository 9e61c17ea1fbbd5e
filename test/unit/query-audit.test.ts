// The security team's questions, answered from in-memory stores: what happened to one key, who has
// access to a profile now, whether the audit trail is intact, and which alerts were raised.
import { jest } from '@jest/globals';
import type { AlertRule, AuditEvent } from '../../shared/domain/audit.js';
import { NotFoundError, StoreUnavailableError, ValidationError } from '../../shared/domain/errors.js';
import { createEngagement, handOverEngagement, type HandoverDeps } from '../../shared/domain/manage-engagements.js';
import { UpstreamIamError } from '../../shared/domain/errors.js';
import { createGrant, revokeGrant, type GrantDeps, type RevokeGrantDeps } from '../../shared/domain/manage-grants.js';
import type { Grant, RequestMeta } from '../../shared/domain/model.js';
import { listAlerts, listAuditEvents, MAX_ALERT_PAGES_PER_REQUEST } from '../../shared/domain/query-audit.js';
import { MAX_TRACED_USES, traceAccessKey } from '../../shared/domain/trace-access-key.js';
import { verifyAuditTrail } from '../../shared/domain/verify-audit.js';
import { whoHasAccess } from '../../shared/domain/who-has-access.js';
import { aGrant, aPrincipal, aProfile, FIXED_NOW } from '../fixtures/builders.js';
import { failureOf } from '../fixtures/failure.js';
import {
  inMemoryCutOff,
  fixedClock,
  hashOf,
  InMemoryAuditLog,
  InMemoryChainAnchorStore,
  InMemoryDelegationStore,
  InMemoryEngagementStore,
  sequentialIds,
} from '../fixtures/in-memory.js';
import { InMemoryLockdownStore } from '../fixtures/in-memory-lockdown.js';
import { anAlert, anIssuance, aSessionRevoked, aUse, KEY } from '../fixtures/key-events.js';

const META: RequestMeta = { requestId: 'req-sec-1', sourceIp: '203.0.113.9', userAgent: 'tvm-cli/0.1.0' };
const ADMIN = aPrincipal({ id: 'admin@example.com', groups: ['tvm-admin'] });
const BOB = aPrincipal({ id: 'bob@example.com', groups: ['platform'] });
const ALICE = aPrincipal({ id: 'alice@example.com', groups: ['developers'] });
const OWNER = aPrincipal({ id: 'owner@example.com', groups: [] });
const CARLA = aPrincipal({ id: 'carla@contractor.example', groups: [] });
const PROFILE = aProfile();
const DAY_MS = 86_400_000;

function setUp(options: { grants?: Grant[] } = {}) {
  const audit = new InMemoryAuditLog();
  const store = new InMemoryDelegationStore({ audit, profiles: [PROFILE], grants: options.grants ?? [] });
  const engagements = new InMemoryEngagementStore(store);
  const clock = fixedClock(FIXED_NOW);
  audit.recordingClock = () => clock.now();
  const ids = sequentialIds('id');
  const warnings: { message: string; data: Record<string, unknown> }[] = [];
  const grantDeps = {
    ...inMemoryCutOff(audit, clock, ids),
    store,
    lockdown: new InMemoryLockdownStore(audit),
    clock,
    ids,
    adminGroup: 'tvm-admin',
  } satisfies GrantDeps & RevokeGrantDeps;
  const handoverDeps: HandoverDeps = { ...grantDeps, engagements, securityGroup: 'tvm-security' };
  const anchors = new InMemoryChainAnchorStore();
  const deps = { audit, store, anchors, clock, warn: (message: string, data: Record<string, unknown>) => warnings.push({ message, data }) };
  return { audit, store, anchors, clock, deps, grantDeps, handoverDeps, warnings };
}

async function record(audit: InMemoryAuditLog, ...events: AuditEvent[]): Promise<void> {
  for (const event of events) await audit.append(event);
}

// ---------------------------------------------------------------------------------------------

describe('traceAccessKey (GET /audit/keys/{accessKeyId})', () => {
  it('tells the story in order: the issuance, the calls, what cut the key off, and the alerts', async () => {
    // Prepare: alice's key is used, her grant is revoked, her session cut off, the key used again.
    const { audit, deps, grantDeps, clock } = setUp({ grants: [aGrant({ id: 'grant-0001' })] });
    const issuance = anIssuance({ grantId: 'grant-0001' });
    const firstUse = aUse(issuance, { eventTime: '2026-06-01T11:35:00Z', cloudTrailEventId: 'ct-first' });
    const failedUse = aUse(issuance, {
      eventTime: '2026-06-01T11:40:00Z',
      cloudTrailEventId: 'ct-denied',
      eventName: 'GetObject',
      eventSource: 's3.amazonaws.com',
      errorCode: 'AccessDenied',
      errorMessage: 'not authorized to perform s3:GetObject',
    });
    const cutOff = aSessionRevoked(issuance, { at: '2026-06-01T11:50:00.000Z', cause: 'lockdown' });
    const lateUse = aUse(issuance, { eventTime: '2026-06-01T11:52:00Z', cloudTrailEventId: 'ct-late', sourceIPAddress: '198.51.100.23' });
    const alert = anAlert({ at: '2026-06-01T11:53:00.000Z', evidence: [cutOff.id, lateUse.id] });
    // CloudTrail delivered the first call last: it is recorded after the others, but happened first.
    await record(audit, issuance, failedUse, cutOff, lateUse, alert, { ...firstUse, id: `2026-06-01T11:54:00.000Z#ct-first` });
    clock.set('2026-06-01T11:45:00.000Z');
    await revokeGrant(grantDeps, ADMIN, 'grant-0001', META);

    // Act
    const trace = await traceAccessKey(deps, KEY);

    // Assess
    expect(trace).toEqual({
      accessKeyId: KEY,
      issuance,
      uses: [
        {
          id: '2026-06-01T11:54:00.000Z#ct-first',
          cloudTrailEventId: 'ct-first',
          eventTime: '2026-06-01T11:35:00Z',
          eventName: 'GetCallerIdentity',
          eventSource: 'sts.amazonaws.com',
          awsRegion: 'us-east-1',
          sourceIPAddress: '203.0.113.7',
          userAgent: 'aws-cli/2.15.0',
        },
        {
          id: failedUse.id,
          cloudTrailEventId: 'ct-denied',
          eventTime: '2026-06-01T11:40:00Z',
          eventName: 'GetObject',
          eventSource: 's3.amazonaws.com',
          awsRegion: 'us-east-1',
          sourceIPAddress: '203.0.113.7',
          userAgent: 'aws-cli/2.15.0',
          errorCode: 'AccessDenied',
          errorMessage: 'not authorized to perform s3:GetObject',
        },
        expect.objectContaining({ id: lateUse.id, eventTime: '2026-06-01T11:52:00Z', sourceIPAddress: '198.51.100.23' }),
      ],
      usesTruncated: false,
      revocations: [
        // Revoking the grant cut the key off with it (the session vended under it).
        { kind: 'session', at: '2026-06-01T11:45:00.000Z', by: ADMIN.id, reason: 'grant-revoked', eventId: expect.any(String) },
        { kind: 'grant', at: '2026-06-01T11:45:00.000Z', by: ADMIN.id, reason: 'revoked', grantId: 'grant-0001' },
        { kind: 'session', at: '2026-06-01T11:50:00.000Z', by: 'sec@example.com', reason: 'lockdown', eventId: cutOff.id },
      ],
      alerts: [alert],
    });
  });

  it("names a handover as the grant's reason and the cut-off's cause", async () => {
    // Prepare
    const { audit, store, deps } = setUp({
      grants: [
        aGrant({
          id: 'grant-0001',
          status: 'revoked',
          revokedAt: '2026-06-01T11:44:00.000Z',
          revokedBy: OWNER.id,
          revokedReason: 'engagement-handed-over',
        }),
      ],
    });
    const issuance = anIssuance({ grantId: 'grant-0001' });
    await record(audit, issuance, aSessionRevoked(issuance, { at: '2026-06-01T11:44:01.000Z', principal: OWNER.id, cause: 'engagement-handed-over' }));

    // Act
    const trace = await traceAccessKey(deps, KEY);

    // Assess
    expect(trace.revocations).toEqual([
      { kind: 'grant', at: '2026-06-01T11:44:00.000Z', by: OWNER.id, reason: 'engagement-handed-over', grantId: 'grant-0001' },
      expect.objectContaining({ kind: 'session', by: OWNER.id, reason: 'engagement-handed-over' }),
    ]);
    expect(store.grants).toHaveLength(1);
  });

  it('lists no revocation while the grant is active and the session was not cut off', async () => {
    // Prepare
    const { audit, deps } = setUp({ grants: [aGrant({ id: 'grant-0001' })] });
    const issuance = anIssuance({ grantId: 'grant-0001' });
    await record(audit, issuance, aUse(issuance));

    // Act
    const trace = await traceAccessKey(deps, KEY);

    // Assess
    expect(trace.revocations).toEqual([]);
    expect(trace.uses).toHaveLength(1);
  });

  it('traces a session tvm did not issue: no issuance, its uses and the unknown-session alert', async () => {
    // Prepare: no grant to look up, so the delegations table is not read at all.
    const { audit, store, deps } = setUp();
    const use = aUse(null);
    const alert = anAlert({ rule: 'unknown-session', evidence: [use.id] });
    await record(audit, use, alert);
    store.unavailable = true;

    // Act
    const trace = await traceAccessKey(deps, KEY);

    // Assess
    expect(trace).toEqual({
      accessKeyId: KEY,
      issuance: null,
      uses: [expect.objectContaining({ id: use.id })],
      usesTruncated: false,
      revocations: [],
      alerts: [alert],
    });
  });

  it('shows only what was recorded under that key', async () => {
    // Prepare
    const { audit, deps } = setUp();
    const mine = anIssuance();
    const other = anIssuance({ accessKeyId: 'ASIAOTHERACCESSKEY02', principal: BOB.id });
    await record(audit, mine, other, aUse(other), aSessionRevoked(other), anAlert({ accessKeyId: other.accessKeyId }));

    // Act
    const trace = await traceAccessKey(deps, KEY);

    // Assess
    expect(trace).toEqual({ accessKeyId: KEY, issuance: mine, uses: [], usesTruncated: false, revocations: [], alerts: [] });
  });

  it('lists the newest uses of a key used more often than a trace shows, with the cursor to the older ones', async () => {
    // Prepare: 1,005 calls a second apart, then the cut-off and an alert.
    const { audit, deps } = setUp();
    const issuance = anIssuance();
    const uses = Array.from({ length: MAX_TRACED_USES + 5 }, (_, i) =>
      aUse(issuance, { eventTime: new Date(Date.parse('2026-06-01T11:31:00Z') + i * 1000).toISOString(), cloudTrailEventId: `ct-${i}` }),
    );
    const cutOff = aSessionRevoked(issuance, { at: '2026-06-01T12:00:00.000Z' });
    await record(audit, issuance, ...uses, cutOff, anAlert({ at: '2026-06-01T12:01:00.000Z' }));

    // Act
    const trace = await traceAccessKey(deps, KEY);
    const older = await listAuditEvents(deps, { accessKeyId: KEY, type: 'credential.used', limit: 10, cursor: trace.olderUsesCursor });

    // Assess
    expect(trace.issuance).toEqual(issuance);
    expect(trace.revocations).toEqual([expect.objectContaining({ kind: 'session', eventId: cutOff.id })]);
    expect(trace.alerts).toHaveLength(1);
    expect(trace.uses).toHaveLength(MAX_TRACED_USES);
    expect(trace.uses[0]?.id).toBe(uses[5]?.id);
    expect(trace.uses.at(-1)?.id).toBe(uses.at(-1)?.id);
    expect(trace.usesTruncated).toBe(true);
    expect(older.events.map((event) => event.id)).toEqual(uses.slice(0, 5).map((use) => use.id).reverse());
  });

  it('answers NOT_FOUND when nothing at all is recorded for the key', async () => {
    // Prepare
    const { audit, deps } = setUp();
    await record(audit, anIssuance({ accessKeyId: 'ASIAOTHERACCESSKEY02' }));

    // Act
    const error = await failureOf(traceAccessKey(deps, KEY));

    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toBe(`nothing is recorded for access key ${KEY}`);
  });
});

// ---------------------------------------------------------------------------------------------

describe('whoHasAccess (GET /audit/access)', () => {
  it('lists the grants usable now, each with its delegation chain from the admin grant down', async () => {
    // Prepare: an admin grants bob with canDelegate; bob delegates to alice.
    const bobsGrant = aGrant({ id: 'grant-bob', subject: { type: 'user', id: BOB.id }, canDelegate: true, depth: 0, createdBy: ADMIN.id });
    const groupGrant = aGrant({ id: 'grant-group', subject: { type: 'group', id: 'developers' }, createdBy: ADMIN.id });
    const { deps, grantDeps } = setUp({ grants: [bobsGrant, groupGrant] });
    const alicesGrant = await createGrant(
      grantDeps,
      BOB,
      { profile: PROFILE.name, subject: { type: 'user', id: ALICE.id }, validUntil: '2026-12-01T00:00:00.000Z', canDelegate: false },
      META,
    );

    // Act
    const access = await whoHasAccess(deps, PROFILE.name);

    // Assess
    expect(access.profile).toBe(PROFILE.name);
    expect(access.at).toBe(FIXED_NOW.toISOString());
    const chains = Object.fromEntries(access.grants.map((grant) => [grant.id, grant.chain]));
    expect(chains).toEqual({
      'grant-bob': [{ grantId: 'grant-bob', subject: { type: 'user', id: BOB.id }, createdBy: ADMIN.id }],
      'grant-group': [{ grantId: 'grant-group', subject: { type: 'group', id: 'developers' }, createdBy: ADMIN.id }],
      [alicesGrant.id]: [
        { grantId: 'grant-bob', subject: { type: 'user', id: BOB.id }, createdBy: ADMIN.id },
        { grantId: alicesGrant.id, subject: { type: 'user', id: ALICE.id }, createdBy: BOB.id },
      ],
    });
    expect(access.grants.find((grant) => grant.id === alicesGrant.id)).toEqual({ ...alicesGrant, chain: chains[alicesGrant.id] });
  });

  it('leaves out grants that are revoked, expired, not yet valid, or of an earlier profile generation', async () => {
    // Prepare
    const now = FIXED_NOW.getTime();
    const { deps } = setUp({
      grants: [
        aGrant({ id: 'grant-usable' }),
        aGrant({ id: 'grant-revoked', status: 'revoked', revokedAt: '2026-05-01T00:00:00.000Z', revokedBy: ADMIN.id }),
        aGrant({ id: 'grant-expired', validUntil: FIXED_NOW.toISOString() }),
        aGrant({ id: 'grant-future', validFrom: new Date(now + 1).toISOString() }),
        aGrant({ id: 'grant-old-generation', profileGeneration: 'profile-generation-0' }),
        aGrant({ id: 'grant-other-profile', profile: 'prod-admin' }),
      ],
    });

    // Act
    const access = await whoHasAccess(deps, PROFILE.name);

    // Assess
    expect(access.grants.map((grant) => grant.id)).toEqual(['grant-usable']);
  });

  it('lists live sessions, newest first, with their last recorded use (by when the call was made)', async () => {
    // Prepare
    const { audit, deps } = setUp();
    const alices = anIssuance({ at: '2026-06-01T11:30:00.000Z' });
    const bobs = anIssuance({ at: '2026-06-01T11:45:00.000Z', accessKeyId: 'ASIABOBSACCESSKEY002', principal: BOB.id });
    const expired = anIssuance({ at: '2026-06-01T10:00:00.000Z', accessKeyId: 'ASIAEXPIREDKEY000003', expiration: FIXED_NOW.toISOString() });
    const newest = aUse(alices, { eventTime: '2026-06-01T11:50:00Z', eventName: 'ListBuckets', sourceIPAddress: '198.51.100.4' });
    // Recorded after the newest, though made before it (CloudTrail delivers out of order).
    const older = aUse(alices, { eventTime: '2026-06-01T11:40:00Z', cloudTrailEventId: 'ct-older' });
    await record(audit, alices, bobs, expired, newest, older);

    // Act
    const access = await whoHasAccess(deps, PROFILE.name);

    // Assess
    expect(access.sessions).toEqual([
      {
        accessKeyId: bobs.accessKeyId,
        principal: BOB.id,
        grantId: bobs.grantId,
        roleArn: bobs.roleArn,
        sessionName: bobs.sessionName,
        sourceIdentity: bobs.sourceIdentity,
        issuedAt: bobs.at,
        expiration: bobs.expiration,
        lastUse: null,
      },
      expect.objectContaining({
        accessKeyId: KEY,
        principal: ALICE.id,
        lastUse: { at: '2026-06-01T11:50:00Z', eventName: 'ListBuckets', sourceIPAddress: '198.51.100.4' },
      }),
    ]);
  });

  it('after a handover: the contractor has neither grant nor session, the owner has a grant, others keep theirs', async () => {
    // Prepare: carla works on the profile through an engagement and has a live session; alice too.
    const { audit, store, deps, handoverDeps, clock } = setUp({ grants: [aGrant({ id: 'grant-alice' })] });
    const engagement = await createEngagement(
      handoverDeps,
      ADMIN,
      { name: 'Checkout rewrite', owner: OWNER.id, contractors: [CARLA.id], profiles: [{ profile: PROFILE.name }], validUntil: '2026-07-01T00:00:00.000Z' },
      META,
    );
    const carlasGrant = engagement.grants[0] as Grant;
    const carlas = anIssuance({ accessKeyId: 'ASIACARLASACCESSKEY3', principal: CARLA.id, grantId: carlasGrant.id, roleArn: PROFILE.roleArn });
    const alices = anIssuance({ grantId: 'grant-alice' });
    await record(audit, carlas, alices);
    const before = await whoHasAccess(deps, PROFILE.name);
    clock.advance(60_000);

    // Act
    const handover = await handOverEngagement(handoverDeps, OWNER, engagement.id, {}, META);
    const after = await whoHasAccess(deps, PROFILE.name);

    // Assess
    expect(before.grants.map((grant) => grant.id).sort()).toEqual([carlasGrant.id, 'grant-alice'].sort());
    expect(before.sessions.map((session) => session.principal).sort()).toEqual([ALICE.id, CARLA.id]);
    expect(handover.revokedSessions.map((session) => session.accessKeyId)).toEqual([carlas.accessKeyId]);
    const ownersGrant = store.grants.find((grant) => grant.subject.id === OWNER.id) as Grant;
    expect(after.grants.map((grant) => grant.id).sort()).toEqual(['grant-alice', ownersGrant.id].sort());
    expect(after.grants.find((grant) => grant.id === ownersGrant.id)?.chain).toEqual([
      { grantId: ownersGrant.id, subject: { type: 'user', id: OWNER.id }, createdBy: OWNER.id },
    ]);
    expect(after.sessions.map((session) => session.accessKeyId)).toEqual([alices.accessKeyId]);
  });

  it('leaves out a session cut off with its revoked grant', async () => {
    // Prepare
    const { audit, deps, grantDeps } = setUp({ grants: [aGrant({ id: 'grant-0001' })] });
    await record(audit, anIssuance({ grantId: 'grant-0001' }));
    const revoked = await revokeGrant(grantDeps, ADMIN, 'grant-0001', META);

    // Act
    const access = await whoHasAccess(deps, PROFILE.name);

    // Assess
    expect(revoked.revokedSessions.map((session) => session.accessKeyId)).toEqual([KEY]);
    expect(access.grants).toEqual([]);
    expect(access.sessions).toEqual([]);
  });

  it('keeps a session whose grant was revoked but whose cut-off failed: its credentials still work', async () => {
    // Prepare
    const { audit, deps, grantDeps } = setUp({ grants: [aGrant({ id: 'grant-0001' })] });
    await record(audit, anIssuance({ grantId: 'grant-0001' }));
    grantDeps.policies.failAll(new UpstreamIamError('IAM is down'));
    const revoked = await revokeGrant(grantDeps, ADMIN, 'grant-0001', META);

    // Act
    const access = await whoHasAccess(deps, PROFILE.name);

    // Assess
    expect(revoked.sessionsNotCut.map((session) => session.accessKeyId)).toEqual([KEY]);
    expect(access.grants).toEqual([]);
    expect(access.sessions.map((session) => session.accessKeyId)).toEqual([KEY]);
  });

  it('leaves out a session cut off after 12,000 calls, and reads one use per session for the last use', async () => {
    // Prepare
    const { audit, deps } = setUp();
    const alices = anIssuance();
    const bobs = anIssuance({ accessKeyId: 'ASIABOBSACCESSKEY002', principal: BOB.id });
    const calls = Array.from({ length: 12_000 }, (_, i) =>
      aUse(alices, { eventTime: new Date(Date.parse('2026-06-01T11:31:00Z') + i * 100).toISOString(), cloudTrailEventId: `ct-${i}` }),
    );
    const bobsLast = aUse(bobs, { eventTime: '2026-06-01T11:59:00Z', cloudTrailEventId: 'ct-bob' });
    await record(audit, alices, bobs, ...calls, aSessionRevoked(alices, { at: '2026-06-01T11:55:00.000Z' }), bobsLast);
    const useReads = jest.spyOn(audit, 'usesOfKey');

    // Act
    const access = await whoHasAccess(deps, PROFILE.name);

    // Assess
    expect(access.sessions.map((session) => [session.accessKeyId, session.lastUse?.at])).toEqual([[bobs.accessKeyId, '2026-06-01T11:59:00Z']]);
    for (const [query] of useReads.mock.calls) expect(query).toMatchObject({ limit: 1 });
  });

  it('reads an ancestor outside the profile once, however many grants descend from it, and shows a missing one', async () => {
    // Prepare: two grants delegated from one read through getGrant, one from a grant that is gone.
    const parent = aGrant({ id: 'grant-parent', profile: 'elsewhere', subject: { type: 'user', id: BOB.id }, canDelegate: true });
    const { store, deps } = setUp({
      grants: [
        parent,
        aGrant({ id: 'grant-child-1', parentGrantId: 'grant-parent', depth: 1, createdBy: BOB.id }),
        aGrant({ id: 'grant-child-2', parentGrantId: 'grant-parent', depth: 1, createdBy: BOB.id, subject: { type: 'user', id: 'dave@example.com' } }),
        aGrant({ id: 'grant-orphan', parentGrantId: 'grant-gone', depth: 1, createdBy: BOB.id, subject: { type: 'user', id: 'erin@example.com' } }),
      ],
    });
    const reads: string[] = [];
    const getGrant = store.getGrant.bind(store);
    const counting = { ...deps, store: { getProfile: store.getProfile.bind(store), listGrants: store.listGrants.bind(store), getGrant: (id: string) => (reads.push(id), getGrant(id)) } };

    // Act
    const access = await whoHasAccess(counting, PROFILE.name);

    // Assess
    expect(reads.sort()).toEqual(['grant-gone', 'grant-parent']);
    const chains = Object.fromEntries(access.grants.map((grant) => [grant.id, grant.chain.map((link) => link.grantId)]));
    expect(chains).toEqual({
      'grant-child-1': ['grant-parent', 'grant-child-1'],
      'grant-child-2': ['grant-parent', 'grant-child-2'],
      'grant-orphan': ['grant-gone', 'grant-orphan'],
    });
    expect(access.grants.find((grant) => grant.id === 'grant-orphan')?.chain[0]).toEqual({ grantId: 'grant-gone', subject: null, createdBy: null });
  });

  it('answers NOT_FOUND for a profile that does not exist', async () => {
    // Prepare
    const { deps } = setUp();

    // Act
    const error = await failureOf(whoHasAccess(deps, 'prod-admin'));

    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toBe('profile "prod-admin" does not exist');
  });
});

// ---------------------------------------------------------------------------------------------

describe('verifyAuditTrail (GET /audit/verify)', () => {
  it('checks the last 24 hours by default and returns the report with the window', async () => {
    // Prepare
    const { audit, deps } = setUp();
    audit.verifyReports.push({ ok: true, checked: 42, broken: [] });

    // Act
    const result = await verifyAuditTrail(deps, {});

    // Assess
    expect(audit.verifyCalls).toEqual([{ from: new Date(FIXED_NOW.getTime() - DAY_MS), to: FIXED_NOW }]);
    expect(result).toEqual({ ok: true, checked: 42, broken: [], from: '2026-05-31T12:00:00.000Z', to: FIXED_NOW.toISOString(), anchors: [] });
  });

  it('compares the chains with the latest anchor of each day of the window, and says when each was taken', async () => {
    // Prepare: two anchorings of today, one of yesterday, one of a day outside the window
    const { audit, anchors, deps } = setUp();
    const head = (chain: string, seq: number) => ({ chain, seq, hash: hashOf(`${chain}/${seq}`) });
    await anchors.save({ day: '2026-05-30', at: '2026-05-30T23:55:00.000Z', heads: [head('2026-05-30#0', 9)] });
    await anchors.save({ day: '2026-05-31', at: '2026-06-01T00:05:00.000Z', heads: [head('2026-05-31#0', 4), head('2026-05-31#u0', 7)] });
    await anchors.save({ day: '2026-06-01', at: '2026-06-01T11:50:00.000Z', heads: [head('2026-06-01#0', 2)] });
    await anchors.save({ day: '2026-06-01', at: '2026-06-01T11:55:00.000Z', heads: [head('2026-06-01#0', 3)] });

    // Act
    const result = await verifyAuditTrail(deps, {});

    // Assess
    expect(audit.verifyAnchors).toEqual([[(await anchors.latest('2026-05-31'))!, (await anchors.latest('2026-06-01'))!]]);
    expect(result.anchors).toEqual([
      { day: '2026-05-31', at: '2026-06-01T00:05:00.000Z', chains: 2 },
      { day: '2026-06-01', at: '2026-06-01T11:55:00.000Z', chains: 1 },
    ]);
  });

  it('answers STORE_UNAVAILABLE, without checking, when the anchors cannot be read', async () => {
    // Prepare
    const { audit, anchors, deps } = setUp();
    anchors.failReads = true;

    // Act
    const error = await failureOf(verifyAuditTrail(deps, {}));

    // Assess
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(audit.verifyCalls).toEqual([]);
  });

  it('passes a given window through, and a 24-hour window ending at `to` when only `to` is given', async () => {
    // Prepare
    const { audit, deps } = setUp();

    // Act
    await verifyAuditTrail(deps, { from: '2026-05-01T00:00:00.000Z', to: '2026-06-01T00:00:00.000Z' });
    await verifyAuditTrail(deps, { to: '2026-05-10T00:00:00.000Z' });

    // Assess
    expect(audit.verifyCalls).toEqual([
      { from: new Date('2026-05-01T00:00:00.000Z'), to: new Date('2026-06-01T00:00:00.000Z') },
      { from: new Date('2026-05-09T00:00:00.000Z'), to: new Date('2026-05-10T00:00:00.000Z') },
    ]);
  });

  it('returns broken links as found and logs them at warn', async () => {
    // Prepare
    const { audit, deps, warnings } = setUp();
    const broken = [{ id: '2026-06-01T10:00:00.000Z#abc', reason: 'hash does not match the content' }];
    audit.verifyReports.push({ ok: false, checked: 7, broken });

    // Act
    const result = await verifyAuditTrail(deps, {});

    // Assess
    expect(result).toMatchObject({ ok: false, checked: 7, broken });
    expect(warnings).toEqual([
      {
        message: 'audit trail verification found broken links',
        data: { from: '2026-05-31T12:00:00.000Z', to: FIXED_NOW.toISOString(), checked: 7, broken: 1, firstBroken: broken },
      },
    ]);
  });

  it('does not warn when the trail is intact', async () => {
    // Prepare
    const { deps, warnings } = setUp();

    // Act
    await verifyAuditTrail(deps, {});

    // Assess
    expect(warnings).toEqual([]);
  });

  it('accepts a span of exactly 31 days', async () => {
    // Prepare
    const { audit, deps } = setUp();

    // Act
    await verifyAuditTrail(deps, { from: '2026-05-01T00:00:00.000Z', to: '2026-06-01T00:00:00.000Z' });

    // Assess
    expect(audit.verifyCalls).toHaveLength(1);
  });

  it.each([
    ['from after to', { from: '2026-06-01T00:00:00.001Z', to: '2026-06-01T00:00:00.000Z' }, 'query.from: must not be after to'],
    ['from in the future (to defaults to now)', { from: '2026-06-02T00:00:00.000Z' }, 'query.from: must not be after to'],
    ['a span of 31 days and 1 ms', { from: '2026-04-30T23:59:59.999Z', to: '2026-06-01T00:00:00.000Z' }, /at most 31 days/],
    ['only a from 40 days ago', { from: new Date(FIXED_NOW.getTime() - 40 * DAY_MS).toISOString() }, /at most 31 days/],
  ])('refuses %s with VALIDATION_FAILED, without reading the trail', async (_label, query, message) => {
    // Prepare
    const { audit, deps } = setUp();

    // Act
    const error = await failureOf(verifyAuditTrail(deps, query));

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(message);
    expect(audit.verifyCalls).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('listAlerts (GET /alerts)', () => {
  const alertAt = (minutesAgo: number, rule: AlertRule, key = KEY) =>
    anAlert({ at: new Date(FIXED_NOW.getTime() - minutesAgo * 60_000).toISOString(), rule, accessKeyId: key });

  it('returns the alerts of the last 7 days by default, newest first, and nothing else', async () => {
    // Prepare
    const { audit, deps } = setUp();
    const recent = alertAt(5, 'denial-burst');
    const older = alertAt(60, 'unknown-session');
    const weekOld = alertAt(7 * 24 * 60, 'source-ip-change');
    const tooOld = alertAt(7 * 24 * 60 + 1, 'source-ip-change');
    await record(audit, tooOld, weekOld, older, recent, anIssuance());

    // Act
    const page = await listAlerts(deps, { limit: 50 });

    // Assess
    expect(page).toEqual({ alerts: [recent, older, weekOld] });
  });

  it('reads from `since` when given', async () => {
    // Prepare
    const { audit, deps } = setUp();
    const recent = alertAt(5, 'denial-burst');
    await record(audit, alertAt(60, 'denial-burst'), recent);

    // Act
    const page = await listAlerts(deps, { since: new Date(FIXED_NOW.getTime() - 30 * 60_000).toISOString(), limit: 50 });

    // Assess
    expect(page.alerts).toEqual([recent]);
  });

  it('pages through one rule: every matching alert once, newest first, the others never', async () => {
    // Prepare: matching alerts scattered between others.
    const { audit, deps } = setUp();
    const all = Array.from({ length: 12 }, (_, i) =>
      alertAt(100 - i, i % 3 === 0 ? 'use-after-revocation' : 'denial-burst', `ASIAKEY${String(i).padStart(13, '0')}`),
    );
    await record(audit, ...all);
    const expected = all.filter((alert) => alert.rule === 'use-after-revocation').reverse();

    // Act
    const seen = [];
    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await listAlerts(deps, { rule: 'use-after-revocation', limit: 2, ...(cursor ? { cursor } : {}) });
      pages.push(page.alerts.length);
      seen.push(...page.alerts);
      cursor = page.nextCursor;
    } while (cursor);

    // Assess
    expect(seen).toEqual(expected);
    expect(pages).toEqual([2, 2]);
  });

  it('without a rule, pages through every alert', async () => {
    // Prepare
    const { audit, deps } = setUp();
    const all = Array.from({ length: 5 }, (_, i) => alertAt(50 - i, 'denial-burst', `ASIAKEY${String(i).padStart(13, '0')}`));
    await record(audit, ...all);

    // Act
    const first = await listAlerts(deps, { limit: 3 });
    const second = await listAlerts(deps, { limit: 3, cursor: first.nextCursor as string });

    // Assess
    expect(first.alerts).toEqual(all.slice(2).reverse());
    expect(second).toEqual({ alerts: all.slice(0, 2).reverse() });
  });

  it('stops after a bounded number of reads with a cursor, when a rare rule hides behind many others', async () => {
    // Prepare: limit 1 reads one alert per page; the match is further back than one request reads.
    const { audit, deps } = setUp();
    const rare = alertAt(200, 'lockdown-breach-attempt');
    const noise = Array.from({ length: MAX_ALERT_PAGES_PER_REQUEST + 5 }, (_, i) =>
      alertAt(100 - i, 'denial-burst', `ASIAKEY${String(i).padStart(13, '0')}`),
    );
    await record(audit, rare, ...noise);
    const queries = jest.spyOn(audit, 'query');

    // Act
    const first = await listAlerts(deps, { rule: 'lockdown-breach-attempt', limit: 1 });
    const second = await listAlerts(deps, { rule: 'lockdown-breach-attempt', limit: 1, cursor: first.nextCursor as string });

    // Assess
    expect(first.alerts).toEqual([]);
    expect(first.nextCursor).toBeDefined();
    expect(queries).toHaveBeenCalledTimes(MAX_ALERT_PAGES_PER_REQUEST + 6);
    expect(second).toEqual({ alerts: [rare] });
  });
});

describe('listAuditEvents (GET /audit/events)', () => {
  it('hands every filter to the audit log and returns its page', async () => {
    // Prepare
    const { audit, deps } = setUp();
    const issuance = anIssuance();
    const use = aUse(issuance);
    await record(audit, issuance, use, anIssuance({ accessKeyId: 'ASIAOTHERACCESSKEY02' }));

    // Act
    const page = await listAuditEvents(deps, {
      accessKeyId: KEY,
      profile: PROFILE.name,
      principal: ALICE.id,
      from: '2026-06-01T11:00:00.000Z',
      to: '2026-06-01T12:00:00.000Z',
      limit: 10,
    });

    // Assess
    expect(page).toEqual({ events: [{ ...use, recordedAt: FIXED_NOW.toISOString() }, issuance] });
  });
});
