// createGrant, listGrants and revokeGrant with an in-memory store: a grant must fit inside its
// profile, every change comes with its audit event, and revocation is idempotent.
import type { AdminAuditEvent, CredentialIssuedEvent } from '../../shared/domain/audit.js';
import {
  LockdownActiveError,
  DelegationExceedsGrantError,
  ForbiddenError,
  NotFoundError,
  ScopeTooLargeError,
  StoreUnavailableError,
  ValidationError,
  type TvmError,
} from '../../shared/domain/errors.js';
import { createGrant, listGrants, revokeGrant, type GrantDeps, type RevokeGrantDeps } from '../../shared/domain/manage-grants.js';
import type { Grant, Profile, RequestMeta } from '../../shared/domain/model.js';
import type { GrantInput } from '../../shared/domain/schemas.js';
import { buildSessionPolicy, resolveSessionScope } from '../../shared/domain/scope.js';
import { DEFAULT_PROFILE_NAME, FIXED_NOW, aGrant, aPrincipal, aProfile } from '../fixtures/builders.js';
import { InMemoryAuditLog, InMemoryDelegationStore, fixedClock, inMemoryCutOff, sequentialIds } from '../fixtures/in-memory.js';
import { failureOf } from '../fixtures/failure.js';
import { aLockdown, InMemoryLockdownStore } from '../fixtures/in-memory-lockdown.js';

const ADMIN = aPrincipal({ id: 'admin@example.com', groups: ['tvm-admin'] });
const META: RequestMeta = { requestId: 'req-admin-1', sourceIp: '203.0.113.9', userAgent: 'tvm-cli/0.1.0' };
const NOW_ISO = FIXED_NOW.toISOString();

function setUp(options: { profiles?: Profile[]; grants?: Grant[] } = {}) {
  const audit = new InMemoryAuditLog();
  const store = new InMemoryDelegationStore({ audit, profiles: options.profiles ?? [aProfile()], grants: options.grants ?? [] });
  const clock = fixedClock(FIXED_NOW);
  const ids = sequentialIds('id');
  const lockdown = new InMemoryLockdownStore(audit);
  const cutOff = inMemoryCutOff(audit, clock, ids);
  const deps: GrantDeps & RevokeGrantDeps = { ...cutOff, store, lockdown, clock, ids, adminGroup: 'tvm-admin' };
  return { deps, store, audit, clock, ids, lockdown, cutOff };
}

function aGrantInput(overrides: Partial<GrantInput> = {}): GrantInput {
  return {
    profile: DEFAULT_PROFILE_NAME,
    subject: { type: 'user', id: 'bob@example.com' },
    validUntil: '2026-06-08T12:00:00.000Z',
    canDelegate: false,
    ...overrides,
  };
}

