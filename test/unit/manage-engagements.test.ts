// Engagements with in-memory stores: contractors get grants inside what their creator may give;
// the handover revokes them and everything below them, gives the new owners full control and cuts
// off live sessions, in one transaction (the IAM cutoff after it); and nobody else can do any of it.
import type { AdminAuditEvent, CredentialIssuedEvent } from '../../shared/domain/audit.js';
import {
  AlreadyHandedOverError,
  DelegationExceedsGrantError,
  ForbiddenError,
  LockdownActiveError,
  NotFoundError,
  ScopeTooLargeError,
  StoreUnavailableError,
  UpstreamIamError,
  ValidationError,
  type TvmError,
} from '../../shared/domain/errors.js';
import { createGrant, revokeGrant } from '../../shared/domain/manage-grants.js';
import {
  createEngagement,
  getEngagement,
  listEngagements,
  handOverEngagement,
  MAX_GRANTS_PER_ENGAGEMENT_WRITE,
  type HandoverDeps,
} from '../../shared/domain/manage-engagements.js';
import type { Engagement, Grant, Principal, Profile, RequestMeta } from '../../shared/domain/model.js';
import {
  engagementIdSchema,
  engagementInputSchema,
  handoverInputSchema,
  type EngagementInput,
} from '../../shared/domain/schemas.js';
import { toSourceIdentity } from '../../shared/domain/source-identity.js';
import { repairRevocations } from '../../shared/domain/repair-revocations.js';
import { aGrant, aPrincipal, aProfile, FIXED_NOW } from '../fixtures/builders.js';
import { failureOf } from '../fixtures/failure.js';
import {
  inMemoryCutOff,
  InMemoryAuditLog,
  InMemoryDelegationStore,
  InMemoryEngagementStore,
  fixedClock,
  sequentialIds,
} from '../fixtures/in-memory.js';
import { aLockdown, InMemoryLockdownStore } from '../fixtures/in-memory-lockdown.js';

const NOW_ISO = FIXED_NOW.toISOString();
const UNTIL = '2026-07-01T00:00:00.000Z';
const META: RequestMeta = { requestId: 'req-eng-1', sourceIp: '203.0.113.9', userAgent: 'tvm-cli/0.1.0' };
const ROLE_READONLY = 'arn:aws:iam::123456789012:role/tvm-dev-readonly';
const ROLE_DEPLOY = 'arn:aws:iam::123456789012:role/tvm-dev-deploy';

const ADMIN = aPrincipal({ id: 'admin@example.com', groups: ['tvm-admin'] });
const SECURITY = aPrincipal({ id: 'sec@example.com', groups: ['tvm-security'] });
const OWNER = aPrincipal({ id: 'owner@example.com', groups: ['platform'] });
const CARLA = aPrincipal({ id: 'carla@contractor.example', groups: [] });
const CARL = aPrincipal({ id: 'carl@contractor.example', groups: [] });
const STRANGER = aPrincipal({ id: 'mallory@example.com', groups: ['developers'] });
const HEIR = aPrincipal({ id: 'heir@example.com', groups: [] });

const READONLY = aProfile({
  name: 'dev-readonly',
  roleArn: ROLE_READONLY,
  maxSessionSeconds: 3600,
  scope: { actions: ['s3:*', 'sts:GetCallerIdentity'], resources: ['*'] },
});
const DEPLOY = aProfile({ name: 'dev-deploy', roleArn: ROLE_DEPLOY, maxSessionSeconds: 7200, generation: 'deploy-gen-1' });

function setUp(options: { profiles?: Profile[]; grants?: Grant[]; lockdown?: InMemoryLockdownStore } = {}) {
  const audit = new InMemoryAuditLog();
  const store = new InMemoryDelegationStore({ audit, profiles: options.profiles ?? [READONLY, DEPLOY], grants: options.grants ?? [] });
  const engagements = new InMemoryEngagementStore(store);
  const clock = fixedClock(FIXED_NOW);
  const ids = sequentialIds('id');
  const cutOff = inMemoryCutOff(audit, clock, ids);
  const warnings: { message: string; data: Record<string, unknown> }[] = [];
  const deps: HandoverDeps = {
    ...cutOff,
    engagements,
    store,
    clock,
    ids,
    adminGroup: 'tvm-admin',
    securityGroup: 'tvm-security',
    warn: (message, data) => warnings.push({ message, data }),
    lockdown: options.lockdown ?? new InMemoryLockdownStore(audit),
  };
  return { deps, store, engagements, audit, policies: cutOff.policies, orders: cutOff.orders, clock, ids, warnings };
}

type Setup = ReturnType<typeof setUp>;

function anEngagementInput(overrides: Partial<EngagementInput> = {}): EngagementInput {
  return {
    name: 'Checkout rewrite',
    owner: OWNER.id,
    contractors: [CARLA.id, CARL.id],
    profiles: [{ profile: 'dev-readonly', scope: { actions: ['s3:GetObject'] }, maxSessionSeconds: 1800 }, { profile: 'dev-deploy' }],
    validUntil: UNTIL,
    ...overrides,
  };
}

/** The owner's own delegable grants on both profiles, as an admin would have made them. */
function ownerGrants(overrides: Partial<Grant> = {}): Grant[] {
  return [
    aGrant({
      id: 'owner-readonly',
      profile: 'dev-readonly',
      subject: { type: 'user', id: OWNER.id },
      canDelegate: true,
      depth: 0,
      maxSessionSeconds: 3000,
      scope: { actions: ['s3:Get*', 's3:List*'] },
      ...overrides,
    }),
    aGrant({
      id: 'owner-deploy',
      profile: 'dev-deploy',
      profileGeneration: 'deploy-gen-1',
      subject: { type: 'group', id: 'platform' },
      canDelegate: true,
      depth: 0,
      ...overrides,
    }),
  ];
}

function issued(principal: string, overrides: Partial<CredentialIssuedEvent> = {}): CredentialIssuedEvent {
  const key = overrides.accessKeyId ?? 'ASIAEXAMPLE000000001';
  return {
    id: `2026-06-01T11:30:00.000Z#${key}`,
    type: 'credential.issued',
    at: '2026-06-01T11:30:00.000Z',
    principal,
    requestId: `req-${key}`,
    profile: 'dev-readonly',
    roleArn: ROLE_READONLY,
    grantId: 'grant-x',
    accessKeyId: key,
    expiration: '2026-06-01T12:30:00.000Z',
    sessionName: principal.replace('@', '.'),
    sourceIdentity: toSourceIdentity(principal),
    assumedRoleArn: `${ROLE_READONLY.replace(':iam:', ':sts:').replace(':role/', ':assumed-role/')}/x`,
    durationSeconds: 3600,
    ...overrides,
  };
}

