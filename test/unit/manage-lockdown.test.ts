// The lockdown workflow: activation, the two-person lift, and cutting off outsiders' live sessions.
import { adminEvent, type CredentialIssuedEvent } from '../../shared/domain/audit.js';
import {
  ConflictError,
  LockdownActiveError,
  NotFoundError,
  SecondApproverRequiredError,
} from '../../shared/domain/errors.js';
import { assertNotLockedOut } from '../../shared/domain/lockdown-rules.js';
import {
  activateLockdown,
  getLockdownStatus,
  liftLockdown,
  type ActivateLockdownDeps,
} from '../../shared/domain/manage-lockdown.js';
import type { Profile } from '../../shared/domain/model.js';
import { denies } from '../../shared/domain/revocation-policy.js';
import type { LockdownInput } from '../../shared/domain/schemas.js';
import { aPrincipal, aProfile, FIXED_NOW } from '../fixtures/builders.js';
import { failureOf } from '../fixtures/failure.js';
import { InMemoryAuditLog, InMemoryDelegationStore, fixedClock, inMemoryCutOff, sequentialIds } from '../fixtures/in-memory.js';
import { aLockdown, InMemoryLockdownStore } from '../fixtures/in-memory-lockdown.js';

const SEC_1 = aPrincipal({ id: 'sec-1@example.com', groups: ['tvm-security'] });
const SEC_2 = aPrincipal({ id: 'sec-2@example.com', groups: ['tvm-security'] });
const META = { requestId: 'req-lock' };
const ROLE = 'arn:aws:iam::123456789012:role/tvm-dev-readonly';
const OTHER_ROLE = 'arn:aws:iam::123456789012:role/tvm-dev-deploy';
const READONLY = aProfile({ name: 'dev-readonly', roleArn: ROLE });
const ALIAS = aProfile({ name: 'readonly-alias', roleArn: 'arn:aws:iam::123456789012:role/team/TVM-DEV-READONLY', generation: 'alias-gen' });
const DEPLOY = aProfile({ name: 'dev-deploy', roleArn: OTHER_ROLE, generation: 'deploy-gen' });

/** The lockdown's cut-off time: its activation, plus the grace a vend in flight needs (in IAM's form). */
const CUT_OFF = '2026-06-01T12:01:00Z';

function issued(principal: string, groups: string[], overrides: Partial<CredentialIssuedEvent> = {}): CredentialIssuedEvent {
  return {
    id: `2026-06-01T11:30:00.000Z#${principal}`,
    type: 'credential.issued',
    at: '2026-06-01T11:30:00.000Z',
    principal,
    requestId: `req-${principal}`,
    profile: 'dev-readonly',
    roleArn: ROLE,
    grantId: 'grant-0001',
    accessKeyId: `ASIA${principal.slice(0, 4).toUpperCase()}000000000000`.slice(0, 20),
    expiration: '2026-06-01T12:30:00Z',
    sessionName: principal,
    sourceIdentity: principal,
    assumedRoleArn: `arn:aws:sts::123456789012:assumed-role/tvm-dev-readonly/${principal}`,
    durationSeconds: 3600,
    groups,
    ...overrides,
  };
}

function setUp(initial?: ReturnType<typeof aLockdown>, profiles: Profile[] = [READONLY]) {
  const audit = new InMemoryAuditLog();
  const store = new InMemoryDelegationStore({ audit, profiles, grants: [] });
  const lockdown = new InMemoryLockdownStore(audit, initial);
  const clock = fixedClock(FIXED_NOW);
  const ids = sequentialIds('id');
  const cutOff = inMemoryCutOff(audit, clock, ids);
  const deps: ActivateLockdownDeps = { ...cutOff, lockdown, store, clock, ids };
  return { deps, audit, lockdown, policies: cutOff.policies, orders: cutOff.orders };
}

const input = (overrides: Partial<LockdownInput> = {}): LockdownInput => ({
  profiles: ['*'],
  allow: { groups: ['top-brass'], principals: ['ceo@example.com'] },
  reason: 'suspected espionage',
  revokeActiveSessions: false,
  ...overrides,
});

