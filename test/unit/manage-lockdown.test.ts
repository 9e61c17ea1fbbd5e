// The lockdown workflow: activation, the two-person lift, and cutting off outsiders' live sessions.
import { adminEvent, type CredentialIssuedEvent } from '../../shared/domain/audit.js';
import {
  ConflictError,
  LockdownActiveError,
  NotFoundError,
  SecondApproverRequiredError,
} from '../../shared/domain/errors.js';
import {
  activateLockdown,
  assertNotLockedOut,
  getLockdownStatus,
  liftLockdown,
  type ActivateLockdownDeps,
} from '../../shared/domain/manage-lockdown.js';
import type { SessionRevoker } from '../../shared/domain/ports.js';
import type { Revocation } from '../../shared/domain/revocation-policy.js';
import type { LockdownInput } from '../../shared/domain/schemas.js';
import { aPrincipal, aProfile, FIXED_NOW } from '../fixtures/builders.js';
import { failureOf } from '../fixtures/failure.js';
import { InMemoryAuditLog, InMemoryDelegationStore, fixedClock, sequentialIds } from '../fixtures/in-memory.js';
import { aLockdown, InMemoryLockdownStore } from '../fixtures/in-memory-lockdown.js';

const SEC_1 = aPrincipal({ id: 'sec-1@example.com', groups: ['tvm-security'] });
const SEC_2 = aPrincipal({ id: 'sec-2@example.com', groups: ['tvm-security'] });
const META = { requestId: 'req-lock' };
const ROLE = 'arn:aws:iam::123456789012:role/tvm-dev-readonly';

class RecordingRevoker implements SessionRevoker {
  readonly calls: { roleArn: string; revocations: readonly Revocation[] }[] = [];
  async revoke(roleArn: string, revocations: readonly Revocation[]) {
    this.calls.push({ roleArn, revocations });
    return { fallback: false };
  }
}

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

function setUp(initial?: ReturnType<typeof aLockdown>) {
  const audit = new InMemoryAuditLog();
  const store = new InMemoryDelegationStore({ audit, profiles: [aProfile({ roleArn: ROLE })], grants: [] });
  const lockdown = new InMemoryLockdownStore(audit, initial);
  const revoker = new RecordingRevoker();
  const deps: ActivateLockdownDeps = { lockdown, store, audit, revoker, clock: fixedClock(FIXED_NOW), ids: sequentialIds('id') };
  return { deps, audit, lockdown, revoker };
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
    expect(() => assertNotLockedOut(state, aPrincipal({ groups: ['engineering'] }), 'dev-readonly')).toThrow(LockdownActiveError);
    expect(() => assertNotLockedOut(state, aPrincipal({ groups: ['top-brass'] }), 'dev-readonly')).not.toThrow();
    expect(() => assertNotLockedOut(state, aPrincipal({ id: 'ceo@example.com', groups: [] }), 'dev-readonly')).not.toThrow();
  });

  it('cuts off live sessions of everyone outside the allow list, and records each', async () => {
    // Prepare: three live sessions, one expired
    const { deps, audit, revoker } = setUp();
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

    // Assess
    expect(status.revokedSessions.map((s) => s.sourceIdentity)).toEqual(['spy@example.com']);
    expect(revoker.calls).toEqual([
      {
        roleArn: ROLE,
        revocations: [
          {
            kind: 'lockdown',
            allowedSourceIdentities: ['ceo@example.com', 'boss@example.com'],
            before: FIXED_NOW.toISOString(),
          },
        ],
      },
    ]);
    expect(audit.eventsOfType('session.revoked')).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ sourceIdentity: 'spy@example.com', cause: 'lockdown' }) }),
    ]);
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
    expect(await getLockdownStatus(deps)).toEqual({ active: false });
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
