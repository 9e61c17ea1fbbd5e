// The cut-off module with in-memory fakes: the ledger's version-conditioned writes under a
// concurrent writer, the policy budget and its role-wide fallback, the failure policy (every role
// tried, only what was cut reported, the rest kept for the schedule), and drift repair.
import type { CredentialIssuedEvent } from '../../shared/domain/audit.js';
import { carryOutCutOff, CUT_OFF_GRACE_SECONDS, cutOffTime, documentDigest } from '../../shared/domain/cut-off-sessions.js';
import { UpstreamIamError } from '../../shared/domain/errors.js';
import type { CutOffOrder } from '../../shared/domain/model.js';
import { repairRevocations } from '../../shared/domain/repair-revocations.js';
import { renderRevocationPolicy, type Revocation } from '../../shared/domain/revocation-policy.js';
import { FIXED_NOW } from '../fixtures/builders.js';
import { fixedClock, InMemoryAuditLog, inMemoryCutOff, sequentialIds } from '../fixtures/in-memory.js';

const ROLE = 'arn:aws:iam::123456789012:role/tvm-dev-deploy';
const OTHER_ROLE = 'arn:aws:iam::123456789012:role/tvm-dev-readonly';
const META = { requestId: 'req-cut' };
const BEFORE = '2026-06-01T12:01:00Z';

function setUp() {
  const audit = new InMemoryAuditLog();
  const clock = fixedClock(FIXED_NOW);
  const deps = inMemoryCutOff(audit, clock, sequentialIds('id'));
  return { deps, audit, clock };
}

function anOrder(overrides: Partial<CutOffOrder> = {}): CutOffOrder {
  return {
    id: 'order-1',
    cause: 'engagement-handed-over',
    decidedAt: FIXED_NOW.toISOString(),
    decidedBy: 'owner@example.com',
    requestId: 'req-handover',
    revocations: [{ kind: 'person', sourceIdentity: 'carla', before: BEFORE }],
    roles: [ROLE],
    attempts: 0,
    context: { engagementId: 'eng-1' },
    ...overrides,
  };
}

function issued(sourceIdentity: string, overrides: Partial<CredentialIssuedEvent> = {}): CredentialIssuedEvent {
  const accessKeyId = overrides.accessKeyId ?? `ASIA${sourceIdentity.toUpperCase().padEnd(16, '0')}`;
  return {
    id: `2026-06-01T11:30:00.000Z#${accessKeyId}`,
    type: 'credential.issued',
    at: '2026-06-01T11:30:00.000Z',
    principal: `${sourceIdentity}@example.com`,
    requestId: `req-${accessKeyId}`,
    profile: 'dev-deploy',
    roleArn: ROLE,
    grantId: 'grant-0001',
    accessKeyId,
    expiration: '2026-06-01T12:30:00.000Z',
    sessionName: sourceIdentity,
    sourceIdentity,
    assumedRoleArn: `arn:aws:sts::123456789012:assumed-role/tvm-dev-deploy/${sourceIdentity}`,
    durationSeconds: 3600,
    ...overrides,
  };
}

/** An order written, as a decision writes it with itself. */
function written(deps: ReturnType<typeof setUp>['deps'], order: CutOffOrder): CutOffOrder {
  deps.orders.add(order);
  return order;
}

