// Profile administration with an in-memory store: only roles tvm may assume, the ExternalId never
// leaves tvm (not in responses, not in the audit trail), and every change is audited.
import type { AdminAuditEvent } from '../../shared/domain/audit.js';
import {
  ConflictError,
  LockdownActiveError,
  NotFoundError,
  PreconditionFailedError,
  StoreUnavailableError,
  ValidationError,
} from '../../shared/domain/errors.js';
import {
  deleteProfile,
  getProfile,
  listProfiles,
  putProfile,
  type ProfileDeps,
} from '../../shared/domain/manage-profiles.js';
import type { Profile, RequestMeta } from '../../shared/domain/model.js';
import { profileInputSchema, type ProfileInput } from '../../shared/domain/schemas.js';
import { FIXED_NOW, aPrincipal, aProfile } from '../fixtures/builders.js';
import { InMemoryAuditLog, InMemoryDelegationStore, fixedClock, sequentialIds } from '../fixtures/in-memory.js';
import { failureOf } from '../fixtures/failure.js';
import { aLockdown, InMemoryLockdownStore } from '../fixtures/in-memory-lockdown.js';

const ADMIN = aPrincipal({ id: 'admin@example.com', groups: ['tvm-admin'] });
const META: RequestMeta = { requestId: 'req-admin-1', sourceIp: '203.0.113.9', userAgent: 'tvm-cli/0.1.0' };
const NOW_ISO = FIXED_NOW.toISOString();
const ROLE_ARN_PATTERN = 'arn:aws:iam::*:role/tvm-*';
const EXTERNAL_ID = 'ext-id-7a6b5c4d3e2f';

function setUp(profiles: Profile[] = [], accounts: ProfileDeps['accounts'] = ['123456789012']) {
  const audit = new InMemoryAuditLog();
  const store = new InMemoryDelegationStore({ audit, profiles });
  const lockdown = new InMemoryLockdownStore(audit);
  const deps: ProfileDeps = {
    store,
    lockdown,
    audit,
    clock: fixedClock(FIXED_NOW),
    ids: sequentialIds('id'),
    roleArnPattern: ROLE_ARN_PATTERN,
    accounts,
  };
  return { deps, store, audit, lockdown };
}

function aProfileInput(overrides: Partial<ProfileInput> = {}): ProfileInput {
  return {
    roleArn: 'arn:aws:iam::123456789012:role/tvm-dev-readonly',
    description: 'Read-only access to dev',
    maxSessionSeconds: 3600,
    sensitivity: 'standard',
    ...overrides,
  };
}