describe('activateLockdown', () => {
  it('records who activated it, when, for what, and refuses outsiders from then on', async () => {
    // Prepare
    const { deps, audit, lockdown } = setUp();

    // Act
    const status = await activateLockdown(deps, SEC_1, input(), META);

    // Assess
    expect(status).toMatchObject({ active: true, activatedBy: SEC_1.id, activatedAt: FIXED_NOW.toISOString(), revokedSessions: [] });
    expect(audit.eventsOfType('lockdown.activated')).toHaveLength(1);
    const state = await lockdown.getLockdown();
    expect(() => assertNotLockedOut(state, aPrincipal({ groups: ['engineering'] }), READONLY)).toThrow(LockdownActiveError);
    expect(() => assertNotLockedOut(state, aPrincipal({ groups: ['top-brass'] }), READONLY)).not.toThrow();
    expect(() => assertNotLockedOut(state, aPrincipal({ id: 'ceo@example.com', groups: [] }), READONLY)).not.toThrow();
  });

  it('locks the roles its profiles name at activation, so any other profile on them is locked too', async () => {
    // Prepare
    const { deps, lockdown, audit } = setUp(undefined, [READONLY, ALIAS, DEPLOY]);

    // Act
    const status = await activateLockdown(deps, SEC_1, input({ profiles: ['dev-readonly'] }), META);

    // Assess
    expect(status.roles).toEqual([ROLE]);
    const state = await lockdown.getLockdown();
    expect(state?.roles).toEqual([ROLE]);
    expect(() => assertNotLockedOut(state, aPrincipal({ groups: ['engineering'] }), ALIAS)).toThrow(LockdownActiveError);
    expect(() => assertNotLockedOut(state, aPrincipal({ groups: ['engineering'] }), DEPLOY)).not.toThrow();
    expect(audit.eventsOfType('lockdown.activated')[0]).toMatchObject({ detail: expect.objectContaining({ roles: [ROLE] }) });
  });

  it('keeps every role it locked when its activator tightens it', async () => {
    // Prepare: locked on the read-only role, whose profile has since been pointed elsewhere
    const { deps, lockdown } = setUp(
      aLockdown({ activatedBy: SEC_1.id, profiles: ['dev-readonly'], roles: [ROLE], allow: { groups: ['top-brass'], principals: [] } }),
      [{ ...READONLY, roleArn: OTHER_ROLE }],
    );

    // Act
    await activateLockdown(deps, SEC_1, input({ profiles: ['dev-readonly'], allow: { groups: [] } }), META);

    // Assess
    expect((await lockdown.getLockdown())?.roles).toEqual([ROLE, OTHER_ROLE]);
  });

  it('cuts off live sessions of everyone outside the allow list, and records each', async () => {
    // Prepare: three live sessions, one expired
    const { deps, audit, policies, orders } = setUp();
    for (const event of [
      issued('ceo@example.com', []),
      issued('boss@example.com', ['top-brass']),
      issued('spy@example.com', ['engineering']),
      issued('old@example.com', ['engineering'], { expiration: '2026-06-01T11:59:00Z' }),
    ]) {
      await audit.append(event);
    }

    // Act
    const status = await activateLockdown(deps, SEC_1, input({ revokeActiveSessions: true }), META);

    // Assess: one statement sparing the named and the sessions tagged as vended by an allowed
    // caller during this lockdown (version 1), up to the cut-off. A session of an allowed group's
    // member vended before is cut too: its record shows the groups of then, not of now.
    expect(status.revokedSessions.map((s) => s.sourceIdentity).sort()).toEqual(['boss@example.com', 'spy@example.com']);
    expect(status.sessionsNotCut).toEqual([]);
    expect(policies.revocations(ROLE)).toEqual([
      { kind: 'lockdown', allowedSourceIdentities: ['ceo@example.com'], exemptTag: '1', before: CUT_OFF },
    ]);
    expect(audit.eventsOfType('session.revoked')).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ sourceIdentity: 'boss@example.com', cause: 'lockdown' }) }),
      expect.objectContaining({ detail: expect.objectContaining({ sourceIdentity: 'spy@example.com', cause: 'lockdown' }) }),
    ]);
    expect(orders.pending).toEqual([]);
  });

  // Two locked profiles on one role: one statement whose allow list is everyone allowed on either
  // (one statement per profile would deny each one's allowed people through the other's).
  it('cuts a role once, sparing the allowed on any of its profiles', async () => {
    // Prepare: an allowed principal vended through the alias, an outsider through each
    const { deps, audit, policies } = setUp(undefined, [READONLY, ALIAS, DEPLOY]);
    for (const event of [
      issued('ceo@example.com', [], { profile: ALIAS.name, roleArn: ALIAS.roleArn }),
      issued('spy@example.com', ['engineering']),
      issued('mole@example.com', ['engineering'], { profile: ALIAS.name, roleArn: ALIAS.roleArn }),
    ]) {
      await audit.append(event);
    }

    // Act
    const status = await activateLockdown(deps, SEC_1, input({ profiles: ['dev-readonly', 'readonly-alias'], revokeActiveSessions: true }), META);

    // Assess
    expect(policies.writes.map((write) => write.roleArn)).toEqual([ROLE]);
    expect(policies.revocations(ROLE)).toEqual([
      { kind: 'lockdown', allowedSourceIdentities: ['ceo@example.com'], exemptTag: '1', before: CUT_OFF },
    ]);
    expect(policies.document(OTHER_ROLE)).toBeUndefined();
    expect(status.revokedSessions.map((s) => s.sourceIdentity).sort()).toEqual(['mole@example.com', 'spy@example.com']);
  });

  // The attack: mallory vended while in top-brass, then was removed from it at the identity
  // provider. Sparing sessions by the groups their issuance recorded would spare hers.
  it('spares no session for the groups recorded when it was vended: only named principals and tagged sessions', async () => {
    // Prepare
    const { deps, audit, policies } = setUp();
    await audit.append(issued('mallory@example.com', ['top-brass']));

    // Act
    const status = await activateLockdown(deps, SEC_1, input({ allow: { groups: ['top-brass'] }, revokeActiveSessions: true }), META);

    // Assess
    expect(status.revokedSessions.map((s) => s.sourceIdentity)).toEqual(['mallory@example.com']);
    const [statement] = policies.revocations(ROLE);
    expect(statement && denies(statement, { sourceIdentity: 'mallory@example.com', issuedAt: '2026-06-01T11:30:00.000Z' })).toBe(true);
  });

  // The alias in time: a profile re-pointed to another role keeps its sessions on the role it named
  // before (they live up to 12 h); locking the profile must lock and cut that role too.
  it('locks and cuts the roles its profiles named before being re-pointed, while their sessions can live', async () => {
    // Prepare: dev-readonly pointed at OTHER_ROLE until a moment ago, an outsider's session there
    const repointed = aProfile({ ...READONLY, formerRoles: [{ roleArn: OTHER_ROLE, until: '2026-06-01T23:00:00.000Z' }] });
    const { deps, audit, policies } = setUp(undefined, [repointed]);
    await audit.append(issued('spy@example.com', ['engineering'], { roleArn: OTHER_ROLE }));

    // Act
    const status = await activateLockdown(deps, SEC_1, input({ profiles: ['dev-readonly'], revokeActiveSessions: true }), META);

    // Assess
    expect(status.roles).toEqual([ROLE, OTHER_ROLE]);
    expect(status.revokedSessions.map((s) => s.sourceIdentity)).toEqual(['spy@example.com']);
    expect(policies.revocations(OTHER_ROLE)).toEqual([
      { kind: 'lockdown', allowedSourceIdentities: ['ceo@example.com'], exemptTag: '1', before: CUT_OFF },
    ]);
  });

  // The race: a vend that read the rules before the lockdown was written can still mint a session
  // after it. The cut-off reaches past the activation by the grace such a vend needs.
  it('denies an outsider session issued after activation by a vend that was already in flight', async () => {
    // Prepare
    const { deps, audit, policies } = setUp();

    // Act: the lockdown is written; a second later the in-flight vend's session is issued
    await activateLockdown(deps, SEC_1, input({ revokeActiveSessions: true }), META);
    const inFlight = issued('spy@example.com', ['engineering'], { at: '2026-06-01T12:00:01.000Z', expiration: '2026-06-01T13:00:01.000Z' });
    await audit.append(inFlight);

    // Assess: the role's statement denies it (and spares an allowed caller's tagged session)
    const [statement] = policies.revocations(ROLE);
    expect(statement && denies(statement, { sourceIdentity: 'spy@example.com', issuedAt: inFlight.at })).toBe(true);
    expect(statement && denies(statement, { sourceIdentity: 'general@example.com', lockdownExemption: '1', issuedAt: inFlight.at })).toBe(false);
    expect(statement && denies(statement, { sourceIdentity: 'spy@example.com', issuedAt: '2026-06-01T12:01:00.000Z' })).toBe(false);
  });

  it('refuses a write against a version that changed meanwhile with CONFLICT', async () => {
    // Prepare: someone else's activation lands between our read and write
    const { deps, lockdown } = setUp();
    const racing = Object.assign(Object.create(lockdown) as InMemoryLockdownStore, {
      getLockdown: async () => undefined,
    });
    await lockdown.putLockdown(aLockdown(), 0, adminEvent(FIXED_NOW, 'x', 'lockdown.activated', SEC_2, META, { profiles: ['*'] }));

    // Act
    const error = await failureOf(activateLockdown({ ...deps, lockdown: racing }, SEC_1, input(), META));

    // Assess
    expect(error).toBeInstanceOf(ConflictError);
  });
});