describe('carryOutCutOff', () => {
  it('reaches past the decision by the grace a vend in flight needs', () => {
    expect(CUT_OFF_GRACE_SECONDS).toBe(60);
    expect(cutOffTime(new Date('2026-06-01T12:00:00.400Z'))).toBe('2026-06-01T12:01:00.400Z');
  });

  // The race: another cut-off writes the role's ledger between this one's read and its write.
  it('keeps a concurrent cut-off on the same role: the policy holds both', async () => {
    // Prepare
    const { deps } = setUp();
    const theirs = anOrder({ id: 'theirs', revocations: [{ kind: 'person', sourceIdentity: 'carl', before: BEFORE }] });
    let raced = false;
    deps.ledger.beforePut = async () => {
      if (raced) return;
      raced = true;
      await carryOutCutOff(deps, written(deps, theirs), META);
    };

    // Act
    const report = await carryOutCutOff(deps, written(deps, anOrder()), META);

    // Assess
    expect(report.complete).toBe(true);
    expect(deps.policies.revocations(ROLE)).toEqual([
      { kind: 'person', sourceIdentity: 'carl', before: BEFORE },
      { kind: 'person', sourceIdentity: 'carla', before: BEFORE },
    ]);
    expect(deps.ledger.entry(ROLE)?.version).toBe(2);
    expect(deps.orders.pending).toEqual([]);
  });

  it("counts the role's other inline policies: what does not fit beside them becomes one role-wide cutoff, and says so", async () => {
    // Prepare: another policy leaves too little for two people's statements
    const { deps, audit } = setUp();
    await audit.append(issued('carla'));
    await audit.append(issued('bob'));
    const order = anOrder({
      revocations: [
        { kind: 'person', sourceIdentity: 'carla', before: BEFORE },
        { kind: 'person', sourceIdentity: 'carl', before: '2026-06-01T12:01:01Z' },
      ],
    });
    const precise = renderRevocationPolicy(order.revocations) ?? '';
    deps.policies.otherPolicies(ROLE, 10_240 - precise.length + 1);

    // Act
    const report = await carryOutCutOff(deps, written(deps, order), META);

    // Assess: the role-wide cutoff denies the targets (and, as said, everyone's earlier sessions)
    expect(deps.policies.revocations(ROLE)).toEqual([{ kind: 'role-wide', before: '2026-06-01T12:01:01Z' }]);
    expect(report.roleWideFallback).toBe(true);
    expect(report.revokedSessions.map((session) => session.sourceIdentity)).toEqual(['carla']);
    expect(audit.eventsOfType('session.revoked')).toEqual([expect.objectContaining({ detail: expect.objectContaining({ roleWideFallback: true }) })]);
    // The ledger keeps both people: once there is room again, the policy is precise again.
    expect(deps.ledger.entry(ROLE)?.revocations).toHaveLength(2);
    // It cuts sessions the order did not name: recorded for vends (and the cut-off epoch), once.
    expect(deps.ledger.fallbacks).toEqual([{ roleArn: ROLE, before: '2026-06-01T12:01:01Z' }]);
  });

  it('records no fallback while the revocations fit', async () => {
    // Prepare
    const { deps, audit } = setUp();
    await audit.append(issued('carla'));

    // Act
    await carryOutCutOff(deps, written(deps, anOrder({ revocations: [{ kind: 'person', sourceIdentity: 'carla', before: BEFORE }] })), META);

    // Assess
    expect(deps.policies.revocations(ROLE)).toEqual([{ kind: 'person', sourceIdentity: 'carla', before: BEFORE }]);
    expect(deps.ledger.fallbacks).toEqual([]);
  });

  it('tries every role; reports as revoked only sessions on roles it cut, records the rest, and keeps them for the schedule', async () => {
    // Prepare: carla has a session on each role; IAM fails on one
    const { deps, audit } = setUp();
    await audit.append(issued('carla'));
    await audit.append(issued('carla', { accessKeyId: 'ASIACARLAOTHER000001', roleArn: OTHER_ROLE, profile: 'dev-readonly' }));
    deps.policies.failFor(OTHER_ROLE, new UpstreamIamError('could not write (Throttling)'));

    // Act
    const report = await carryOutCutOff(deps, written(deps, anOrder({ roles: [ROLE, OTHER_ROLE] })), META);

    // Assess
    expect(report.revokedSessions.map((session) => session.accessKeyId)).toEqual(['ASIACARLA00000000000']);
    expect(report.sessionsNotCut).toEqual([
      expect.objectContaining({ accessKeyId: 'ASIACARLAOTHER000001', roleArn: OTHER_ROLE, code: 'UPSTREAM_IAM_ERROR' }),
    ]);
    expect(report.complete).toBe(false);
    expect(audit.events.filter((event) => event.type === 'session.revoked').map((event) => event.accessKeyId)).toEqual(['ASIACARLA00000000000']);
    expect(audit.eventsOfType('cutoff.failed')).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ roleArn: OTHER_ROLE, orderId: 'order-1', attempt: 1 }) }),
    ]);
    expect(deps.orders.pending).toEqual([expect.objectContaining({ id: 'order-1', roles: [OTHER_ROLE], attempts: 1 })]);

    // The schedule, once IAM answers: cut, recorded once, done
    deps.policies.heal();
    const repaired = await repairRevocations(deps, META);
    expect(repaired.orders).toEqual({ pending: 1, completed: 1 });
    expect(audit.events.filter((event) => event.type === 'session.revoked').map((event) => event.accessKeyId)).toEqual(['ASIACARLA00000000000', 'ASIACARLAOTHER000001']);
    expect(deps.orders.pending).toEqual([]);
  });

  it('reports and records the sessions on a role in another account as not cut, and does not keep retrying what cannot work', async () => {
    // Prepare: carla has a session on a namesake of ROLE in another account, and one on ROLE
    const { deps, audit } = setUp();
    const elsewhere = ROLE.replace('123456789012', '111111111111');
    await audit.append(issued('carla'));
    await audit.append(issued('carla', { accessKeyId: 'ASIACARLAELSEWHERE01', roleArn: elsewhere }));

    // Act
    const report = await carryOutCutOff(deps, written(deps, anOrder({ roles: [ROLE, elsewhere] })), META);

    // Assess
    expect(report.revokedSessions.map((session) => session.accessKeyId)).toEqual(['ASIACARLA00000000000']);
    expect(report.sessionsNotCut).toEqual([expect.objectContaining({ accessKeyId: 'ASIACARLAELSEWHERE01', roleArn: elsewhere, code: 'ROLE_OUT_OF_REACH' })]);
    expect(report.complete).toBe(false);
    expect(deps.policies.writes.map((write) => write.roleArn)).toEqual([ROLE]);
    expect(audit.eventsOfType('cutoff.failed')).toEqual([expect.objectContaining({ detail: expect.objectContaining({ roleArn: elsewhere, code: 'ROLE_OUT_OF_REACH' }) })]);
    expect(deps.orders.pending).toEqual([]);
  });

  // A flood of recorded uses (or anything else) that slows or breaks finding the live
  // sessions must not delay the cut-off: the listing only serves the report.
  it('writes the Deny before it lists the sessions: a listing that fails leaves the cut in force, and the schedule reports it', async () => {
    // Prepare: carla has a live session; the live-session index cannot be read
    const { deps, audit } = setUp();
    await audit.append(issued('carla'));
    audit.failLiveReads = true;

    // Act
    const report = await carryOutCutOff(deps, written(deps, anOrder()), META);

    // Assess: the policy denies carla already; nothing is reported revoked or not cut that was not
    expect(deps.policies.writes.map((write) => write.roleArn)).toEqual([ROLE]);
    expect(deps.policies.revocations(ROLE)).toEqual([expect.objectContaining({ kind: 'person', sourceIdentity: 'carla' })]);
    expect(report.revokedSessions).toEqual([]);
    expect(report.sessionsNotCut).toEqual([]);
    expect(report.complete).toBe(false);
    expect(audit.eventsOfType('cutoff.failed')).toEqual([
      expect.objectContaining({
        detail: expect.objectContaining({ roleArn: ROLE, code: 'STORE_UNAVAILABLE', message: expect.stringContaining('in force') }),
      }),
    ]);
    expect(deps.orders.pending).toEqual([expect.objectContaining({ id: 'order-1', roles: [ROLE] })]);

    // The schedule, once the index answers: the session is reported, the policy left as it is
    audit.failLiveReads = false;
    await repairRevocations(deps, META);
    expect(audit.events.filter((event) => event.type === 'session.revoked').map((event) => event.accessKeyId)).toEqual(['ASIACARLA00000000000']);
    expect(deps.policies.writes).toHaveLength(1);
    expect(deps.orders.pending).toEqual([]);
  });

  it('records a session cut off once, however many times its order is carried out', async () => {
    // Prepare
    const { deps, audit } = setUp();
    await audit.append(issued('carla'));
    const order = written(deps, anOrder());

    // Act: the request and the schedule both carry it out
    await Promise.all([carryOutCutOff(deps, order, META), carryOutCutOff(deps, order, META)]);

    // Assess
    expect(audit.eventsOfType('session.revoked')).toHaveLength(1);
  });

  // Nothing lost: the cut holds whether or not its record was written, but the order is done only
  // once the record is there too.
  it('keeps its order until the records of what it cut are written, and writes them from the schedule', async () => {
    // Prepare: the audit table refuses writes while the cut-off runs
    const { deps, audit } = setUp();
    await audit.append(issued('carla'));
    audit.failAppends = true;

    // Act
    const report = await carryOutCutOff(deps, written(deps, anOrder()), META);

    // Assess: cut, not yet recorded, kept for the schedule
    expect(report.revokedSessions.map((session) => session.accessKeyId)).toEqual(['ASIACARLA00000000000']);
    expect(report.complete).toBe(false);
    expect(deps.orders.pending).toEqual([expect.objectContaining({ id: 'order-1', roles: [ROLE], attempts: 1 })]);
    audit.failAppends = false;
    await repairRevocations(deps, META);
    expect(audit.events.filter((event) => event.type === 'session.revoked').map((event) => event.accessKeyId)).toEqual(['ASIACARLA00000000000']);
    expect(deps.orders.pending).toEqual([]);
  });

  it('reports as revoked only sessions its revocations deny: not another person, not one issued after the cut-off', async () => {
    // Prepare
    const { deps, audit } = setUp();
    await audit.append(issued('carla'));
    await audit.append(issued('bob'));
    await audit.append(issued('carla', { accessKeyId: 'ASIACARLALATE0000001', at: '2026-06-01T12:01:00.000Z', expiration: '2026-06-01T13:01:00.000Z' }));

    // Act
    const report = await carryOutCutOff(deps, written(deps, anOrder()), META);

    // Assess
    expect(report.revokedSessions.map((session) => session.accessKeyId)).toEqual(['ASIACARLA00000000000']);
  });
});