describe('putProfile', () => {
  it('stores the profile stamped with who changed it and when, and returns its public view', async () => {
    // Prepare
    const { deps, store } = setUp();
    const input = aProfileInput({ scope: { actions: ['s3:Get*'] }, externalId: EXTERNAL_ID });

    // Act
    const view = await putProfile(deps, ADMIN, 'dev-readonly', input, META);

    // Assess
    expect(store.profiles).toEqual([
      {
        name: 'dev-readonly',
        ...input,
        createdAt: NOW_ISO,
        generation: 'id-00000001',
        updatedAt: NOW_ISO,
        updatedBy: 'admin@example.com',
      },
    ]);
    expect(view).toEqual({
      name: 'dev-readonly',
      roleArn: 'arn:aws:iam::123456789012:role/tvm-dev-readonly',
      description: 'Read-only access to dev',
      maxSessionSeconds: 3600,
      sensitivity: 'standard',
      scope: { actions: ['s3:Get*'] },
      externalIdSet: true,
      createdAt: NOW_ISO,
      updatedAt: NOW_ISO,
      updatedBy: 'admin@example.com',
    });
    expect(view).not.toHaveProperty('externalId');
    expect(view).not.toHaveProperty('generation');
  });

  it('writes one profile.put event whose detail reports externalIdSet but never the ExternalId', async () => {
    // Prepare
    const { deps, audit } = setUp();

    // Act
    await putProfile(deps, ADMIN, 'dev-readonly', aProfileInput({ externalId: EXTERNAL_ID }), META);

    // Assess
    const expected: AdminAuditEvent = {
      id: `${NOW_ISO}#id-00000002`,
      type: 'profile.put',
      at: NOW_ISO,
      principal: 'admin@example.com',
      requestId: 'req-admin-1',
      sourceIp: '203.0.113.9',
      userAgent: 'tvm-cli/0.1.0',
      profile: 'dev-readonly',
      detail: {
        name: 'dev-readonly',
        roleArn: 'arn:aws:iam::123456789012:role/tvm-dev-readonly',
        description: 'Read-only access to dev',
        maxSessionSeconds: 3600,
        sensitivity: 'standard',
        externalIdSet: true,
        createdAt: NOW_ISO,
        updatedAt: NOW_ISO,
        updatedBy: 'admin@example.com',
      },
    };
    expect(audit.events).toEqual([expected]);
    expect(audit.events[0]?.type === 'profile.put' && audit.events[0].detail).not.toHaveProperty('externalId');
    expect(JSON.stringify(audit.attempts)).not.toContain(EXTERNAL_ID);
  });

  it('replaces an existing profile', async () => {
    // Prepare
    const { deps, store } = setUp([aProfile({ name: 'dev-readonly' })]);

    // Act
    await putProfile(deps, ADMIN, 'dev-readonly', aProfileInput({ maxSessionSeconds: 900 }), META);

    // Assess
    expect(store.profiles).toHaveLength(1);
    expect(store.profiles[0]).toMatchObject({ maxSessionSeconds: 900, updatedBy: 'admin@example.com' });
  });

  it('keeps the creation time, the generation and the hidden ExternalId when a replacement omits it', async () => {
    // Prepare: what an admin does after GET (which never shows the ExternalId)
    const original = aProfile({ name: 'partner', externalId: EXTERNAL_ID, generation: 'gen-original' });
    const { deps, store } = setUp([original]);

    // Act
    await putProfile(deps, ADMIN, 'partner', aProfileInput({ description: 'edited' }), META);

    // Assess
    expect(store.profiles[0]).toMatchObject({
      description: 'edited',
      externalId: EXTERNAL_ID,
      generation: 'gen-original',
      createdAt: original.createdAt,
    });
  });

  it('removes the ExternalId when the replacement sets it to null', async () => {
    // Prepare
    const { deps, store } = setUp([aProfile({ name: 'partner', externalId: EXTERNAL_ID })]);

    // Act
    await putProfile(deps, ADMIN, 'partner', aProfileInput({ externalId: null }), META);

    // Assess
    expect(store.profiles[0]).not.toHaveProperty('externalId');
  });

  it('gives a re-created profile a new generation, so grants of the deleted one do not apply', async () => {
    // Prepare
    const { deps, store } = setUp([aProfile({ name: 'dev-readonly', generation: 'gen-old' })]);
    await deleteProfile(deps, ADMIN, 'dev-readonly', META);

    // Act
    await putProfile(deps, ADMIN, 'dev-readonly', aProfileInput(), META);

    // Assess
    expect(store.profiles[0]?.generation).not.toBe('gen-old');
  });

  it.each([
    ['a role whose name lacks the tvm- prefix', 'arn:aws:iam::123456789012:role/admin'],
    ['a role under a path', 'arn:aws:iam::123456789012:role/ops/tvm-dev'],
    ['a role in another partition', 'arn:aws-cn:iam::123456789012:role/tvm-dev'],
    ['a user, not a role', 'arn:aws:iam::123456789012:user/tvm-dev'],
  ])('refuses %s outside roleArnPattern with a ValidationError naming body.roleArn', async (_label, roleArn) => {
    // Prepare
    const { deps, store, audit } = setUp();

    // Act
    const error = await failureOf(putProfile(deps, ADMIN, 'dev-readonly', aProfileInput({ roleArn }), META));

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/^body\.roleArn: must match arn:aws:iam::\*:role\/tvm-\*/);
    expect(store.profiles).toEqual([]);
    expect(audit.attempts).toEqual([]);
  });

  it("keeps a restricted profile's step-up age, and refuses one on a standard profile, where it would mean nothing", async () => {
    // Prepare
    const { deps, store } = setUp();

    // Act
    const restricted = await putProfile(deps, ADMIN, 'prod-admin', aProfileInput({ sensitivity: 'restricted', stepUp: { maxAuthAgeSeconds: 300 } }), META);
    const error = await failureOf(putProfile(deps, ADMIN, 'dev-readonly', aProfileInput({ stepUp: { maxAuthAgeSeconds: 300 } }), META));

    // Assess
    expect(restricted.stepUp).toEqual({ maxAuthAgeSeconds: 300 });
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/^body\.stepUp: only a restricted profile/);
    expect(store.profiles.map((profile) => profile.name)).toEqual(['prod-admin']);
  });

  it('takes a step-up age of up to a day and refuses a longer one, which would make step-up a formality', () => {
    // Act
    const parse = (maxAuthAgeSeconds: number) => profileInputSchema.safeParse(aProfileInput({ sensitivity: 'restricted', stepUp: { maxAuthAgeSeconds } })).success;

    // Assess
    expect([parse(86_400), parse(86_401)]).toEqual([true, false]);
  });

  it('stores nothing when the audit event cannot be written', async () => {
    // Prepare
    const { deps, store, audit } = setUp();
    audit.failAppends = true;

    // Act
    const error = await failureOf(putProfile(deps, ADMIN, 'dev-readonly', aProfileInput(), META));

    // Assess
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(store.profiles).toEqual([]);
    expect(audit.events).toEqual([]);
  });
});