describe('createGrant', () => {
  it('stores an active grant starting now, created by the caller', async () => {
    // Prepare
    const { deps, store } = setUp();

    // Act
    const grant = await createGrant(deps, ADMIN, aGrantInput({ maxSessionSeconds: 1800, reason: 'on-call week' }), META);

    // Assess
    const expected: Grant = {
      id: 'id-00000001',
      profile: DEFAULT_PROFILE_NAME,
      profileGeneration: 'profile-generation-1',
      subject: { type: 'user', id: 'bob@example.com' },
      validFrom: NOW_ISO,
      validUntil: '2026-06-08T12:00:00.000Z',
      maxSessionSeconds: 1800,
      canDelegate: false,
      status: 'active',
      createdBy: 'admin@example.com',
      createdAt: NOW_ISO,
      reason: 'on-call week',
      depth: 0,
      version: 1,
    };
    expect(grant).toEqual(expected);
    expect(store.grants).toEqual([expected]);
  });

  it('writes one grant.created event carrying the grant, in the same transaction', async () => {
    // Prepare
    const { deps, audit } = setUp();

    // Act
    const grant = await createGrant(deps, ADMIN, aGrantInput(), META);

    // Assess
    const expected: AdminAuditEvent = {
      id: `${NOW_ISO}#id-00000002`,
      type: 'grant.created',
      at: NOW_ISO,
      principal: 'admin@example.com',
      requestId: 'req-admin-1',
      sourceIp: '203.0.113.9',
      userAgent: 'tvm-cli/0.1.0',
      profile: DEFAULT_PROFILE_NAME,
      grantId: grant.id,
      detail: { ...grant },
    };
    expect(audit.events).toEqual([expected]);
  });

  it('keeps a validFrom in the future, normalised to ISO', async () => {
    // Prepare
    const { deps } = setUp();

    // Act
    const grant = await createGrant(deps, ADMIN, aGrantInput({ validFrom: '2026-06-02T14:00:00+02:00' }), META);

    // Assess
    expect(grant.validFrom).toBe('2026-06-02T12:00:00.000Z');
  });

  it.each([
    ['validUntil in the past', { validUntil: '2026-05-31T12:00:00.000Z' }, /^body\.validUntil: .*future/],
    ['validUntil exactly now', { validUntil: NOW_ISO }, /^body\.validUntil: .*future/],
    [
      'validUntil before validFrom',
      { validFrom: '2026-06-10T00:00:00.000Z', validUntil: '2026-06-09T00:00:00.000Z' },
      /^body\.validUntil: .*after validFrom/,
    ],
    [
      'validUntil equal to validFrom',
      { validFrom: '2026-06-10T00:00:00.000Z', validUntil: '2026-06-10T00:00:00.000Z' },
      /^body\.validUntil: .*after validFrom/,
    ],
    ["maxSessionSeconds above the profile's", { maxSessionSeconds: 3601 }, /^body\.maxSessionSeconds: .*3600/],
  ])('refuses %s with a ValidationError naming the field, writing nothing', async (_label, overrides, message) => {
    // Prepare
    const { deps, store, audit } = setUp();

    // Act
    const error = await failureOf(createGrant(deps, ADMIN, aGrantInput(overrides), META));

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(message);
    expect(store.grants).toEqual([]);
    expect(audit.attempts).toEqual([]);
  });

  it("accepts maxSessionSeconds equal to the profile's", async () => {
    // Prepare
    const { deps } = setUp({ profiles: [aProfile({ maxSessionSeconds: 7200 })] });

    // Act
    const grant = await createGrant(deps, ADMIN, aGrantInput({ maxSessionSeconds: 7200 }), META);

    // Assess
    expect(grant.maxSessionSeconds).toBe(7200);
  });

  describe('scope', () => {
    const restricted = aProfile({ scope: { actions: ['s3:Get*', 's3:List*'], resources: ['arn:aws:s3:::dev-*'] } });

    it.each([
      ['an action', { actions: ['s3:PutObject'] }, 'body.scope.actions', 's3:PutObject'],
      ['a resource', { resources: ['arn:aws:s3:::prod-data/*'] }, 'body.scope.resources', 'arn:aws:s3:::prod-data/*'],
      ['a wildcard wider than the profile', { actions: ['s3:*'] }, 'body.scope.actions', 's3:*'],
    ])("refuses %s outside the profile's scope, naming the field", async (_label, scope, field, item) => {
      // Prepare
      const { deps, store, audit } = setUp({ profiles: [restricted] });

      // Act
      const error = await failureOf(createGrant(deps, ADMIN, aGrantInput({ scope }), META));

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toBe(`${field}: "${item}" is not within the profile's scope`);
      expect(store.grants).toEqual([]);
      expect(audit.attempts).toEqual([]);
    });

    it('accepts a scope with only actions on a profile that restricts resources', async () => {
      // Prepare
      const { deps } = setUp({ profiles: [restricted] });

      // Act
      const grant = await createGrant(deps, ADMIN, aGrantInput({ scope: { actions: ['s3:GetObject'] } }), META);

      // Assess: the resources fall back to the profile's at vend time.
      expect(grant.scope).toEqual({ actions: ['s3:GetObject'] });
    });

    it('accepts a scope with only resources on a profile that restricts actions', async () => {
      // Prepare
      const { deps } = setUp({ profiles: [restricted] });

      // Act
      const grant = await createGrant(deps, ADMIN, aGrantInput({ scope: { resources: ['arn:aws:s3:::dev-logs/*'] } }), META);

      // Assess
      expect(grant.scope).toEqual({ resources: ['arn:aws:s3:::dev-logs/*'] });
    });

    it('accepts any scope on a profile without one', async () => {
      // Prepare
      const { deps } = setUp();

      // Act
      const grant = await createGrant(deps, ADMIN, aGrantInput({ scope: { actions: ['*'], resources: ['*'] } }), META);

      // Assess
      expect(grant.scope).toEqual({ actions: ['*'], resources: ['*'] });
    });
  });

  describe("a scope whose session policy would exceed STS's 2,048 characters", () => {
    // 30 resources of ~100 characters: each valid, together a policy of ~3,300 characters.
    const manyResources = Array.from({ length: 30 }, (_, i) => `arn:aws:s3:::bucket-${String(i).padStart(2, '0')}/${'x'.repeat(80)}`);
    /** The one resource that makes the session policy for `actions` exactly `length` characters long. */
    const resourceFilling = (length: number, actions: string[]) =>
      `arn:aws:s3:::${'x'.repeat(length - buildSessionPolicy({ actions, resources: ['arn:aws:s3:::'] }).length)}`;

    it.each<[string, Profile, GrantInput['scope']]>([
      ['its own scope', aProfile(), { resources: manyResources }],
      ["its actions with the profile's resources", aProfile({ scope: { resources: manyResources } }), { actions: ['s3:GetObject'] }],
      ["no scope of its own, on a profile whose scope is that large", aProfile({ scope: { resources: manyResources } }), undefined],
    ])('refuses one whose effective scope is %s: 400 SCOPE_TOO_LARGE at creation, writing nothing', async (_label, profile, scope) => {
      // Prepare
      const { deps, store, audit } = setUp({ profiles: [profile] });

      // Act
      const error = await failureOf(createGrant(deps, ADMIN, aGrantInput(scope ? { scope } : {}), META));

      // Assess: refused here, not at every vend
      expect(error).toBeInstanceOf(ScopeTooLargeError);
      expect((error as ScopeTooLargeError).details).toEqual({ length: expect.any(Number), limit: 2048 });
      expect((error as Error).message).toMatch(/STS allows at most 2048/);
      expect(store.grants).toEqual([]);
      expect(audit.attempts).toEqual([]);
    });

    it('accepts one whose policy is exactly 2,048 characters, and the vend renders the same policy', async () => {
      // Prepare
      const { deps } = setUp();
      const scope = { actions: ['s3:GetObject'], resources: [resourceFilling(2048, ['s3:GetObject'])] };

      // Act
      const grant = await createGrant(deps, ADMIN, aGrantInput({ scope }), META);
      const tooLarge = await failureOf(
        createGrant(deps, ADMIN, aGrantInput({ scope: { ...scope, resources: [`${scope.resources[0]}x`] } }), META),
      );

      // Assess
      expect(resolveSessionScope({ grant: grant.scope, profile: aProfile().scope }).policy).toHaveLength(2048);
      expect(tooLarge).toBeInstanceOf(ScopeTooLargeError);
    });

    it('refuses a delegated grant whose scope, filled in from its parent, renders too large', async () => {
      // Prepare: the delegator's grant predates the check and carries the large scope
      const parent = aGrant({
        id: 'grant-parent',
        subject: { type: 'user', id: 'dana@example.com' },
        canDelegate: true,
        depth: 0,
        validUntil: '2026-06-30T00:00:00.000Z',
        scope: { actions: ['s3:*'], resources: manyResources },
      });
      const { deps, store } = setUp({ grants: [parent] });

      // Act
      const error = await failureOf(createGrant(deps, aPrincipal({ id: 'dana@example.com', groups: [] }), aGrantInput(), META));

      // Assess
      expect(error).toBeInstanceOf(ScopeTooLargeError);
      expect(store.grants).toEqual([parent]);
    });
  });

  it('refuses a grant on a profile that does not exist', async () => {
    // Prepare
    const { deps, store, audit } = setUp({ profiles: [] });

    // Act
    const error = await failureOf(createGrant(deps, ADMIN, aGrantInput(), META));

    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
    expect(store.grants).toEqual([]);
    expect(audit.attempts).toEqual([]);
  });

  it('stores nothing when the audit event cannot be written', async () => {
    // Prepare
    const { deps, store, audit } = setUp();
    audit.failAppends = true;

    // Act
    const error = await failureOf(createGrant(deps, ADMIN, aGrantInput(), META));

    // Assess
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(store.grants).toEqual([]);
    expect(audit.events).toEqual([]);
  });
});