describe('repairRevocations', () => {
  async function cutCarla() {
    const setup = setUp();
    await carryOutCutOff(setup.deps, written(setup.deps, anOrder()), META);
    return setup;
  }

  it('changes nothing, and records nothing, while every policy is what its ledger renders', async () => {
    // Prepare
    const { deps, audit } = await cutCarla();
    const writes = deps.policies.writes.length;
    const events = audit.events.length;

    // Act
    const outcome = await repairRevocations(deps, META);

    // Assess
    expect(outcome).toEqual({ orders: { pending: 0, completed: 0 }, roles: { checked: 1, repaired: 0, external: 0 }, failures: [] });
    expect(deps.policies.writes).toHaveLength(writes);
    expect(audit.events).toHaveLength(events);
  });

  it('puts back a policy removed behind its back, recorded as drift from outside tvm', async () => {
    // Prepare
    const { deps, audit } = await cutCarla();
    deps.policies.edit(ROLE, undefined);

    // Act
    const outcome = await repairRevocations(deps, META);

    // Assess
    expect(outcome.roles).toEqual({ checked: 1, repaired: 1, external: 1 });
    expect(deps.policies.revocations(ROLE)).toEqual([{ kind: 'person', sourceIdentity: 'carla', before: BEFORE }]);
    expect(audit.eventsOfType('revocation.drift')).toEqual([
      expect.objectContaining({ principal: 'tvm:schedule', detail: expect.objectContaining({ roleArn: ROLE, external: true, foundDigest: 'none' }) }),
    ]);
  });

  it('keeps each Deny statement it can read in a policy edited behind its back, and records the one it cannot', async () => {
    // Prepare: someone swapped carla's statement for mallory's and a statement of their own
    const { deps, audit } = await cutCarla();
    const mallory: Revocation = { kind: 'person', sourceIdentity: 'mallory', before: '2026-06-01T12:30:00Z' };
    const foreign = { Sid: 'IncidentResponse', Effect: 'Deny', Action: 's3:*', Resource: '*' };
    const edited = JSON.parse(renderRevocationPolicy([mallory]) ?? '{}') as { Statement: object[] };
    const document = JSON.stringify({ ...edited, Statement: [...edited.Statement, foreign] });
    deps.policies.edit(ROLE, document);

    // Act
    await repairRevocations(deps, META);

    // Assess: mallory's Deny is not lifted for sitting beside a statement tvm cannot read; that one
    // is replaced, and the document found is in the drift record (and its critical alert)
    expect(deps.policies.revocations(ROLE)).toEqual([{ kind: 'person', sourceIdentity: 'carla', before: BEFORE }, mallory]);
    expect(audit.eventsOfType('revocation.drift')).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ external: true, foundDocument: document }) }),
    ]);
  });

  it('puts right, without calling it outside tvm, a policy tvm itself rendered for an older version', async () => {
    // Prepare: a later cut-off's ledger write landed, its render did not (the function stopped)
    const { deps, audit } = await cutCarla();
    const older = deps.policies.document(ROLE);
    await carryOutCutOff(deps, written(deps, anOrder({ id: 'order-2', revocations: [{ kind: 'person', sourceIdentity: 'carl', before: BEFORE }] })), META);
    deps.policies.edit(ROLE, older);

    // Act
    const outcome = await repairRevocations(deps, META);

    // Assess
    expect(outcome.roles).toEqual({ checked: 1, repaired: 1, external: 0 });
    expect(deps.policies.revocations(ROLE).map((r) => (r.kind === 'person' ? r.sourceIdentity : r.kind))).toEqual(['carl', 'carla']);
    expect(audit.eventsOfType('revocation.drift')).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ external: false, foundDigest: documentDigest(older) }) }),
    ]);
  });

  it('prunes what has expired and removes the policy once nothing is left', async () => {
    // Prepare
    const { deps, clock } = await cutCarla();
    clock.advance(13 * 3_600_000);

    // Act
    await repairRevocations(deps, META);

    // Assess
    expect(deps.policies.document(ROLE)).toBeUndefined();
    expect(deps.ledger.entry(ROLE)?.revocations).toEqual([]);
  });

  it('tries every role and reports the ones it could not check', async () => {
    // Prepare
    const { deps } = await cutCarla();
    await carryOutCutOff(deps, written(deps, anOrder({ id: 'order-2', roles: [OTHER_ROLE] })), META);
    deps.policies.edit(ROLE, undefined).edit(OTHER_ROLE, undefined).failFor(ROLE, new UpstreamIamError('down'));

    // Act
    const outcome = await repairRevocations(deps, META);

    // Assess
    expect(outcome.failures).toEqual([{ roleArn: ROLE, code: 'UPSTREAM_IAM_ERROR' }]);
    expect(outcome.roles).toEqual({ checked: 2, repaired: 1, external: 1 });
    expect(deps.policies.document(OTHER_ROLE)).toBeDefined();
  });
});