async function created(setup: Setup, input = anEngagementInput(), by: Principal = ADMIN) {
  return createEngagement(setup.deps, by, input, META);
}

/** Recorded admin events of one type, oldest first. */
function adminEvents(setup: Setup, type: AdminAuditEvent['type']): AdminAuditEvent[] {
  return setup.audit.events.filter((event): event is AdminAuditEvent => event.type === type);
}

/** What a use case wrote: engagements, grants and audit attempts, for "nothing was written". */
function snapshot(setup: Setup) {
  return { engagements: setup.engagements.engagements, grants: setup.store.grants, audit: setup.audit.attempts.length };
}

describe('engagement input schemas', () => {
  const valid = {
    name: 'Checkout rewrite',
    owner: 'owner@example.com',
    contractors: ['carla@contractor.example'],
    profiles: [{ profile: 'dev-readonly' }],
    validUntil: UNTIL,
  };

  it('accepts a well-formed engagement and handover', () => {
    expect(engagementInputSchema.safeParse(valid).success).toBe(true);
    expect(handoverInputSchema.safeParse({}).success).toBe(true);
    expect(handoverInputSchema.safeParse({ to: ['heir@example.com'], note: 'shipped' }).success).toBe(true);
    expect(engagementIdSchema.safeParse('id-00000001').success).toBe(true);
  });

  it.each([
    ['an unknown field', { ...valid, extra: true }],
    ['an unknown field in a profile entry', { ...valid, profiles: [{ profile: 'dev-readonly', canDelegate: true }] }],
    ['21 contractors', { ...valid, contractors: Array.from({ length: 21 }, (_, i) => `c${i}@example.com`) }],
    ['no contractors', { ...valid, contractors: [] }],
    ['21 profiles', { ...valid, profiles: Array.from({ length: 21 }, (_, i) => ({ profile: `p-${i}` })) }],
    ['no profiles', { ...valid, profiles: [] }],
    ['a name of 129 characters', { ...valid, name: 'x'.repeat(129) }],
    ['an empty name', { ...valid, name: '' }],
    ['a control character in the name', { ...valid, name: 'rewrite\u0007' }],
    ['a contractor twice', { ...valid, contractors: ['a@example.com', 'a@example.com'] }],
    ['the owner as a contractor', { ...valid, contractors: ['owner@example.com'] }],
    ['a profile twice', { ...valid, profiles: [{ profile: 'dev-readonly' }, { profile: 'dev-readonly' }] }],
    ['a principal id of 257 characters', { ...valid, owner: 'o'.repeat(257) }],
    ['a principal id with a newline', { ...valid, contractors: ['carla\n@example.com'] }],
    ['a session limit below the minimum', { ...valid, profiles: [{ profile: 'dev-readonly', maxSessionSeconds: 10 }] }],
    ['a validUntil that is not a date', { ...valid, validUntil: 'tomorrow' }],
  ])('refuses an engagement with %s', (_label, body) => {
    expect(engagementInputSchema.safeParse(body).success).toBe(false);
  });

  it.each([
    ['an unknown field', { to: ['heir@example.com'], extra: 1 }],
    ['21 new owners', { to: Array.from({ length: 21 }, (_, i) => `h${i}@example.com`) }],
    ['an empty list of new owners', { to: [] }],
    ['a new owner twice', { to: ['h@example.com', 'h@example.com'] }],
    ['a note with a control character', { note: 'done\u0000' }],
  ])('refuses a handover with %s', (_label, body) => {
    expect(handoverInputSchema.safeParse(body).success).toBe(false);
  });

  it.each(['short', 'has space in it', '../etc/passwd', 'x'.repeat(65)])('refuses the engagement id %j', (id) => {
    expect(engagementIdSchema.safeParse(id).success).toBe(false);
  });
});