describe('listGrants', () => {
  const older = aGrant({ id: 'grant-b', createdAt: '2026-01-01T00:00:00.000Z' });
  const sameTime = aGrant({ id: 'grant-a', createdAt: '2026-01-01T00:00:00.000Z' });
  const newer = aGrant({
    id: 'grant-c',
    profile: 'prod-admin',
    subject: { type: 'group', id: 'sre' },
    createdAt: '2026-02-01T00:00:00.000Z',
  });

  it('lists grants oldest first, then by id', async () => {
    // Prepare
    const { deps } = setUp({ grants: [newer, older, sameTime] });

    // Act
    const grants = await listGrants(deps, ADMIN, {});

    // Assess
    expect(grants.map((grant) => grant.id)).toEqual(['grant-a', 'grant-b', 'grant-c']);
  });

  it('filters by profile and by subject', async () => {
    // Prepare
    const { deps } = setUp({ grants: [newer, older, sameTime] });

    // Act
    const byProfile = await listGrants(deps, ADMIN, { profile: 'prod-admin' });
    const bySubject = await listGrants(deps, ADMIN, { subject: { type: 'user', id: 'alice@example.com' } });

    // Assess
    expect(byProfile.map((grant) => grant.id)).toEqual(['grant-c']);
    expect(bySubject.map((grant) => grant.id)).toEqual(['grant-a', 'grant-b']);
  });

  describe('createdBy', () => {
    const lead = aPrincipal({ id: 'lead@example.com', groups: [] });
    const byLead = aGrant({ id: 'grant-lead-1', createdBy: lead.id, createdAt: '2026-03-01T00:00:00.000Z' });
    const byLeadRevoked = aGrant({ id: 'grant-lead-2', createdBy: lead.id, status: 'revoked', profile: 'prod-admin' });
    const byOther = aGrant({ id: 'grant-other', createdBy: 'someone@example.com' });

    it('gives anyone the grants they created, revoked ones included, with createdBy=me', async () => {
      // Prepare
      const { deps } = setUp({ grants: [byLead, byLeadRevoked, byOther, older] });

      // Act
      const mine = await listGrants(deps, lead, { createdBy: 'me' });
      const mineOnOneProfile = await listGrants(deps, lead, { createdBy: 'me', profile: 'prod-admin' });

      // Assess
      expect(mine.map((grant) => grant.id).sort()).toEqual(['grant-lead-1', 'grant-lead-2']);
      expect(mineOnOneProfile.map((grant) => grant.id)).toEqual(['grant-lead-2']);
    });

    it('refuses a non-admin every other listing: all grants, a profile, or someone else\'s', async () => {
      // Prepare
      const { deps } = setUp({ grants: [byLead, byOther] });

      // Act
      const refusals = await Promise.all(
        [{}, { profile: 'dev-readonly' }, { createdBy: 'someone@example.com' }, { subject: { type: 'user' as const, id: lead.id } }].map((query) =>
          listGrants(deps, lead, query).then(
            () => 'listed',
            (error: unknown) => error,
          ),
        ),
      );

      // Assess
      for (const refusal of refusals) expect(refusal).toBeInstanceOf(ForbiddenError);
    });

    it('lets an admin list what anyone created', async () => {
      // Prepare
      const { deps } = setUp({ grants: [byLead, byOther] });

      // Act
      const grants = await listGrants(deps, ADMIN, { createdBy: 'someone@example.com' });

      // Assess
      expect(grants.map((grant) => grant.id)).toEqual(['grant-other']);
    });
  });
});