// tvm writes its Deny statements in its own account's IAM and, through their revoker
// role, in its target accounts'. A profile on a role anywhere else would vend sessions no cut-off
// can reach; refused until the account is configured.
describe('a role in another account', () => {
  it.each(['arn:aws:iam::111111111111:role/tvm-dev-readonly', 'arn:aws:iam::222222222222:role/tvm-deploy'])(
    'is refused with 400 VALIDATION_FAILED naming the account, and nothing is written: %s',
    async (roleArn) => {
      // Prepare
      const { deps, store } = setUp();

      // Act
      const error = await failureOf(putProfile(deps, ADMIN, 'elsewhere', aProfileInput({ roleArn }), META));

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toContain(`body.roleArn: the role is in account ${roleArn.split(':')[4]}`);
      expect((error as Error).message).toContain('123456789012');
      expect((error as Error).message).toContain('targetAccounts');
      expect(await store.getProfile('elsewhere')).toBeUndefined();
    },
  );

  it('is accepted in a target account, and refused in any account not configured', async () => {
    // Prepare
    const { deps, store } = setUp([], ['123456789012', '111111111111']);

    // Act
    const target = await putProfile(deps, ADMIN, 'target', aProfileInput({ roleArn: 'arn:aws:iam::111111111111:role/tvm-dev-readonly' }), META);
    const other = await failureOf(putProfile(deps, ADMIN, 'other', aProfileInput({ roleArn: 'arn:aws:iam::222222222222:role/tvm-dev-readonly' }), META));

    // Assess
    expect(target.roleArn).toBe('arn:aws:iam::111111111111:role/tvm-dev-readonly');
    expect(other).toBeInstanceOf(ValidationError);
    expect((other as Error).message).toContain('only in 123456789012, 111111111111');
    expect(await store.getProfile('other')).toBeUndefined();
  });
});

describe('getProfile and listProfiles', () => {
  const withExternalId = aProfile({ name: 'partner-access', externalId: EXTERNAL_ID });
  const withoutExternalId = aProfile({ name: 'dev-readonly' });

  it('hides the ExternalId and reports whether one is set', async () => {
    // Prepare
    const { deps } = setUp([withExternalId, withoutExternalId]);

    // Act
    const partner = await getProfile(deps, 'partner-access');
    const dev = await getProfile(deps, 'dev-readonly');

    // Assess
    const { externalId: _hidden, generation: _g1, ...publicPart } = withExternalId;
    const { generation: _g2, ...publicDev } = withoutExternalId;
    expect(partner).toEqual({ ...publicPart, externalIdSet: true });
    expect(dev).toEqual({ ...publicDev, externalIdSet: false });
    expect(JSON.stringify([partner, dev])).not.toContain(EXTERNAL_ID);
  });

  it('lists every profile by name, each without its ExternalId', async () => {
    // Prepare
    const { deps } = setUp([withExternalId, withoutExternalId]);

    // Act
    const profiles = await listProfiles(deps);

    // Assess
    expect(profiles.map((profile) => [profile.name, profile.externalIdSet])).toEqual([
      ['dev-readonly', false],
      ['partner-access', true],
    ]);
    expect(JSON.stringify(profiles)).not.toContain(EXTERNAL_ID);
    for (const profile of profiles) expect(profile).not.toHaveProperty('externalId');
  });

  it('refuses an unknown profile with NotFoundError', async () => {
    // Prepare
    const { deps } = setUp();

    // Act
    const error = await failureOf(getProfile(deps, 'no-such-profile'));

    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
  });
});

describe('deleteProfile', () => {
  it('removes the profile and writes one profile.deleted event', async () => {
    // Prepare
    const { deps, store, audit } = setUp([aProfile()]);

    // Act
    await deleteProfile(deps, ADMIN, 'dev-readonly', META);

    // Assess
    expect(store.profiles).toEqual([]);
    expect(audit.events).toEqual([
      {
        id: `${NOW_ISO}#id-00000001`,
        type: 'profile.deleted',
        at: NOW_ISO,
        principal: 'admin@example.com',
        requestId: 'req-admin-1',
        sourceIp: '203.0.113.9',
        userAgent: 'tvm-cli/0.1.0',
        profile: 'dev-readonly',
      },
    ]);
  });

  it('refuses an unknown profile with NotFoundError and records nothing', async () => {
    // Prepare
    const { deps, audit } = setUp();

    // Act
    const error = await failureOf(deleteProfile(deps, ADMIN, 'no-such-profile', META));

    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
    expect(audit.events).toEqual([]);
  });
});