describe('createEngagement', () => {
  it("by an admin: one grant per contractor per profile, linked to the engagement, within the entries' limits", async () => {
    // Prepare
    const setup = setUp();

    // Act
    const view = await created(setup);

    // Assess
    const engagement: Engagement = {
      id: 'id-00000001',
      name: 'Checkout rewrite',
      owner: OWNER.id,
      contractors: [CARLA.id, CARL.id],
      profiles: [{ profile: 'dev-readonly', scope: { actions: ['s3:GetObject'] }, maxSessionSeconds: 1800 }, { profile: 'dev-deploy' }],
      validUntil: UNTIL,
      status: 'active',
      createdBy: ADMIN.id,
      createdAt: NOW_ISO,
      version: 1,
    };
    const grant = (id: string, subject: string, profile: Profile, limits: Partial<Grant>): Grant => ({
      id,
      profile: profile.name,
      profileGeneration: profile.generation,
      subject: { type: 'user', id: subject },
      validFrom: NOW_ISO,
      validUntil: UNTIL,
      ...limits,
      canDelegate: false,
      depth: 0,
      status: 'active',
      version: 1,
      createdBy: ADMIN.id,
      createdAt: NOW_ISO,
      reason: 'engagement "Checkout rewrite"',
      engagementId: 'id-00000001',
    });
    const readonlyLimits = { maxSessionSeconds: 1800, scope: { actions: ['s3:GetObject'] } };
    // id-2 and id-3 are the two planned grants' own ids (the rules plan one grant per profile).
    const grants = [
      grant('id-00000004', CARLA.id, READONLY, readonlyLimits),
      grant('id-00000005', CARLA.id, DEPLOY, {}),
      grant('id-00000006', CARL.id, READONLY, readonlyLimits),
      grant('id-00000007', CARL.id, DEPLOY, {}),
    ];
    expect(view).toEqual({ ...engagement, grants });
    expect(setup.engagements.engagements).toEqual([engagement]);
    expect(setup.store.grants).toEqual(grants);
  });

  it('writes one engagement.created event listing the grants, in the same transaction', async () => {
    // Prepare
    const setup = setUp();

    // Act
    const view = await created(setup);

    // Assess
    const { grants, ...engagement } = view;
    const expected: AdminAuditEvent = {
      id: `${NOW_ISO}#id-00000008`,
      type: 'engagement.created',
      at: NOW_ISO,
      principal: ADMIN.id,
      requestId: META.requestId,
      sourceIp: META.sourceIp,
      userAgent: META.userAgent,
      profiles: ['dev-readonly', 'dev-deploy'],
      detail: { engagementId: view.id, ...engagement, grantIds: grants.map((g) => g.id) },
    };
    expect(setup.audit.events).toEqual([expected]);
    expect(setup.audit.attempts).toHaveLength(1);
  });

  it("by the owner: each grant delegated from the owner's grant, whose limits apply where the entry names none", async () => {
    // Prepare
    const setup = setUp({ grants: ownerGrants() });
    const input = anEngagementInput({
      contractors: [CARLA.id],
      profiles: [{ profile: 'dev-readonly' }, { profile: 'dev-deploy', maxSessionSeconds: 900 }],
    });

    // Act
    const view = await created(setup, input, OWNER);

    // Assess
    expect(view.grants).toEqual([
      expect.objectContaining({
        profile: 'dev-readonly',
        subject: { type: 'user', id: CARLA.id },
        parentGrantId: 'owner-readonly',
        depth: 1,
        canDelegate: false,
        maxSessionSeconds: 3000,
        scope: { actions: ['s3:Get*', 's3:List*'], resources: ['*'] },
        engagementId: view.id,
        createdBy: OWNER.id,
      }),
      expect.objectContaining({
        profile: 'dev-deploy',
        parentGrantId: 'owner-deploy',
        depth: 1,
        maxSessionSeconds: 900,
        engagementId: view.id,
      }),
    ]);
    expect(view.createdBy).toBe(OWNER.id);
  });

  it.each([
    [
      'a scope wider than the owner grant',
      { profiles: [{ profile: 'dev-readonly', scope: { actions: ['s3:PutObject'] } }] },
      /^profile "dev-readonly": .*scope\.actions "s3:PutObject"/,
    ],
    [
      "a session limit above the owner grant's",
      { profiles: [{ profile: 'dev-readonly', maxSessionSeconds: 3600 }] },
      /^profile "dev-readonly": .*maxSessionSeconds is larger than 3000/,
    ],
    ["an end after the owner grant's", { validUntil: '2027-02-01T00:00:00.000Z' }, /^profile "dev-readonly": .*validUntil is later/],
  ])('refuses, as the owner, %s (DELEGATION_EXCEEDS_GRANT), writing nothing', async (_label, overrides, message) => {
    // Prepare
    const setup = setUp({ grants: ownerGrants() });
    const before = snapshot(setup);

    // Act
    const error = await failureOf(created(setup, anEngagementInput(overrides), OWNER));

    // Assess
    expect(error).toBeInstanceOf(DelegationExceedsGrantError);
    expect((error as Error).message).toMatch(message);
    expect(snapshot(setup)).toEqual(before);
  });

  it('refuses an owner without a delegable grant on every profile (FORBIDDEN), writing nothing', async () => {
    // Prepare: a delegable grant on one profile only, a plain one on the other
    const [readonly, deploy] = ownerGrants() as [Grant, Grant];
    const setup = setUp({ grants: [readonly, { ...deploy, canDelegate: false }] });
    const before = snapshot(setup);

    // Act
    const error = await failureOf(created(setup, anEngagementInput(), OWNER));

    // Assess
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as Error).message).toContain('"dev-deploy"');
    expect(snapshot(setup)).toEqual(before);
  });

  it.each([
    ['an end in the past', { validUntil: '2026-05-01T00:00:00.000Z' }, ValidationError, /^body\.validUntil: /],
    ['an end right now', { validUntil: NOW_ISO }, ValidationError, /^body\.validUntil: /],
    [
      "a session limit above the profile's",
      { profiles: [{ profile: 'dev-deploy' }, { profile: 'dev-readonly', maxSessionSeconds: 3601 }] },
      ValidationError,
      /^body\.profiles\.1\.maxSessionSeconds: .*3600/,
    ],
    [
      "a scope outside the profile's",
      { profiles: [{ profile: 'dev-readonly', scope: { actions: ['ec2:*'] } }] },
      ValidationError,
      /^body\.profiles\.0\.scope\.actions: "ec2:\*"/,
    ],
    ['an unknown profile', { profiles: [{ profile: 'no-such-profile' }] }, NotFoundError, /no-such-profile/],
    [
      "an entry whose scope renders a session policy over STS's 2,048 characters",
      {
        profiles: [
          { profile: 'dev-deploy' },
          { profile: 'dev-readonly', scope: { resources: Array.from({ length: 30 }, (_, i) => `arn:aws:s3:::bucket-${i}/${'x'.repeat(80)}`) } },
        ],
      },
      ScopeTooLargeError,
      /^profile "dev-readonly" \(body\.profiles\.1\): the session policy is \d+ characters long; STS allows at most 2048/,
    ],
  ])('refuses %s, writing nothing', async (_label, overrides, type, message) => {
    // Prepare
    const setup = setUp();
    const before = snapshot(setup);

    // Act
    const error = await failureOf(created(setup, anEngagementInput(overrides)));

    // Assess
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(message);
    expect(snapshot(setup)).toEqual(before);
  });

  it('takes exactly as many contractors × profiles as fit one transaction with the later handover', async () => {
    // Prepare: 5 profiles; 17 contractors make 85 grants, plus 5 for the owner at the handover = 90,
    // within the limit of 94: 100 actions less the engagement, its audit event (keyed by its chain
    // position: no head item since the chain-keyed layout, which made the limit 94 from 93), the
    // handover's cut-off (its order, its record for the vend, the epoch's rise), and the quota record
    const profiles = Array.from({ length: 5 }, (_, i) => aProfile({ name: `p-${i}`, generation: `gen-${i}` }));
    const contractors = (n: number) => Array.from({ length: n }, (_, i) => `c${i}@contractor.example`);
    const setup = setUp({ profiles });
    const input = (n: number) => anEngagementInput({ contractors: contractors(n), profiles: profiles.map((p) => ({ profile: p.name })) });

    // Act
    const fits = await created(setup, input(17));
    const before = snapshot(setup);
    const error = await failureOf(created(setup, input(18)));

    // Assess
    expect(MAX_GRANTS_PER_ENGAGEMENT_WRITE).toBe(94);
    expect(fits.grants).toHaveLength(85);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as TvmError).message).toMatch(/^body\.contractors: 18 contractors × 5 profiles make 90 grants.*limit of 94/);
    expect((error as TvmError).details).toEqual({ limit: MAX_GRANTS_PER_ENGAGEMENT_WRITE, grants: 95 });
    expect(snapshot(setup)).toEqual(before);
  });

  it('refuses a profile locked down against its creator', async () => {
    // Prepare
    const audit = new InMemoryAuditLog();
    const lockdown = new InMemoryLockdownStore(audit, aLockdown({ profiles: ['dev-deploy'], allow: { groups: [], principals: [] } }));
    const setup = setUp({ grants: ownerGrants(), lockdown });

    // Act
    const error = await failureOf(created(setup, anEngagementInput(), OWNER));

    // Assess
    expect(error).toBeInstanceOf(LockdownActiveError);
    expect(setup.engagements.engagements).toEqual([]);
  });

  it('refuses a profile on a locked role, whatever the locked profile is called, and records it', async () => {
    // Prepare: the lockdown names another profile on the deploy role
    const audit = new InMemoryAuditLog();
    const lockdown = new InMemoryLockdownStore(audit, aLockdown({ profiles: ['prod-deploy'], roles: [ROLE_DEPLOY], allow: { groups: [], principals: [] } }));
    const setup = setUp({ lockdown });

    // Act
    const error = await failureOf(created(setup, anEngagementInput(), ADMIN));

    // Assess
    expect(error).toBeInstanceOf(LockdownActiveError);
    expect(setup.engagements.engagements).toEqual([]);
    expect(setup.audit.eventsOfType('change.denied')).toEqual([
      expect.objectContaining({ profile: 'dev-deploy', detail: expect.objectContaining({ action: 'engagement.created', roleArn: ROLE_DEPLOY }) }),
    ]);
  });
});