describe('changing an active lockdown', () => {
  it('lets the activator tighten it, but loosening it needs a second member of security', async () => {
    // Prepare
    const { deps } = setUp(aLockdown({ activatedBy: SEC_1.id, profiles: ['*'], allow: { groups: ['top-brass'], principals: [] } }));

    // Act
    const loosenByActivator = await failureOf(
      activateLockdown(deps, SEC_1, input({ profiles: ['dev-readonly'], allow: { groups: ['top-brass'] } }), META),
    );
    const widenByActivator = await failureOf(
      activateLockdown(deps, SEC_1, input({ allow: { groups: ['top-brass', 'engineering'] } }), META),
    );
    const tightenByActivator = await activateLockdown(deps, SEC_1, input({ allow: { groups: [] } }), META);
    const loosenBySecond = await activateLockdown(deps, SEC_2, input({ profiles: ['dev-readonly'], allow: { groups: ['top-brass'] } }), META);

    // Assess
    expect(loosenByActivator).toBeInstanceOf(SecondApproverRequiredError);
    expect(widenByActivator).toBeInstanceOf(SecondApproverRequiredError);
    expect(tightenByActivator.allow).toEqual({ groups: [], principals: [] });
    expect(loosenBySecond.profiles).toEqual(['dev-readonly']);
  });
});