// The attack: a tvm-admin outside a lockdown's allow list working around it through another
// profile on the locked role: creating one, re-pointing one onto it or the locked one away.
describe('during a lockdown', () => {
  const LOCKED_ROLE = 'arn:aws:iam::123456789012:role/tvm-prod-deploy';
  const OTHER_ROLE = 'arn:aws:iam::123456789012:role/tvm-dev-readonly';
  const locked = aProfile({ name: 'prod-deploy', roleArn: LOCKED_ROLE, generation: 'gen-locked' });
  const elsewhere = aProfile({ name: 'dev-readonly', roleArn: OTHER_ROLE, generation: 'gen-elsewhere' });
  const lockdownOf = () => aLockdown({ profiles: ['prod-deploy'], roles: [LOCKED_ROLE], allow: { groups: ['top-brass'], principals: [] } });

  function lockedDown() {
    const setup = setUp([locked, elsewhere]);
    const lockdown = new InMemoryLockdownStore(setup.audit, lockdownOf());
    return { ...setup, deps: { ...setup.deps, lockdown } };
  }

  it.each([
    ['creates an alias on the locked role', 'prod-alias', LOCKED_ROLE],
    ['creates an alias naming the role in another case and with a path', 'prod-alias', 'arn:aws:iam::123456789012:role/ops/TVM-PROD-DEPLOY'],
    ['re-points another profile onto the locked role', 'dev-readonly', LOCKED_ROLE],
    ['re-points the locked profile away from its role', 'prod-deploy', OTHER_ROLE],
    ['changes the locked profile in place', 'prod-deploy', LOCKED_ROLE],
  ])('refuses an outsider who %s (LOCKDOWN_ACTIVE), changing nothing but recording it', async (_label, name, roleArn) => {
    // Prepare
    const { deps, store, audit } = lockedDown();
    const before = structuredClone(store.profiles);

    // Act
    const error = await failureOf(putProfile({ ...deps, roleArnPattern: 'arn:aws:iam::*:role/*' }, ADMIN, name, aProfileInput({ roleArn }), META));

    // Assess
    expect(error).toBeInstanceOf(LockdownActiveError);
    expect(store.profiles).toEqual(before);
    expect(audit.events).toEqual([
      expect.objectContaining({
        type: 'change.denied',
        principal: ADMIN.id,
        detail: expect.objectContaining({ action: 'profile.put', code: 'LOCKDOWN_ACTIVE' }),
      }),
    ]);
  });

  it('records an outsider\'s change to the locked profile even when it names a stale version (If-Match)', async () => {
    // Prepare
    const { deps, audit } = lockedDown();

    // Act
    const error = await failureOf(putProfile(deps, ADMIN, 'prod-deploy', aProfileInput({ roleArn: LOCKED_ROLE }), META, { ifMatch: '"2000-01-01T00:00:00.000Z"' }));

    // Assess
    expect(error).toBeInstanceOf(LockdownActiveError);
    expect(audit.events).toEqual([expect.objectContaining({ type: 'change.denied', detail: expect.objectContaining({ code: 'LOCKDOWN_ACTIVE' }) })]);
  });

  it('refuses an outsider deleting a locked profile, and lets them change one elsewhere', async () => {
    // Prepare
    const { deps, store, audit } = lockedDown();

    // Act
    const deleting = await failureOf(deleteProfile(deps, ADMIN, 'prod-deploy', META));
    await putProfile(deps, ADMIN, 'dev-readonly', aProfileInput({ roleArn: OTHER_ROLE, description: 'still fine' }), META);

    // Assess
    expect(deleting).toBeInstanceOf(LockdownActiveError);
    expect(store.profiles.map((p) => p.name).sort()).toEqual(['dev-readonly', 'prod-deploy']);
    expect(audit.events.map((event) => event.type)).toEqual(['change.denied', 'profile.put']);
  });

  it('lets a member of the allow list create a profile on the locked role (locked with it)', async () => {
    // Prepare
    const { deps } = lockedDown();
    const general = aPrincipal({ id: 'general@example.com', groups: ['tvm-admin', 'top-brass'] });

    // Act
    const view = await putProfile(deps, general, 'prod-deploy-2', aProfileInput({ roleArn: LOCKED_ROLE }), META);

    // Assess
    expect(view.roleArn).toBe(LOCKED_ROLE);
  });
});