describe('getEngagement', () => {
  it.each([
    ['its owner', OWNER],
    ['a contractor', CARL],
    ['a tvm-admin', ADMIN],
    ['tvm-security', SECURITY],
  ])('shows %s the engagement and the current state of its grants', async (_label, caller) => {
    // Prepare: one contractor grant revoked on its own since
    const setup = setUp();
    const view = await created(setup);
    const first = view.grants[0] as Grant;
    await revokeGrant(setup.deps, ADMIN, first.id, META);

    // Act
    const shown = await getEngagement(setup.deps, caller, view.id);

    // Assess
    expect(shown).toEqual({
      ...view,
      grants: [{ ...first, status: 'revoked', revokedAt: NOW_ISO, revokedBy: ADMIN.id, version: 2 }, ...view.grants.slice(1)],
    });
  });

  it.each([
    ['a stranger', STRANGER],
    ['someone named like the owner at another issuer', aPrincipal({ id: 'partner:owner@example.com', groups: [] })],
    ['a member of a group named like the owner', aPrincipal({ id: 'x@example.com', groups: [OWNER.id] })],
  ])('hides it from %s (404, as for an unknown id)', async (_label, caller) => {
    // Prepare
    const setup = setUp();
    const view = await created(setup);

    // Act
    const hidden = await failureOf(getEngagement(setup.deps, caller, view.id));
    const unknown = await failureOf(getEngagement(setup.deps, caller, 'no-such-engagement'));

    // Assess
    expect(hidden).toBeInstanceOf(NotFoundError);
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect((hidden as Error).message).toBe(`engagement "${view.id}" does not exist`);
  });

  it('shows it to the new owners after the handover, with their grants', async () => {
    // Prepare
    const setup = setUp();
    const view = await created(setup);
    const result = await handOverEngagement(setup.deps, ADMIN, view.id, { to: [HEIR.id] }, META);

    // Act
    const shown = await getEngagement(setup.deps, HEIR, view.id);

    // Assess
    expect(shown.status).toBe('handed-over');
    expect(shown.grants.map((g) => g.id)).toEqual([...view.grants.map((g) => g.id), ...result.newGrants]);
    expect(shown.grants.filter((g) => g.subject.id === HEIR.id).map((g) => g.status)).toEqual(['active', 'active']);
  });
});

describe('listEngagements', () => {
  it('lists for each caller the engagements they are part of, oldest first; admins and security see all', async () => {
    // Prepare: two engagements with different owners and contractors, one handed over to HEIR
    const setup = setUp();
    const first = await created(setup);
    const second = await created(setup, anEngagementInput({ name: 'Billing', owner: ADMIN.id, contractors: [CARL.id] }));
    await handOverEngagement(setup.deps, ADMIN, second.id, { to: [HEIR.id] }, META);
    const ids = async (caller: Principal) => (await listEngagements(setup.deps, caller)).map((engagement) => engagement.id);

    // Act
    const seen = {
      owner: await ids(OWNER),
      carla: await ids(CARLA),
      carl: await ids(CARL),
      heir: await ids(HEIR),
      admin: await ids(ADMIN),
      security: await ids(SECURITY),
      stranger: await ids(STRANGER),
      lookAlike: await ids(aPrincipal({ id: 'x@example.com', groups: [OWNER.id, CARL.id] })),
    };

    // Assess
    expect(seen).toEqual({
      owner: [first.id],
      carla: [first.id],
      carl: [first.id, second.id],
      heir: [second.id],
      admin: [first.id, second.id],
      security: [first.id, second.id],
      stranger: [],
      lookAlike: [],
    });
  });

  it('gives each engagement without its grants', async () => {
    // Prepare
    const setup = setUp();
    const view = await created(setup);

    // Act
    const [listed] = await listEngagements(setup.deps, OWNER);

    // Assess
    const { grants: _grants, ...engagement } = view;
    expect(listed).toEqual(engagement);
  });
});