describe('revokeGrant', () => {
  it('marks an active grant revoked by the caller, now, with one grant.revoked event', async () => {
    // Prepare
    const { deps, store, audit } = setUp({ grants: [aGrant()] });

    // Act
    const revoked = await revokeGrant(deps, ADMIN, 'grant-0001', META);

    // Assess
    const expected: Grant = { ...aGrant(), status: 'revoked', revokedAt: NOW_ISO, revokedBy: 'admin@example.com', version: 1 };
    expect(revoked).toEqual({ ...expected, revokedDescendants: [], revokedSessions: [], sessionsNotCut: [], roleWideFallback: false, alreadyRevoked: false });
    expect(store.grants).toEqual([expected]);
    const event: AdminAuditEvent = {
      id: `${NOW_ISO}#id-00000002`,
      type: 'grant.revoked',
      at: NOW_ISO,
      principal: 'admin@example.com',
      requestId: 'req-admin-1',
      sourceIp: '203.0.113.9',
      userAgent: 'tvm-cli/0.1.0',
      profile: DEFAULT_PROFILE_NAME,
      grantId: 'grant-0001',
      detail: { revokedGrantIds: ['grant-0001'], cutOffOrder: 'id-00000001' },
    };
    expect(audit.events).toEqual([event]);
  });

  it('is idempotent: revoking again returns the first revocation, says it was revoked already, and records nothing more', async () => {
    // Prepare
    const { deps, audit, clock } = setUp({ grants: [aGrant()] });
    const first = await revokeGrant(deps, ADMIN, 'grant-0001', META);
    clock.advance(60_000);

    // Act
    const second = await revokeGrant(deps, aPrincipal({ id: 'other-admin@example.com', groups: ['tvm-admin'] }), 'grant-0001', META);

    // Assess
    expect(second).toEqual({ ...first, alreadyRevoked: true });
    expect(first.alreadyRevoked).toBe(false);
    expect(audit.eventsOfType('grant.revoked')).toHaveLength(1);
  });

  it('returns the stored record when a concurrent revocation wins the race', async () => {
    // Prepare: the use case reads the grant while active; someone else revokes it before the write.
    const { deps, store, audit } = setUp({ grants: [aGrant()] });
    const stale = aGrant();
    const winner: Grant = { ...stale, status: 'revoked', revokedAt: '2026-06-01T11:59:59.000Z', revokedBy: 'sec@example.com' };
    let reads = 0;
    const racingStore = Object.assign(Object.create(store) as InMemoryDelegationStore, {
      getGrant: async (id: string) => (reads++ === 0 ? stale : store.getGrant(id)),
    });
    store.seed({ grants: [winner] });

    // Act
    const result = await revokeGrant({ ...deps, store: racingStore }, ADMIN, 'grant-0001', META);

    // Assess
    expect(result).toEqual({ ...winner, revokedDescendants: [], revokedSessions: [], sessionsNotCut: [], roleWideFallback: false, alreadyRevoked: true });
    expect(audit.events).toEqual([]);
  });

  it('refuses an unknown grant id with NotFoundError', async () => {
    // Prepare
    const { deps, audit } = setUp({ grants: [aGrant()] });

    // Act
    const error = await failureOf(revokeGrant(deps, ADMIN, 'grant-9999', META));

    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
    expect(audit.attempts).toEqual([]);
  });

  it('leaves the grant active when the audit event cannot be written', async () => {
    // Prepare
    const { deps, store, audit } = setUp({ grants: [aGrant()] });
    audit.failAppends = true;

    // Act
    const error = await failureOf(revokeGrant(deps, ADMIN, 'grant-0001', META));

    // Assess
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(store.grants).toEqual([aGrant()]);
  });
});