describe('re-pointing a profile', () => {
  it('remembers the role it left for as long as a session vended then can live, so cut-offs of its grants reach it', async () => {
    // Prepare
    const old = 'arn:aws:iam::123456789012:role/tvm-dev-old';
    const { deps, store } = setUp([aProfile({ name: 'dev-readonly', roleArn: old, formerRoles: [{ roleArn: 'arn:aws:iam::123456789012:role/tvm-gone', until: '2026-06-01T11:00:00.000Z' }] })]);

    // Act
    await putProfile(deps, ADMIN, 'dev-readonly', aProfileInput(), META);
    await putProfile(deps, ADMIN, 'dev-readonly', aProfileInput({ description: 'same role' }), META);

    // Assess: the expired one is gone; re-putting the same role adds nothing
    expect(store.profiles[0]?.formerRoles).toEqual([{ roleArn: old, until: '2026-06-02T00:00:00.000Z' }]);
  });
});

describe('concurrent changes', () => {
  const R1 = 'arn:aws:iam::123456789012:role/tvm-one';
  const R2 = 'arn:aws:iam::123456789012:role/tvm-two';
  const R3 = 'arn:aws:iam::123456789012:role/tvm-three';

  it('lets one of two concurrent re-pointings win, so no role sessions were vended on is forgotten', async () => {
    // Prepare
    const { deps, store } = setUp([aProfile({ name: 'dev-readonly', roleArn: R1 })]);

    // Act: both read R1; each would remember only R1 as a former role
    const outcomes = await Promise.allSettled([
      putProfile(deps, ADMIN, 'dev-readonly', aProfileInput({ roleArn: R2 }), META),
      putProfile(deps, ADMIN, 'dev-readonly', aProfileInput({ roleArn: R3 }), META),
    ]);

    // Assess
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refusal = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(refusal?.reason).toBeInstanceOf(ConflictError);
    expect(store.profiles[0]?.formerRoles?.map((former) => former.roleArn)).toEqual([R1]);
  });

  it('tells every change apart, even two in the same millisecond', async () => {
    // Prepare
    const { deps } = setUp([aProfile({ name: 'dev-readonly', roleArn: R1 })]);

    // Act
    const first = await putProfile(deps, ADMIN, 'dev-readonly', aProfileInput({ roleArn: R2 }), META);
    const second = await putProfile(deps, ADMIN, 'dev-readonly', aProfileInput({ roleArn: R3 }), META);

    // Assess
    expect(second.updatedAt > first.updatedAt).toBe(true);
  });

  it('applies a change only to the version read (If-Match), and creates only what does not exist (If-None-Match: *)', async () => {
    // Prepare
    const { deps, store } = setUp([aProfile({ name: 'dev-readonly', roleArn: R1 })]);
    const read = await getProfile(deps, 'dev-readonly');
    await putProfile(deps, ADMIN, 'dev-readonly', aProfileInput({ roleArn: R2 }), META);

    // Act
    const stale = await failureOf(putProfile(deps, ADMIN, 'dev-readonly', aProfileInput({ roleArn: R3 }), META, { ifMatch: `"${read.updatedAt}"` }));
    const current = await getProfile(deps, 'dev-readonly');
    const fresh = await putProfile(deps, ADMIN, 'dev-readonly', aProfileInput({ roleArn: R3 }), META, { ifMatch: `"${current.updatedAt}"` });
    const exists = await failureOf(putProfile(deps, ADMIN, 'dev-readonly', aProfileInput(), META, { ifNoneMatch: '*' }));
    const missing = await failureOf(putProfile(deps, ADMIN, 'new-one', aProfileInput(), META, { ifMatch: `"${current.updatedAt}"` }));
    const created = await putProfile(deps, ADMIN, 'new-one', aProfileInput(), META, { ifNoneMatch: '*' });

    // Assess
    expect(stale).toBeInstanceOf(PreconditionFailedError);
    expect(fresh.roleArn).toBe(R3);
    expect(exists).toBeInstanceOf(PreconditionFailedError);
    expect(missing).toBeInstanceOf(PreconditionFailedError);
    expect(created.name).toBe('new-one');
    expect(store.profiles.map((profile) => [profile.name, profile.roleArn])).toEqual([
      ['dev-readonly', R3],
      ['new-one', aProfileInput().roleArn],
    ]);
  });
});