describe('handOverEngagement', () => {
  it("revokes the contractors' grants, grants the owner every profile, and records it, in one transaction", async () => {
    // Prepare
    const setup = setUp();
    const view = await created(setup);
    const eventsBefore = setup.audit.events.length;
    setup.clock.advance(60_000);
    const at = new Date(FIXED_NOW.getTime() + 60_000).toISOString();

    // Act
    const result = await handOverEngagement(setup.deps, OWNER, view.id, { note: 'shipped' }, META);

    // Assess: the response
    const contractorIds = view.grants.map((g) => g.id);
    expect(result).toEqual({
      engagementId: view.id,
      status: 'handed-over',
      revokedGrants: contractorIds,
      newGrants: ['id-00000009', 'id-00000010'],
      revokedSessions: [],
      sessionsNotCut: [],
      roleWideFallback: false,
      at,
    });
    // The order to cut the contractors off, carried out at once (nobody had a live session)
    const before = new Date(FIXED_NOW.getTime() + 60_000 + 60_000).toISOString().replace('.000Z', 'Z');
    // (Sorted by SourceIdentity: the ledger keeps its revocations in one canonical order.)
    const people = [CARL.id, CARLA.id].map((id) => ({ kind: 'person', sourceIdentity: toSourceIdentity(id), before }));
    expect(setup.policies.revocations(ROLE_READONLY)).toEqual(people);
    expect(setup.policies.revocations(ROLE_DEPLOY)).toEqual(people);
    expect(setup.orders.pending).toEqual([]);
    // The grants
    const byId = new Map(setup.store.grants.map((g) => [g.id, g]));
    for (const id of contractorIds) {
      expect(byId.get(id)).toMatchObject({ status: 'revoked', revokedAt: at, revokedBy: OWNER.id, revokedReason: 'engagement-handed-over' });
    }
    expect(byId.get('id-00000009')).toEqual({
      id: 'id-00000009',
      profile: 'dev-readonly',
      profileGeneration: READONLY.generation,
      subject: { type: 'user', id: OWNER.id },
      validFrom: at,
      validUntil: UNTIL,
      maxSessionSeconds: 1800,
      scope: { actions: ['s3:GetObject'] },
      canDelegate: true,
      depth: 0,
      status: 'active',
      version: 1,
      createdBy: OWNER.id,
      createdAt: at,
      reason: 'handover of engagement "Checkout rewrite"',
      engagementId: view.id,
    });
    expect(byId.get('id-00000010')).toMatchObject({ profile: 'dev-deploy', subject: { type: 'user', id: OWNER.id }, canDelegate: true });
    // The engagement
    const { grants: _grants, ...engagement } = view;
    expect(setup.engagements.engagements).toEqual([
      {
        ...engagement,
        status: 'handed-over',
        version: 2,
        handover: { at, by: OWNER.id, to: [OWNER.id], note: 'shipped', revokedGrants: contractorIds, newGrants: result.newGrants, cutOffOrder: 'id-00000011' },
      },
    ]);
    // One handover.completed, written with the change
    const events = setup.audit.events.slice(eventsBefore);
    expect(events).toEqual([
      {
        id: `${at}#id-00000012`,
        type: 'handover.completed',
        at,
        principal: OWNER.id,
        requestId: META.requestId,
        sourceIp: META.sourceIp,
        userAgent: META.userAgent,
        profiles: ['dev-readonly', 'dev-deploy'],
        detail: {
          engagementId: view.id,
          version: 2,
          to: [OWNER.id],
          note: 'shipped',
          revokedGrants: contractorIds,
          newGrants: result.newGrants,
          cutOffOrder: 'id-00000011',
          cutOffBefore: new Date(FIXED_NOW.getTime() + 120_000).toISOString(),
        },
      },
    ]);
  });

  it("cuts off every contractor's live sessions on the engagement's roles, one session.revoked each", async () => {
    // Prepare: live and expired sessions, on the engagement's profiles and elsewhere
    const setup = setUp({ profiles: [READONLY, DEPLOY, aProfile({ name: 'billing', roleArn: 'arn:aws:iam::123456789012:role/tvm-billing' })] });
    const view = await created(setup);
    const sessions = [
      issued(CARLA.id, { accessKeyId: 'ASIACARLALIVE0000001' }),
      issued(CARL.id, { accessKeyId: 'ASIACARLLIVE00000001', profile: 'dev-deploy', roleArn: ROLE_DEPLOY }),
      issued(CARLA.id, { accessKeyId: 'ASIACARLAEXPIRED0001', expiration: '2026-06-01T11:59:59.000Z' }),
      issued(CARLA.id, { accessKeyId: 'ASIACARLABILLING0001', profile: 'billing', roleArn: 'arn:aws:iam::123456789012:role/tvm-billing' }),
      issued(OWNER.id, { accessKeyId: 'ASIAOWNERLIVE0000001' }),
    ];
    for (const session of sessions) await setup.audit.append(session);

    // Act
    const result = await handOverEngagement(setup.deps, ADMIN, view.id, {}, META);

    // Assess: on each role, a person cutoff per contractor, reaching past now by the grace a vend
    // in flight needs
    const before = new Date(FIXED_NOW.getTime() + 60_000).toISOString().replace('.000Z', 'Z');
    // (Sorted by SourceIdentity: the ledger keeps its revocations in one canonical order.)
    const people = [CARL.id, CARLA.id].map((id) => ({ kind: 'person', sourceIdentity: toSourceIdentity(id), before }));
    expect(setup.policies.revocations(ROLE_READONLY)).toEqual(people);
    expect(setup.policies.revocations(ROLE_DEPLOY)).toEqual(people);
    expect(setup.policies.document('arn:aws:iam::123456789012:role/tvm-billing')).toBeUndefined();
    const cut = [
      { accessKeyId: 'ASIACARLALIVE0000001', sourceIdentity: toSourceIdentity(CARLA.id), expiration: '2026-06-01T12:30:00.000Z' },
      { accessKeyId: 'ASIACARLLIVE00000001', sourceIdentity: toSourceIdentity(CARL.id), expiration: '2026-06-01T12:30:00.000Z' },
    ];
    expect(result.revokedSessions).toEqual(cut);
    expect(result.sessionsNotCut).toEqual([]);
    const order = setup.engagements.engagements[0]?.handover?.cutOffOrder;
    const revokedEvents = adminEvents(setup, 'session.revoked');
    const detail = { cause: 'engagement-handed-over', orderId: order, engagementId: view.id, roleWideFallback: false };
    expect(revokedEvents.map((e) => [e.principal, e.profile, e.detail])).toEqual([
      [ADMIN.id, 'dev-readonly', { ...cut[0], roleArn: ROLE_READONLY, ...detail }],
      [ADMIN.id, 'dev-deploy', { ...cut[1], roleArn: ROLE_DEPLOY, ...detail }],
    ]);
    expect(adminEvents(setup, 'handover.completed')[0]?.detail?.cutOffOrder).toBe(order);
    expect(setup.orders.pending).toEqual([]);
  });

  it("lists, and does not record as revoked, the sessions on a role whose policy could not be written; the handover stands", async () => {
    // Prepare
    const setup = setUp();
    const view = await created(setup);
    await setup.audit.append(issued(CARLA.id, { accessKeyId: 'ASIACARLALIVE0000001' }));
    await setup.audit.append(issued(CARL.id, { accessKeyId: 'ASIACARLLIVE00000001', profile: 'dev-deploy', roleArn: ROLE_DEPLOY }));
    const throttled = new UpstreamIamError('could not update the revocation policy of role tvm-dev-deploy (Throttling)', {
      details: { iamCode: 'Throttling' },
    });
    setup.policies.failFor(ROLE_DEPLOY, throttled);

    // Act
    const result = await handOverEngagement(setup.deps, OWNER, view.id, {}, META);

    // Assess
    expect(result.status).toBe('handed-over');
    expect(result.revokedSessions.map((s) => s.accessKeyId)).toEqual(['ASIACARLALIVE0000001']);
    const notCut = {
      accessKeyId: 'ASIACARLLIVE00000001',
      sourceIdentity: toSourceIdentity(CARL.id),
      expiration: '2026-06-01T12:30:00.000Z',
      roleArn: ROLE_DEPLOY,
      code: 'UPSTREAM_IAM_ERROR',
      message: 'could not update the revocation policy of role tvm-dev-deploy (Throttling)',
    };
    expect(result.sessionsNotCut).toEqual([notCut]);
    expect(adminEvents(setup, 'session.revoked').map((e) => e.detail?.accessKeyId)).toEqual(['ASIACARLALIVE0000001']);
    expect(adminEvents(setup, 'cutoff.failed').map((e) => e.detail)).toEqual([
      expect.objectContaining({ roleArn: ROLE_DEPLOY, code: 'UPSTREAM_IAM_ERROR', sessionsNotCut: [notCut], engagementId: view.id }),
    ]);
    expect(setup.engagements.engagements[0]?.status).toBe('handed-over');
    expect(setup.store.grants.filter((g) => view.grants.some((c) => c.id === g.id)).map((g) => g.status)).toEqual(
      Array(4).fill('revoked'),
    );
    expect(setup.warnings).toEqual([
      expect.objectContaining({ message: 'sessions could not be cut off on a role', data: expect.objectContaining({ roleArn: ROLE_DEPLOY }) }),
    ]);
    // The order keeps the role that failed, for the schedule, which cuts it once IAM answers again.
    expect(setup.orders.pending).toEqual([expect.objectContaining({ roles: [ROLE_DEPLOY], attempts: 1 })]);
    setup.policies.heal();
    const repaired = await repairRevocations(setup.deps, { requestId: 'schedule-1' });
    expect(repaired.orders).toEqual({ pending: 1, completed: 1 });
    expect(setup.orders.pending).toEqual([]);
    expect(adminEvents(setup, 'session.revoked').map((e) => e.detail?.accessKeyId)).toEqual(['ASIACARLALIVE0000001', 'ASIACARLLIVE00000001']);
    expect(setup.policies.revocations(ROLE_DEPLOY).map((r) => (r.kind === 'person' ? r.sourceIdentity : r.kind))).toEqual([
      toSourceIdentity(CARL.id),
      toSourceIdentity(CARLA.id),
    ]);
  });

  it('gives full control to the principals named in `to` instead of the owner', async () => {
    // Prepare
    const setup = setUp();
    const view = await created(setup);

    // Act
    const result = await handOverEngagement(setup.deps, ADMIN, view.id, { to: [HEIR.id, 'heir2@example.com'] }, META);

    // Assess
    const created_ = setup.store.grants.filter((g) => result.newGrants.includes(g.id));
    expect(created_.map((g) => [g.subject.id, g.profile, g.canDelegate, g.depth])).toEqual([
      [HEIR.id, 'dev-readonly', true, 0],
      [HEIR.id, 'dev-deploy', true, 0],
      ['heir2@example.com', 'dev-readonly', true, 0],
      ['heir2@example.com', 'dev-deploy', true, 0],
    ]);
    expect(setup.store.grants.some((g) => g.subject.id === OWNER.id)).toBe(false);
    expect(setup.engagements.engagements[0]?.handover?.to).toEqual([HEIR.id, 'heir2@example.com']);
  });

  it("keeps a delegated engagement's new grants under the owner's grant", async () => {
    // Prepare
    const setup = setUp({ grants: ownerGrants() });
    const view = await created(setup, anEngagementInput({ profiles: [{ profile: 'dev-readonly' }] }), OWNER);

    // Act
    const result = await handOverEngagement(setup.deps, OWNER, view.id, {}, META);

    // Assess
    const [owners] = setup.store.grants.filter((g) => result.newGrants.includes(g.id));
    expect(owners).toMatchObject({
      subject: { type: 'user', id: OWNER.id },
      parentGrantId: 'owner-readonly',
      depth: 1,
      canDelegate: true,
      maxSessionSeconds: 3000,
      scope: { actions: ['s3:Get*', 's3:List*'], resources: ['*'] },
    });
  });

  it("refuses the owner a delegated engagement whose owner grant was revoked; an admin may still hand it over", async () => {
    // Prepare: the owner's grant is revoked, and the contractors' with it (cascade)
    const setup = setUp({ grants: ownerGrants() });
    const view = await created(setup, anEngagementInput({ profiles: [{ profile: 'dev-readonly' }] }), OWNER);
    await revokeGrant(setup.deps, ADMIN, 'owner-readonly', META);
    const before = snapshot(setup);

    // Act
    const refused = await failureOf(handOverEngagement(setup.deps, OWNER, view.id, {}, META));
    const afterRefusal = snapshot(setup);
    const result = await handOverEngagement(setup.deps, ADMIN, view.id, {}, META);

    // Assess
    expect(refused).toBeInstanceOf(ForbiddenError);
    expect((refused as Error).message).toContain('owner-readonly');
    expect(afterRefusal).toEqual(before);
    // Already revoked by the cascade: nothing left to revoke, the owner gets an admin's grant.
    expect(result.revokedGrants).toEqual([]);
    const [owners] = setup.store.grants.filter((g) => result.newGrants.includes(g.id));
    expect(owners).toMatchObject({ subject: { type: 'user', id: OWNER.id }, depth: 0, canDelegate: true });
    expect(owners?.parentGrantId).toBeUndefined();
  });

  it('also revokes every grant delegated from a contractor grant', async () => {
    // Prepare: a contractor grant that could delegate (not one tvm makes), with a chain below it
    const setup = setUp();
    const engagement: Engagement = {
      id: 'eng-legacy-1',
      name: 'Legacy',
      owner: OWNER.id,
      contractors: [CARLA.id],
      profiles: [{ profile: 'dev-readonly' }],
      validUntil: UNTIL,
      status: 'active',
      createdBy: ADMIN.id,
      createdAt: NOW_ISO,
      version: 1,
    };
    const root = aGrant({ id: 'carla-root', profile: 'dev-readonly', subject: { type: 'user', id: CARLA.id }, canDelegate: true, depth: 0, engagementId: engagement.id });
    const child = aGrant({ id: 'carla-child', subject: { type: 'user', id: 'sub@contractor.example' }, canDelegate: true, parentGrantId: 'carla-root', depth: 1 });
    const grandchild = aGrant({ id: 'carla-grandchild', subject: { type: 'user', id: 'sub2@contractor.example' }, parentGrantId: 'carla-child', depth: 2 });
    const gone = aGrant({ id: 'carla-gone', subject: { type: 'user', id: 'sub3@contractor.example' }, parentGrantId: 'carla-root', depth: 1, status: 'revoked' });
    setup.engagements.seed(engagement, [root]);
    setup.store.seed({ grants: [child, grandchild, gone] });

    // Act
    const result = await handOverEngagement(setup.deps, OWNER, engagement.id, {}, META);

    // Assess
    expect(result.revokedGrants).toEqual(['carla-root', 'carla-child', 'carla-grandchild']);
    const byId = new Map(setup.store.grants.map((g) => [g.id, g]));
    expect(['carla-root', 'carla-child', 'carla-grandchild'].map((id) => byId.get(id)?.revokedReason)).toEqual(
      Array(3).fill('engagement-handed-over'),
    );
    expect(byId.get('carla-gone')?.revokedReason).toBeUndefined();
  });

  it('refuses a second handover with the first one summarised (ALREADY_HANDED_OVER), writing nothing', async () => {
    // Prepare
    const setup = setUp();
    const view = await created(setup);
    await setup.audit.append(issued(CARLA.id));
    const first = await handOverEngagement(setup.deps, OWNER, view.id, {}, META);
    const before = snapshot(setup);
    const writes = setup.policies.writes.length;

    // Act
    const error = await failureOf(handOverEngagement(setup.deps, ADMIN, view.id, { to: [HEIR.id] }, META));

    // Assess
    expect(error).toBeInstanceOf(AlreadyHandedOverError);
    expect((error as TvmError).details).toEqual({
      engagementId: view.id,
      handedOverAt: first.at,
      handedOverBy: OWNER.id,
      revokedGrants: 4,
      newGrants: 2,
    });
    expect((error as Error).message).toMatch(/already handed over .* by owner@example\.com: 4 grants revoked, 2 granted$/);
    expect(snapshot(setup)).toEqual(before);
    expect(setup.policies.writes).toHaveLength(writes);
  });

  it('gives the loser of two concurrent handovers 409 ALREADY_HANDED_OVER, writing nothing of its own', async () => {
    // Prepare: another handover commits between this one's read and its write
    const setup = setUp();
    const view = await created(setup);
    const { grants: _grants, ...engagement } = view;
    setup.engagements.beforeNextWrite = () =>
      setup.engagements.seed({ ...engagement, status: 'handed-over', version: 2 }, view.grants);
    const grantsBefore = setup.store.grants;
    const auditBefore = setup.audit.events.length;

    // Act
    const error = await failureOf(handOverEngagement(setup.deps, OWNER, view.id, {}, META));

    // Assess
    expect(error).toBeInstanceOf(AlreadyHandedOverError);
    expect((error as TvmError).code).toBe('ALREADY_HANDED_OVER');
    expect(setup.store.grants).toEqual(grantsBefore);
    expect(setup.audit.events).toHaveLength(auditBefore);
    expect(setup.policies.writes).toEqual([]);
  });

  it('plans again when one of its grants was revoked on its own meanwhile', async () => {
    // Prepare
    const setup = setUp();
    const view = await created(setup);
    const first = view.grants[0] as Grant;
    setup.engagements.beforeNextWrite = () => setup.store.seed({ grants: [{ ...first, status: 'revoked', revokedAt: NOW_ISO, revokedBy: ADMIN.id }] });

    // Act
    const result = await handOverEngagement(setup.deps, OWNER, view.id, {}, META);

    // Assess
    expect(result.revokedGrants).toEqual(view.grants.slice(1).map((g) => g.id));
    expect(setup.store.grants.find((g) => g.id === first.id)).toMatchObject({ revokedBy: ADMIN.id });
    expect(setup.store.grants.find((g) => g.id === first.id)?.revokedReason).toBeUndefined();
    expect(adminEvents(setup, 'handover.completed')).toHaveLength(1);
  });

  it('refuses a handover that would not fit one transaction (400 naming the limit), writing nothing', async () => {
    // Prepare: 2 contractors × 5 profiles = 10 to revoke; 18 new owners × 5 = 90 to create
    const profiles = Array.from({ length: 5 }, (_, i) => aProfile({ name: `p-${i}`, generation: `gen-${i}` }));
    const setup = setUp({ profiles });
    const view = await created(setup, anEngagementInput({ profiles: profiles.map((p) => ({ profile: p.name })) }));
    const before = snapshot(setup);
    const to = Array.from({ length: 18 }, (_, i) => `heir${i}@example.com`);

    // Act
    const error = await failureOf(handOverEngagement(setup.deps, ADMIN, view.id, { to }, META));
    const afterRefusal = snapshot(setup);
    const fits = await handOverEngagement(setup.deps, ADMIN, view.id, { to: to.slice(0, 16) }, META);

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/revoke 10 grants .*create 90 .*100 in all, above the limit of 94/);
    expect(afterRefusal).toEqual(before);
    expect(fits.newGrants).toHaveLength(80);
  });

  it('hands over an engagement past its end without granting anything', async () => {
    // Prepare
    const setup = setUp();
    const view = await created(setup);
    setup.clock.set('2026-07-02T00:00:00.000Z');

    // Act
    const result = await handOverEngagement(setup.deps, OWNER, view.id, {}, META);

    // Assess
    expect(result.newGrants).toEqual([]);
    expect(result.revokedGrants).toHaveLength(4);
    expect(setup.engagements.engagements[0]?.status).toBe('handed-over');
  });

  it('writes nothing when the store is unavailable', async () => {
    // Prepare
    const setup = setUp();
    const view = await created(setup);
    setup.store.unavailable = true;

    // Act
    const error = await failureOf(handOverEngagement(setup.deps, OWNER, view.id, {}, META));

    // Assess
    setup.store.unavailable = false;
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(setup.engagements.engagements[0]?.status).toBe('active');
    expect(setup.policies.writes).toEqual([]);
  });
});