describe('delegation', () => {
  const DELEGATOR = aPrincipal({ id: 'dana@example.com', groups: ['team-leads'] });
  const inAWeek = '2026-06-08T12:00:00.000Z';
  const rootGrant = aGrant({
    id: 'grant-root',
    subject: { type: 'group', id: 'team-leads' },
    canDelegate: true,
    maxSessionSeconds: 1800,
    validUntil: inAWeek,
    scope: { actions: ['s3:Get*'], resources: ['arn:aws:s3:::team/*'] },
    depth: 0,
  });
  const delegated = (overrides: Partial<GrantInput> = {}) =>
    aGrantInput({
      subject: { type: 'user', id: 'eve@example.com' },
      validUntil: '2026-06-05T12:00:00.000Z',
      maxSessionSeconds: 900,
      scope: { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::team/reports/*'] },
      ...overrides,
    });

  it('lets a holder of a canDelegate grant grant within it, recording parent and creator', async () => {
    // Prepare
    const { deps, store } = setUp({ grants: [rootGrant] });

    // Act
    const grant = await createGrant(deps, DELEGATOR, delegated(), META);

    // Assess
    expect(grant).toMatchObject({ parentGrantId: 'grant-root', depth: 1, createdBy: 'dana@example.com', canDelegate: false });
    expect(store.grants.map((g) => g.id)).toEqual(['grant-root', grant.id]);
  });

  it.each([
    ['a later validUntil', { validUntil: '2026-06-09T12:00:00.000Z' }, 'validUntil'],
    ['a longer maxSessionSeconds', { maxSessionSeconds: 3600 }, 'maxSessionSeconds'],
    ['a wider scope', { scope: { actions: ['s3:PutObject'] } }, 'scope.actions'],
  ])('refuses %s with DELEGATION_EXCEEDS_GRANT naming it', async (_label, overrides, named) => {
    // Prepare
    const { deps, store } = setUp({ grants: [rootGrant] });

    // Act
    const error = await failureOf(createGrant(deps, DELEGATOR, delegated(overrides as Partial<GrantInput>), META));

    // Assess
    expect(error).toBeInstanceOf(DelegationExceedsGrantError);
    expect((error as Error).message).toContain(named);
    expect(store.grants).toHaveLength(1);
  });

  it("writes the parent's limits into a delegated grant that leaves them out", async () => {
    // Prepare
    const { deps } = setUp({ grants: [rootGrant] });

    // Act
    const grant = await createGrant(deps, DELEGATOR, delegated({ scope: undefined, maxSessionSeconds: undefined }), META);

    // Assess: at vend time a missing field would fall back to the (wider) profile
    expect(grant.scope).toEqual(rootGrant.scope);
    expect(grant.maxSessionSeconds).toBe(1800);
  });

  it('allows canDelegate one level down, but not beyond two levels', async () => {
    // Prepare
    const { deps } = setUp({ grants: [rootGrant] });
    const level1 = await createGrant(deps, DELEGATOR, delegated({ canDelegate: true }), META);
    const eve = aPrincipal({ id: 'eve@example.com', groups: [] });

    // Act
    const level2 = await createGrant(deps, eve, delegated({ subject: { type: 'user', id: 'finn@example.com' } }), META);
    const tooDeep = await failureOf(
      createGrant(deps, eve, delegated({ subject: { type: 'user', id: 'gus@example.com' }, canDelegate: true }), META),
    );

    // Assess
    expect(level1.depth).toBe(1);
    expect(level2).toMatchObject({ depth: 2, parentGrantId: level1.id });
    expect(tooDeep).toBeInstanceOf(DelegationExceedsGrantError);
    expect((tooDeep as Error).message).toContain('canDelegate');
  });

  it('refuses a caller without a canDelegate grant with FORBIDDEN', async () => {
    // Prepare
    const { deps } = setUp({ grants: [{ ...rootGrant, canDelegate: false }] });

    // Act
    const error = await failureOf(createGrant(deps, DELEGATOR, delegated(), META));

    // Assess
    expect(error).toBeInstanceOf(ForbiddenError);
  });

  it('revokes a grant and everything delegated from it, recursively, in one step', async () => {
    // Prepare
    const { deps, store, audit } = setUp({ grants: [rootGrant] });
    const level1 = await createGrant(deps, DELEGATOR, delegated({ canDelegate: true }), META);
    const eve = aPrincipal({ id: 'eve@example.com', groups: [] });
    const level2 = await createGrant(deps, eve, delegated({ subject: { type: 'user', id: 'finn@example.com' } }), META);

    // Act: the holder of the parent (root) grant revokes level 1
    const revoked = await revokeGrant(deps, DELEGATOR, level1.id, META);

    // Assess
    expect(revoked.revokedDescendants).toEqual([level2.id]);
    expect(store.grants.map((g) => [g.id, g.status])).toEqual([
      ['grant-root', 'active'],
      [level1.id, 'revoked'],
      [level2.id, 'revoked'],
    ]);
    expect(audit.eventsOfType('grant.revoked')).toEqual([
      expect.objectContaining({ grantId: level1.id, detail: { revokedGrantIds: [level2.id, level1.id], cutOffOrder: expect.any(String) } }),
    ]);
  });

  it('lets a holder give up their own grant, and with it what they delegated from it', async () => {
    // Prepare
    const { deps, store, audit } = setUp({ grants: [rootGrant] });
    const level1 = await createGrant(deps, DELEGATOR, delegated({ canDelegate: true }), META);
    const eve = aPrincipal({ id: 'eve@example.com', groups: [] });
    const level2 = await createGrant(deps, eve, delegated({ subject: { type: 'user', id: 'finn@example.com' } }), META);

    // Act: eve holds level 1 and gives it up
    const revoked = await revokeGrant(deps, eve, level1.id, META);

    // Assess
    expect(revoked).toMatchObject({ id: level1.id, status: 'revoked', revokedBy: 'eve@example.com', revokedDescendants: [level2.id] });
    expect(store.grants.map((g) => [g.id, g.status])).toEqual([
      ['grant-root', 'active'],
      [level1.id, 'revoked'],
      [level2.id, 'revoked'],
    ]);
    expect(audit.eventsOfType('grant.revoked')).toEqual([
      expect.objectContaining({ principal: 'eve@example.com', grantId: level1.id, detail: expect.objectContaining({ givenUp: true }) }),
    ]);
  });

  it("does not let a member give up a group's grant for the whole group, nor a holder another subject's grant", async () => {
    // Prepare: dana is in team-leads, which holds the root grant; eve holds a grant dana delegated
    const { deps, store } = setUp({ grants: [rootGrant] });
    const toEve = await createGrant(deps, DELEGATOR, delegated(), META);
    const finn = aPrincipal({ id: 'finn@example.com', groups: ['team-leads'] });
    // Alike but not eve: a group named like her, and her id as a group.
    const eveAlike = aPrincipal({ id: 'eve@example.com ', groups: ['eve@example.com'] });

    // Act
    const groupGrant = await failureOf(revokeGrant(deps, finn, rootGrant.id, META));
    const notHers = await failureOf(revokeGrant(deps, eveAlike, toEve.id, META));

    // Assess
    expect(groupGrant).toBeInstanceOf(NotFoundError);
    expect(notHers).toBeInstanceOf(NotFoundError);
    expect(store.grants.every((g) => g.status === 'active')).toBe(true);
  });

  it("hides another user's grant: a stranger's revoke is NOT_FOUND and changes nothing", async () => {
    // Prepare
    const { deps, store } = setUp({ grants: [rootGrant] });
    const level1 = await createGrant(deps, DELEGATOR, delegated(), META);
    const stranger = aPrincipal({ id: 'mallory@example.com', groups: ['engineering'] });

    // Act
    const error = await failureOf(revokeGrant(deps, stranger, level1.id, META));

    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
    expect(store.grants.every((g) => g.status === 'active')).toBe(true);
  });
});

describe('createGrant during a lockdown', () => {
  // The attack: a tvm-admin outside the allow list granting themselves another profile on the
  // locked role.
  it('refuses an outsider a grant on any profile of a locked role, and records it', async () => {
    // Prepare
    const alias = aProfile({ name: 'alias', roleArn: 'arn:aws:iam::123456789012:role/team/DEV-READONLY', generation: 'alias-gen' });
    const { deps, store, audit } = setUp({ profiles: [aProfile(), alias] });
    const locked = new InMemoryLockdownStore(audit, aLockdown({ profiles: [DEFAULT_PROFILE_NAME], roles: [aProfile().roleArn] }));

    // Act
    const error = await failureOf(createGrant({ ...deps, lockdown: locked }, ADMIN, aGrantInput({ profile: 'alias', subject: { type: 'user', id: ADMIN.id } }), META));

    // Assess
    expect(error).toBeInstanceOf(LockdownActiveError);
    expect(store.grants).toEqual([]);
    expect(audit.events).toEqual([
      expect.objectContaining({ type: 'change.denied', profile: 'alias', detail: expect.objectContaining({ action: 'grant.created' }) }),
    ]);
  });
});

describe('revokeGrant cuts off the sessions vended under the revoked grants', () => {
  const ROLE = aProfile().roleArn;
  const FORMER_ROLE = 'arn:aws:iam::123456789012:role/tvm-dev-old';
  const issuedUnder = (grantId: string, accessKeyId: string, roleArn = ROLE): CredentialIssuedEvent => ({
    id: `2026-06-01T11:30:00.000Z#${accessKeyId}`,
    type: 'credential.issued',
    at: '2026-06-01T11:30:00.000Z',
    principal: 'alice@example.com',
    requestId: `req-${accessKeyId}`,
    profile: DEFAULT_PROFILE_NAME,
    roleArn,
    grantId,
    accessKeyId,
    expiration: '2026-06-01T12:30:00.000Z',
    sessionName: 'alice@example.com',
    sourceIdentity: 'alice@example.com',
    assumedRoleArn: `arn:aws:sts::123456789012:assumed-role/dev-readonly/alice`,
    durationSeconds: 3600,
  });

  it("precisely, by their tvm:grant tag, on every role the profile names or named: the same person's other grant keeps working", async () => {
    // Prepare: alice holds the grant being revoked (with one delegated from it) and another; the
    // profile was re-pointed from a former role an hour ago
    const profile = aProfile({ formerRoles: [{ roleArn: FORMER_ROLE, until: '2026-06-01T23:00:00.000Z' }] });
    const grants = [
      aGrant({ id: 'grant-root', canDelegate: true }),
      aGrant({ id: 'grant-child', parentGrantId: 'grant-root', depth: 1, subject: { type: 'user', id: 'bob@example.com' } }),
      aGrant({ id: 'grant-other', subject: { type: 'group', id: 'engineering' } }),
    ];
    const { deps, audit, cutOff } = setUp({ profiles: [profile], grants });
    for (const event of [
      issuedUnder('grant-root', 'ASIAROOT000000000001'),
      issuedUnder('grant-child', 'ASIACHILD00000000001'),
      issuedUnder('grant-other', 'ASIAOTHER00000000001'),
      issuedUnder('grant-root', 'ASIAFORMERROLE000001', FORMER_ROLE),
    ]) {
      await audit.append(event);
    }

    // Act
    const revoked = await revokeGrant(deps, ADMIN, 'grant-root', META);

    // Assess
    // The decision plus the grace for a vend in flight, rounded up to the hour (revocation-policy.ts)
    const before = '2026-06-01T13:00:00Z';
    const tagged = [
      { kind: 'grant', grantId: 'grant-child', before },
      { kind: 'grant', grantId: 'grant-root', before },
    ];
    expect(cutOff.policies.revocations(ROLE)).toEqual(tagged);
    expect(cutOff.policies.revocations(FORMER_ROLE)).toEqual(tagged);
    expect(revoked.revokedSessions.map((session) => session.accessKeyId).sort()).toEqual([
      'ASIACHILD00000000001',
      'ASIAFORMERROLE000001',
      'ASIAROOT000000000001',
    ]);
    expect(revoked.sessionsNotCut).toEqual([]);
    expect(audit.events.filter((event) => event.type === 'session.revoked').map((event) => event.accessKeyId)).not.toContain('ASIAOTHER00000000001');
  });

  // A tree larger than one transaction is revoked in batches. The attack: a later batch loses a
  // race. The retry sees the first batch's grants revoked already: unless that batch carried its own
  // order, their sessions were never cut.
  it('cuts off every grant of a tree revoked in several batches, even when a later batch lost a race and was retried', async () => {
    // Prepare: a root with 120 children; the second batch's first write loses a race
    const children = Array.from({ length: 120 }, (_, i) =>
      aGrant({ id: `grant-child-${String(i).padStart(3, '0')}`, parentGrantId: 'grant-root', depth: 1, subject: { type: 'user', id: `u${i}@example.com` } }),
    );
    const { deps, store, cutOff } = setUp({ grants: [aGrant({ id: 'grant-root', canDelegate: true }), ...children] });
    let calls = 0;
    const racing = Object.assign(Object.create(store) as typeof store, {
      revokeGrants: async (...args: Parameters<typeof store.revokeGrants>) => (++calls === 2 ? false : store.revokeGrants(...args)),
    });

    // Act
    const revoked = await revokeGrant({ ...deps, store: racing }, ADMIN, 'grant-root', META);

    // Assess: every grant revoked, and every one of them in the role's revocations
    expect(store.grants.filter((grant) => grant.status === 'active')).toEqual([]);
    const denied = cutOff.policies.revocations(ROLE).flatMap((revocation) => (revocation.kind === 'grant' ? [revocation.grantId] : []));
    expect(denied.sort()).toEqual(['grant-root', ...children.map((child) => child.id)].sort());
    expect(revoked.revokedDescendants.sort()).toEqual(children.map((child) => child.id).sort());
    expect(cutOff.orders.pending).toEqual([]);
  });

  // Revoking a revoked grant finishes what an interrupted revocation left: a child still active under
  // it (its revocation failed, or was added as the root's went through) is revoked and cut off.
  it('revokes and cuts off what is still active below a grant already revoked', async () => {
    // Prepare: the root is revoked, a child of it is still active with a live session
    const { deps, audit, store, cutOff } = setUp({
      grants: [
        aGrant({ id: 'grant-root', canDelegate: true, status: 'revoked', revokedAt: '2026-06-01T11:00:00.000Z', revokedBy: 'admin@example.com' }),
        aGrant({ id: 'grant-orphan', parentGrantId: 'grant-root', depth: 1, subject: { type: 'user', id: 'bob@example.com' } }),
      ],
    });
    await audit.append(issuedUnder('grant-orphan', 'ASIAORPHAN0000000001'));

    // Act
    const revoked = await revokeGrant(deps, ADMIN, 'grant-root', META);

    // Assess
    expect(revoked.revokedDescendants).toEqual(['grant-orphan']);
    expect(revoked.revokedSessions.map((session) => session.accessKeyId)).toEqual(['ASIAORPHAN0000000001']);
    expect(store.grants.map((grant) => [grant.id, grant.status])).toEqual([
      ['grant-root', 'revoked'],
      ['grant-orphan', 'revoked'],
    ]);
    expect(cutOff.policies.revocations(ROLE)).toEqual([{ kind: 'grant', grantId: 'grant-orphan', before: '2026-06-01T13:00:00Z' }]);
  });

  it('writes the cut-off order in the same transaction as the revocation: a refused revocation orders nothing', async () => {
    // Prepare: the grant was revoked by someone else between the read and the write
    const { deps, store, cutOff } = setUp({ grants: [aGrant({ id: 'grant-0001' })] });
    const racing = Object.assign(Object.create(store) as typeof store, {
      revokeGrants: async (...args: Parameters<typeof store.revokeGrants>) => {
        await store.revokeGrants([args[0][0] as Grant], 'sec@example.com', '2026-06-01T11:59:59.000Z', { ...args[3], id: 'other-event' });
        return store.revokeGrants(...args);
      },
    });

    // Act
    await revokeGrant({ ...deps, store: racing }, ADMIN, 'grant-0001', META);

    // Assess
    expect(cutOff.orders.pending).toEqual([]);
    expect(cutOff.policies.writes).toEqual([]);
  });
});

describe('the delegation quota', () => {
  const LEAD = aPrincipal({ id: 'lead@example.com', groups: [] });
  const leadGrant = aGrant({
    id: 'grant-lead',
    subject: { type: 'user', id: LEAD.id },
    canDelegate: true,
    depth: 0,
    validUntil: '2026-06-30T00:00:00.000Z',
  });
  const QUOTA = 3;
  const withQuota = (deps: GrantDeps, quota = QUOTA) => ({ ...deps, delegationQuota: quota }) as GrantDeps;
  const toUser = (name: string, overrides: Partial<GrantInput> = {}) =>
    aGrantInput({ subject: { type: 'user', id: `${name}@example.com` }, ...overrides });

  it('refuses the delegation beyond the quota with DELEGATION_QUOTA_EXCEEDED, writing nothing', async () => {
    // Prepare: the lead delegates up to the quota
    const { deps, store, audit } = setUp({ grants: [leadGrant] });
    for (const name of ['u1', 'u2', 'u3']) await createGrant(withQuota(deps), LEAD, toUser(name), META);
    const attempts = audit.attempts.length;

    // Act
    const error = await failureOf(createGrant(withQuota(deps), LEAD, toUser('u4'), META));

    // Assess
    expect((error as TvmError).code).toBe('DELEGATION_QUOTA_EXCEEDED');
    expect((error as TvmError).details).toEqual({ limit: QUOTA, active: QUOTA });
    expect(store.grants).toHaveLength(1 + QUOTA);
    expect(audit.attempts).toHaveLength(attempts);
  });

  it('counts every delegation of the delegator, whatever its profile or subject, and nobody else’s', async () => {
    // Prepare: two delegators under the same admin grant to a group
    const { deps } = setUp({
      profiles: [aProfile(), aProfile({ name: 'other', generation: 'other-gen' })],
      grants: [
        { ...leadGrant, subject: { type: 'group', id: 'leads' } },
        aGrant({ id: 'grant-other', profile: 'other', profileGeneration: 'other-gen', subject: { type: 'group', id: 'leads' }, canDelegate: true, depth: 0, validUntil: '2026-06-30T00:00:00.000Z' }),
      ],
    });
    const lead = aPrincipal({ id: 'lead@example.com', groups: ['leads'] });
    const peer = aPrincipal({ id: 'peer@example.com', groups: ['leads'] });
    await createGrant(withQuota(deps), lead, toUser('u1'), META);
    await createGrant(withQuota(deps), lead, toUser('u2', { profile: 'other' }), META);
    await createGrant(withQuota(deps), lead, aGrantInput({ subject: { type: 'group', id: 'interns' } }), META);

    // Act
    const refused = await failureOf(createGrant(withQuota(deps), lead, toUser('u4', { profile: 'other' }), META));
    const peers = await createGrant(withQuota(deps), peer, toUser('u5'), META);

    // Assess
    expect((refused as TvmError).code).toBe('DELEGATION_QUOTA_EXCEEDED');
    expect(peers.createdBy).toBe(peer.id);
  });

  it('is freed by a revocation and by expiry', async () => {
    // Prepare: the quota used up, one grant ending tomorrow
    const { deps, clock } = setUp({ grants: [leadGrant] });
    const first = await createGrant(withQuota(deps), LEAD, toUser('u1'), META);
    await createGrant(withQuota(deps), LEAD, toUser('u2', { validUntil: '2026-06-02T12:00:00.000Z' }), META);
    await createGrant(withQuota(deps), LEAD, toUser('u3'), META);
    const full = await failureOf(createGrant(withQuota(deps), LEAD, toUser('u4'), META));

    // Act
    await revokeGrant(deps, LEAD, first.id, META);
    const afterRevocation = await createGrant(withQuota(deps), LEAD, toUser('u5'), META);
    const fullAgain = await failureOf(createGrant(withQuota(deps), LEAD, toUser('u6'), META));
    clock.set('2026-06-02T12:00:00.000Z');
    const afterExpiry = await createGrant(withQuota(deps), LEAD, toUser('u7', { validUntil: '2026-06-03T12:00:00.000Z' }), META);

    // Assess
    expect([full, fullAgain].map((error) => (error as TvmError).code)).toEqual(['DELEGATION_QUOTA_EXCEEDED', 'DELEGATION_QUOTA_EXCEEDED']);
    expect([afterRevocation.createdBy, afterExpiry.createdBy]).toEqual([LEAD.id, LEAD.id]);
  });

  it('does not apply to admins', async () => {
    // Prepare
    const { deps, store } = setUp();

    // Act
    for (let i = 0; i < QUOTA + 2; i++) await createGrant(withQuota(deps), ADMIN, toUser(`u${i}`), META);

    // Assess
    expect(store.grants).toHaveLength(QUOTA + 2);
  });

  it('defaults to 200', async () => {
    // Prepare: 200 delegations made
    const { deps } = setUp({ grants: [leadGrant] });
    for (let i = 0; i < 200; i++) await createGrant(deps, LEAD, toUser(`u${i}`), META);

    // Act
    const error = await failureOf(createGrant(deps, LEAD, toUser('u200'), META));

    // Assess
    expect((error as TvmError).code).toBe('DELEGATION_QUOTA_EXCEEDED');
  });
});