describe('liftLockdown', () => {
  it('refuses the activator (two-person rule) and lets a second security member lift it', async () => {
    // Prepare
    const { deps, audit } = setUp(aLockdown({ activatedBy: SEC_1.id }));

    // Act
    const byActivator = await failureOf(liftLockdown(deps, SEC_1, { reason: 'all clear' }, META));
    const bySecond = await liftLockdown(deps, SEC_2, { reason: 'all clear' }, META);

    // Assess
    expect(byActivator).toBeInstanceOf(SecondApproverRequiredError);
    expect(bySecond).toEqual({ active: false });
    expect(await getLockdownStatus({ ...deps, privilegedGroups: ['tvm-security'] }, SEC_2)).toEqual({ active: false });
    expect(audit.eventsOfType('lockdown.lifted')).toEqual([
      expect.objectContaining({ principal: SEC_2.id, detail: expect.objectContaining({ reason: 'all clear', activatedBy: SEC_1.id }) }),
    ]);
  });

  it('records activation and lift with every profile they concern, so a query for any one of them finds both', async () => {
    // Prepare
    const { deps, audit } = setUp();
    await activateLockdown(deps, SEC_1, input({ profiles: ['dev-readonly', 'prod-admin'] }), META);

    // Act
    await liftLockdown(deps, SEC_2, { reason: 'all clear' }, META);

    // Assess
    const [activated, lifted] = [audit.eventsOfType('lockdown.activated')[0], audit.eventsOfType('lockdown.lifted')[0]];
    expect(activated).toMatchObject({ profiles: ['dev-readonly', 'prod-admin'] });
    expect(lifted).toMatchObject({ profiles: ['dev-readonly', 'prod-admin'] });
    expect(activated).not.toHaveProperty('profile');
    const second = await audit.query({ profile: 'prod-admin', limit: 10 });
    expect(second.events.map((event) => event.type).sort()).toEqual(['lockdown.activated', 'lockdown.lifted']);
  });

  it('answers NOT_FOUND when no lockdown is active', async () => {
    // Prepare
    const { deps } = setUp(aLockdown({ active: false }));

    // Act
    const error = await failureOf(liftLockdown(deps, SEC_2, { reason: 'nothing to lift' }, META));

    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
  });
});

describe('getLockdownStatus', () => {
  it('tells anyone that profiles are locked, and only security and admins why, by whom and who is let through', async () => {
    // Prepare
    const { deps } = setUp(aLockdown({ profiles: ['dev-readonly'], roles: [ROLE], reason: 'we suspect engineering' }));
    const privileged = { ...deps, privilegedGroups: ['tvm-security', 'tvm-admin'] };

    // Act
    const plain = await getLockdownStatus(privileged, aPrincipal({ groups: ['engineering'] }));
    const security = await getLockdownStatus(privileged, SEC_2);
    const admin = await getLockdownStatus(privileged, aPrincipal({ id: 'admin@example.com', groups: ['tvm-admin'] }));

    // Assess
    expect(plain).toEqual({ active: true, profiles: ['dev-readonly'] });
    for (const full of [security, admin]) {
      expect(full).toEqual({
        active: true,
        profiles: ['dev-readonly'],
        roles: [ROLE],
        allow: { groups: ['top-brass'], principals: [] },
        reason: 'we suspect engineering',
        activatedBy: 'sec-1@example.com',
        activatedAt: '2026-06-01T11:00:00.000Z',
      });
    }
  });
});