describe('authorization: the wrong caller succeeds at nothing', () => {
  it.each([
    ['a stranger, for the owner', STRANGER, ForbiddenError],
    ['a contractor, for the owner', CARLA, ForbiddenError],
    ['tvm-security, for the owner', SECURITY, ForbiddenError],
  ])('createEngagement refuses %s', async (_label, caller, type) => {
    // Prepare: the caller even holds delegable grants of their own
    const setup = setUp({ grants: ownerGrants({ subject: { type: 'user', id: caller.id } }) });
    const before = snapshot(setup);

    // Act
    const error = await failureOf(created(setup, anEngagementInput(), caller));

    // Assess
    expect(error).toBeInstanceOf(type);
    expect(snapshot(setup)).toEqual(before);
  });

  it.each([
    ['a stranger', STRANGER, NotFoundError],
    ['someone with the owner id in a group', aPrincipal({ id: 'y@example.com', groups: [OWNER.id] }), NotFoundError],
    ['a future new owner, before the handover', HEIR, NotFoundError],
    ['a contractor', CARLA, ForbiddenError],
    ['tvm-security', SECURITY, ForbiddenError],
  ])('handOverEngagement refuses %s, writing and cutting nothing', async (_label, caller, type) => {
    // Prepare
    const setup = setUp();
    const view = await created(setup);
    await setup.audit.append(issued(CARLA.id));
    const before = snapshot(setup);

    // Act
    const error = await failureOf(handOverEngagement(setup.deps, caller, view.id, { to: [caller.id] }, META));

    // Assess
    expect(error).toBeInstanceOf(type);
    expect(snapshot(setup)).toEqual(before);
    expect(setup.policies.writes).toEqual([]);
  });

  // The handover's new grants carry full control (canDelegate, and root grants for an admin's
  // engagement): handing them to anyone but oneself would let an owner mint access for anybody.
  it.each([
    ['someone else', [HEIR.id]],
    ['themselves and someone else', [OWNER.id, HEIR.id]],
  ])('handOverEngagement refuses the owner a handover to %s (403 FORBIDDEN: tvm-admin only), writing and cutting nothing', async (_label, to) => {
    // Prepare
    const setup = setUp();
    const view = await created(setup);
    await setup.audit.append(issued(CARLA.id));
    const before = snapshot(setup);

    // Act
    const error = await failureOf(handOverEngagement(setup.deps, OWNER, view.id, { to }, META));

    // Assess
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as Error).message).toBe(`only a tvm-admin may hand engagement ${view.id} over to someone other than its owner`);
    expect(snapshot(setup)).toEqual(before);
    expect(setup.policies.writes).toEqual([]);
  });

  it('handOverEngagement lets the owner name themselves as the new owner', async () => {
    // Prepare
    const setup = setUp();
    const view = await created(setup);

    // Act
    const result = await handOverEngagement(setup.deps, OWNER, view.id, { to: [OWNER.id] }, META);

    // Assess
    expect(result.status).toBe('handed-over');
  });

  it('handOverEngagement refuses a new owner a second handover (403 before 409: not theirs to hand over)', async () => {
    // Prepare
    const setup = setUp();
    const view = await created(setup);
    await handOverEngagement(setup.deps, ADMIN, view.id, { to: [HEIR.id] }, META);

    // Act
    const error = await failureOf(handOverEngagement(setup.deps, HEIR, view.id, {}, META));

    // Assess
    expect(error).toBeInstanceOf(ForbiddenError);
  });
});

describe('the delegation quota', () => {
  const QUOTA = 3;
  const withQuota = (setup: Setup, quota = QUOTA) => ({ ...setup.deps, delegationQuota: quota }) as HandoverDeps;
  /** One contractor on dev-readonly and dev-deploy: two delegated grants when the owner creates it. */
  const twoGrants = (overrides: Partial<EngagementInput> = {}) =>
    anEngagementInput({ contractors: [CARLA.id], profiles: [{ profile: 'dev-readonly' }, { profile: 'dev-deploy' }], ...overrides });
  const delegate = (setup: Setup, to: string) =>
    createGrant(withQuota(setup), OWNER, { profile: 'dev-readonly', subject: { type: 'user', id: to }, validUntil: UNTIL, canDelegate: false }, META);

  it("counts an owner's engagement grants: beyond the quota it is DELEGATION_QUOTA_EXCEEDED, writing nothing", async () => {
    // Prepare: one place left after two delegations
    const setup = setUp({ grants: ownerGrants() });
    await delegate(setup, 'u1@example.com');
    await delegate(setup, 'u2@example.com');
    const before = snapshot(setup);

    // Act
    const error = await failureOf(createEngagement(withQuota(setup), OWNER, twoGrants(), META));

    // Assess
    expect((error as TvmError).code).toBe('DELEGATION_QUOTA_EXCEEDED');
    expect(snapshot(setup)).toEqual(before);
  });

  it('takes places an ordinary delegation then cannot have', async () => {
    // Prepare
    const setup = setUp({ grants: ownerGrants() });
    await createEngagement(withQuota(setup), OWNER, twoGrants(), META);

    // Act
    const last = await delegate(setup, 'u1@example.com');
    const refused = await failureOf(delegate(setup, 'u2@example.com'));

    // Assess
    expect(last.parentGrantId).toBe('owner-readonly');
    expect((refused as TvmError).code).toBe('DELEGATION_QUOTA_EXCEEDED');
  });

  it("does not count an admin's engagement", async () => {
    // Prepare
    const setup = setUp({ grants: ownerGrants() });
    await createEngagement(withQuota(setup), ADMIN, twoGrants({ contractors: [CARLA.id, CARL.id] }), META);

    // Act
    for (const to of ['u1', 'u2', 'u3']) await delegate(setup, `${to}@example.com`);

    // Assess
    expect(setup.store.grants.filter((g) => g.createdBy === OWNER.id)).toHaveLength(QUOTA);
  });

  it("hands over within the quota: the contractors' places go to the new owner grants", async () => {
    // Prepare: the quota full with the engagement's two grants and a delegation
    const setup = setUp({ grants: ownerGrants() });
    const view = await createEngagement(withQuota(setup), OWNER, twoGrants(), META);
    await delegate(setup, 'u1@example.com');

    // Act
    const result = await handOverEngagement(withQuota(setup), OWNER, view.id, {}, META);
    const refused = await failureOf(delegate(setup, 'u2@example.com'));

    // Assess: two revoked, two granted to the owner (delegated from the owner's grants), still full
    expect([result.revokedGrants.length, result.newGrants.length]).toEqual([2, 2]);
    expect((refused as TvmError).code).toBe('DELEGATION_QUOTA_EXCEEDED');
  });

  it("lets the owner hand over to themselves with the quota full: the new grants take the contractors' places", async () => {
    // Prepare: the owner's quota used up by the engagement and one delegation
    const setup = setUp({ grants: ownerGrants() });
    const view = await createEngagement(withQuota(setup), OWNER, twoGrants(), META);
    await delegate(setup, 'u1@example.com');

    // Act
    const result = await handOverEngagement(withQuota(setup), OWNER, view.id, {}, META);

    // Assess
    expect(result.newGrants).toHaveLength(2);
    expect(await failureOf(delegate(setup, 'u2@example.com'))).toMatchObject({ code: 'DELEGATION_QUOTA_EXCEEDED' });
  });
});

describe("an engagement hanging from its owner's grant", () => {
  // The lead delegated the engagement from their own grant: revoking that grant must end the
  // contractors' access and cut their live sessions, as it does for any grant delegated from it.
  it("is revoked with the owner's grant, and the contractors' sessions are cut off with it", async () => {
    // Prepare
    const setup = setUp({ grants: ownerGrants() });
    const view = await created(setup, anEngagementInput({ profiles: [{ profile: 'dev-readonly' }] }), OWNER);
    const carlasGrant = view.grants.find((grant) => grant.subject.id === CARLA.id) as Grant;
    await setup.audit.append(issued(CARLA.id, { accessKeyId: 'ASIACARLALIVE0000001', grantId: carlasGrant.id }));

    // Act
    const revoked = await revokeGrant(setup.deps, ADMIN, 'owner-readonly', META);

    // Assess
    expect(revoked.revokedDescendants.sort()).toEqual(view.grants.map((grant) => grant.id).sort());
    expect(setup.store.grants.filter((grant) => grant.engagementId === view.id).map((grant) => grant.status)).toEqual(['revoked', 'revoked']);
    expect(revoked.revokedSessions.map((session) => session.accessKeyId)).toEqual(['ASIACARLALIVE0000001']);
    expect(setup.policies.revocations(ROLE_READONLY)).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'grant', grantId: carlasGrant.id })]),
    );
  });
});
