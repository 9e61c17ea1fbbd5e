// recordUses against the in-memory audit log: every real CloudTrail sample, the join to the
// issuance, idempotency on eventID, malformed input, write failures and the concurrency bound.
import type { CredentialUsedEvent } from '../../shared/domain/audit.js';
import { AuditUnavailableError, StoreUnavailableError } from '../../shared/domain/errors.js';
import {
  ISSUANCE_RETRY_DELAY_MS,
  recordUses,
  useEventId,
  useInputFromEnvelope,
  type RecordUseDeps,
  type UseInput,
  type UseVia,
} from '../../shared/domain/record-use.js';
import { DEFAULT_PRINCIPAL_ID, DEFAULT_PROFILE_NAME } from '../fixtures/builders.js';
import {
  anIssuance,
  aTargetRoleCall,
  CLOUDTRAIL_FIXTURES,
  FlakyAuditLog,
  IGNORED_SOURCES,
  inEnvelope,
  ISSUED_KEY,
  type JsonObject,
  loadCloudTrailFixture,
  rewriteKeyAndRole,
  TARGET_ROLE_ARN,
  TARGET_ROLE_PATTERN,
} from '../fixtures/cloudtrail-records.js';

const EB01 = 'eb-01-aws-api-call-via-cloudtrail-envelope-s3-putobject.json';
/** When the audit writer records what these tests append. */
const RECORDED_AT = new Date('2026-06-01T12:30:00.000Z');

async function setUp() {
  const audit = new FlakyAuditLog();
  audit.recordingClock = () => RECORDED_AT;
  await audit.append(anIssuance());
  const pauses: number[] = [];
  const deps: RecordUseDeps = {
    audit,
    roleArnPattern: TARGET_ROLE_PATTERN,
    ignoredSources: IGNORED_SOURCES,
    pause: async (milliseconds) => {
      pauses.push(milliseconds);
    },
  };
  return { audit, deps, pauses };
}

function inputs(records: unknown[], via: UseVia = 'trail'): UseInput<number>[] {
  return records.map((record, ref) => ({ ref, via, record }));
}

/** A sample as delivered: a plain record, or the record inside eb-01's envelope. */
function asInput(file: string, content: JsonObject): UseInput<string> {
  return file.startsWith('eb-') ? useInputFromEnvelope(content, file) : { ref: file, via: 'trail', record: content };
}

describe('recordUses with every sample in test/fixtures/aws/cloudtrail', () => {
  // Each sample's key and role are rewritten to an issued key on a target role (an identity that is
  // not a session, like an IAM user's, keeps its type, so stays unrelated). eb-01's identity is an
  // IAM user: it is also replaced by ct-05a's session identity, as SOURCES.md suggests.
  const rewritten: Record<string, { outcome: 'recorded' | 'unrelated' | 'malformed'; build: () => JsonObject }> = {
    'ct-01-sts-assumerole-sourceidentity-caller-account.json': { outcome: 'unrelated', build: () => rewrite('ct-01-sts-assumerole-sourceidentity-caller-account.json') },
    'ct-03-sts-assumerole-role-chaining-tags-sourceidentity.json': { outcome: 'recorded', build: () => rewrite('ct-03-sts-assumerole-role-chaining-tags-sourceidentity.json') },
    'ct-04-s3-deletebucket-assumedrole.json': { outcome: 'recorded', build: () => rewrite('ct-04-s3-deletebucket-assumedrole.json') },
    'ct-05a-assumedrole-useridentity-sourceidentity-snippet-iam-userguide.json': { outcome: 'malformed', build: () => rewrite('ct-05a-assumedrole-useridentity-sourceidentity-snippet-iam-userguide.json') },
    'ct-05b-assumedrole-useridentity-sourceidentity-snippet-cloudtrail-userguide.json': { outcome: 'malformed', build: () => rewrite('ct-05b-assumedrole-useridentity-sourceidentity-snippet-cloudtrail-userguide.json') },
    'ct-08-sts-assumerole-accessdenied-stratus-real.json': { outcome: 'unrelated', build: () => rewrite('ct-08-sts-assumerole-accessdenied-stratus-real.json') },
    'ct-10-sts-getcalleridentity-assumedrole-ec2-instance-creds-stratus-real.json': { outcome: 'recorded', build: () => rewrite('ct-10-sts-getcalleridentity-assumedrole-ec2-instance-creds-stratus-real.json') },
    'ct-12-secretsmanager-getsecretvalue-accessdenied-assumedrole-panther.json': { outcome: 'recorded', build: () => rewrite('ct-12-secretsmanager-getsecretvalue-accessdenied-assumedrole-panther.json') },
    [EB01]: {
      outcome: 'recorded',
      build: () => {
        const envelope = loadCloudTrailFixture(EB01);
        const identity = loadCloudTrailFixture('ct-05a-assumedrole-useridentity-sourceidentity-snippet-iam-userguide.json').userIdentity;
        const detail = rewriteKeyAndRole({ ...(envelope.detail as JsonObject), userIdentity: identity }, { accessKeyId: ISSUED_KEY, roleArn: TARGET_ROLE_ARN });
        return { ...envelope, detail };
      },
    },
  };
  // As published: none is a session of a target role.
  const asPublished: Record<string, 'unrelated' | 'malformed'> = {
    'ct-01-sts-assumerole-sourceidentity-caller-account.json': 'unrelated',
    'ct-03-sts-assumerole-role-chaining-tags-sourceidentity.json': 'unrelated',
    'ct-04-s3-deletebucket-assumedrole.json': 'unrelated',
    'ct-05a-assumedrole-useridentity-sourceidentity-snippet-iam-userguide.json': 'unrelated',
    'ct-05b-assumedrole-useridentity-sourceidentity-snippet-cloudtrail-userguide.json': 'malformed',
    'ct-08-sts-assumerole-accessdenied-stratus-real.json': 'unrelated',
    'ct-10-sts-getcalleridentity-assumedrole-ec2-instance-creds-stratus-real.json': 'unrelated',
    'ct-12-secretsmanager-getsecretvalue-accessdenied-assumedrole-panther.json': 'unrelated',
    [EB01]: 'unrelated',
  };

  function rewrite(file: string): JsonObject {
    return rewriteKeyAndRole(loadCloudTrailFixture(file), { accessKeyId: ISSUED_KEY, roleArn: TARGET_ROLE_ARN });
  }

  it('has an expected outcome for every sample file', () => {
    // Assess
    expect(Object.keys(rewritten).sort()).toEqual([...CLOUDTRAIL_FIXTURES]);
    expect(Object.keys(asPublished).sort()).toEqual([...CLOUDTRAIL_FIXTURES]);
  });

  it.each(CLOUDTRAIL_FIXTURES)('%s, rewritten to an issued key on a target role', async (file) => {
    // Prepare
    const { audit, deps } = await setUp();
    const expected = rewritten[file];
    if (!expected) throw new Error(`no expected outcome for ${file}`);

    // Act
    const result = await recordUses(deps, [asInput(file, expected.build())]);

    // Assess
    const counts = { recorded: 0, duplicates: 0, unrelated: 0, malformed: 0, failed: 0, [expected.outcome]: 1 };
    expect(result.counts).toEqual(counts);
    expect(audit.uses).toHaveLength(expected.outcome === 'recorded' ? 1 : 0);
    if (expected.outcome === 'recorded') {
      expect(audit.uses[0]).toMatchObject({ accessKeyId: ISSUED_KEY, roleArn: TARGET_ROLE_ARN, principal: DEFAULT_PRINCIPAL_ID });
      expect(audit.uses[0]?.via).toBe(file.startsWith('eb-') ? 'eventbridge' : 'trail');
    }
  });

  it.each(CLOUDTRAIL_FIXTURES)('%s, as published, records nothing', async (file) => {
    // Prepare
    const { audit, deps } = await setUp();

    // Act
    const result = await recordUses(deps, [asInput(file, loadCloudTrailFixture(file))]);

    // Assess
    expect(result.counts[asPublished[file] as 'unrelated' | 'malformed']).toBe(1);
    expect(audit.uses).toEqual([]);
  });

  it('records the complete credential.used event for a call with an issued key (ct-10)', async () => {
    // Prepare
    const { audit, deps } = await setUp();
    const record = aTargetRoleCall();

    // Act
    await recordUses(deps, inputs([record]));

    // Assess
    const issuance = anIssuance();
    const expected: CredentialUsedEvent = {
      id: '2024-08-02T08:23:55.000Z#ct-b379479b-05c9-4c3c-af4b-cbd43acf29e1',
      type: 'credential.used',
      at: '2024-08-02T08:23:55.000Z',
      principal: DEFAULT_PRINCIPAL_ID,
      requestId: 'e46e7e10-ae9e-4170-b205-5d327c156416',
      sourceIp: '18.236.253.47',
      userAgent: 'stratus-red-team_c763d13b-d099-488a-bb3e-f57cb2fed240',
      profile: DEFAULT_PROFILE_NAME,
      grantId: 'grant-0001',
      accessKeyId: ISSUED_KEY,
      issuance: {
        eventId: issuance.id,
        principal: issuance.principal,
        profile: issuance.profile,
        grantId: issuance.grantId,
        roleArn: issuance.roleArn,
        sessionName: issuance.sessionName,
        sourceIdentity: issuance.sourceIdentity,
        issuedAt: issuance.at,
        expiration: issuance.expiration,
        groups: ['developers'],
      },
      cloudTrailEventId: 'b379479b-05c9-4c3c-af4b-cbd43acf29e1',
      eventTime: '2024-08-02T08:23:55.000Z',
      eventName: 'GetCallerIdentity',
      eventSource: 'sts.amazonaws.com',
      awsRegion: 'us-north-2r',
      sourceIPAddress: '18.236.253.47',
      recipientAccountId: '017622104382',
      roleArn: TARGET_ROLE_ARN,
      sessionArn: 'arn:aws:sts::017622104382:assumed-role/stratus-red-team-ec2-steal-credentials-role/i-786a3A8B5C0d92eF4',
      sourceIdentity: DEFAULT_PRINCIPAL_ID,
      via: 'trail',
      recordedAt: RECORDED_AT.toISOString(),
    };
    expect(audit.uses).toEqual([expected]);
  });

  it('records errorCode and errorMessage of a refused call (ct-12, AccessDenied)', async () => {
    // Prepare
    const { audit, deps } = await setUp();
    const record = { ...rewrite('ct-12-secretsmanager-getsecretvalue-accessdenied-assumedrole-panther.json'), errorMessage: 'not authorized' };

    // Act
    await recordUses(deps, inputs([record]));

    // Assess
    expect(audit.uses[0]).toMatchObject({ errorCode: 'AccessDenied', errorMessage: 'not authorized', eventTime: '2024-10-17T21:48:45.000Z' });
  });

  it('keeps the session credentials a record carries (ct-03 responseElements) out of the audit trail', async () => {
    // Prepare
    const { audit, deps } = await setUp();
    const record = rewrite('ct-03-sts-assumerole-role-chaining-tags-sourceidentity.json');
    const token = ((record.responseElements as JsonObject).credentials as JsonObject).sessionToken as string;

    // Act
    await recordUses(deps, inputs([record]));

    // Assess
    expect(audit.uses).toHaveLength(1);
    expect(JSON.stringify(audit.events)).not.toContain(token.slice(0, 40));
    expect(JSON.stringify(audit.events)).not.toContain('ASIAWHOJDLGPOEXAMPLE');
  });
});

describe('recordUses: the join to the issuance', () => {
  it('records a session tvm did not issue with issuance null, the session ARN as principal, and no profile or grant', async () => {
    // Prepare
    const { audit, deps } = await setUp();
    const record = aTargetRoleCall({ accessKeyId: 'ASIAQNOTISSUEDBYTVM1' });

    // Act
    const result = await recordUses(deps, inputs([record]));

    // Assess
    expect(result.counts.recorded).toBe(1);
    const [use] = audit.uses;
    expect(use?.issuance).toBeNull();
    expect(use?.principal).toBe('arn:aws:sts::017622104382:assumed-role/stratus-red-team-ec2-steal-credentials-role/i-786a3A8B5C0d92eF4');
    expect(use).not.toHaveProperty('profile');
    expect(use).not.toHaveProperty('grantId');
    expect(use).not.toHaveProperty('sourceIdentityMismatch');
  });

  it.each([
    ['another SourceIdentity', 'mallory@example.com'],
    ['no SourceIdentity', undefined],
  ])('joins a key whose record carries %s to its issuance, marked sourceIdentityMismatch', async (_case, sourceIdentity) => {
    // Prepare
    const { audit, deps } = await setUp();
    const record = aTargetRoleCall();
    const context = (record.userIdentity as JsonObject).sessionContext as JsonObject;
    if (sourceIdentity === undefined) delete context.sourceIdentity;
    else context.sourceIdentity = sourceIdentity;

    // Act
    await recordUses(deps, inputs([record]));

    // Assess
    const [use] = audit.uses;
    expect(use).toMatchObject({ principal: DEFAULT_PRINCIPAL_ID, grantId: 'grant-0001', sourceIdentityMismatch: true });
    expect(use?.issuance?.sourceIdentity).toBe(DEFAULT_PRINCIPAL_ID);
    expect(use?.sourceIdentity).toBe(sourceIdentity);
  });

  it('looks each access key up once per call, however many records use it (a miss twice)', async () => {
    // Prepare
    const { audit, deps } = await setUp();
    const records = Array.from({ length: 40 }, (_, i) =>
      aTargetRoleCall({ eventID: `event-${i}`, accessKeyId: i % 2 === 0 ? ISSUED_KEY : 'ASIAQNOTISSUEDBYTVM1' }),
    );

    // Act
    const result = await recordUses(deps, inputs(records));

    // Assess
    expect(result.counts.recorded).toBe(40);
    expect(audit.findIssuanceCalls).toBe(3);
  });

  it('looks a key up again after a pause when the index does not show its issuance yet, and joins it then', async () => {
    // Prepare: the issuance was written a moment ago; the first lookup reads an index behind it.
    const { audit, deps, pauses } = await setUp();
    let lookups = 0;
    const lagging: RecordUseDeps = {
      ...deps,
      audit: {
        append: (event, options) => audit.append(event, options),
        findIssuance: async (key) => (++lookups === 1 ? undefined : audit.findIssuance(key)),
      },
    };

    // Act
    const result = await recordUses(lagging, inputs([aTargetRoleCall({ eventID: 'event-0' }), aTargetRoleCall({ eventID: 'event-1' })]));

    // Assess
    expect(result.counts.recorded).toBe(2);
    expect(audit.uses.map((use) => use.issuance?.principal)).toEqual([DEFAULT_PRINCIPAL_ID, DEFAULT_PRINCIPAL_ID]);
    expect(pauses).toEqual([ISSUANCE_RETRY_DELAY_MS]);
    expect(lookups).toBe(2);
  });

  it('records issuance null only after the second lookup also finds nothing, pausing once per key', async () => {
    // Prepare
    const { audit, deps, pauses } = await setUp();
    const records = [0, 1, 2].map((i) => aTargetRoleCall({ eventID: `event-${i}`, accessKeyId: 'ASIAQNOTISSUEDBYTVM1' }));

    // Act
    await recordUses(deps, inputs(records));

    // Assess
    expect(audit.uses.map((use) => use.issuance)).toEqual([null, null, null]);
    expect(audit.findIssuanceCalls).toBe(2);
    expect(pauses).toEqual([300]);
  });
});

describe('recordUses: idempotent on CloudTrail eventID', () => {
  it('records the same eventID twice in one batch once, counting a duplicate', async () => {
    // Prepare
    const { audit, deps } = await setUp();
    const record = aTargetRoleCall();

    // Act
    const result = await recordUses(deps, inputs([record, structuredClone(record)]));

    // Assess
    expect(result.counts).toEqual({ recorded: 1, duplicates: 1, unrelated: 0, malformed: 0, failed: 0 });
    expect(audit.uses).toHaveLength(1);
  });

  it('records an eventID delivered by EventBridge and then by the log file once, as delivered first', async () => {
    // Prepare
    const { audit, deps } = await setUp();
    const record = aTargetRoleCall();

    // Act
    const fromEventBridge = await recordUses(deps, [useInputFromEnvelope(inEnvelope(record), 'message-1')]);
    const fromTrail = await recordUses(deps, inputs([record]));
    const again = await recordUses(deps, [useInputFromEnvelope(inEnvelope(record), 'message-1')]);

    // Assess
    expect([fromEventBridge.counts.recorded, fromTrail.counts.duplicates, again.counts.duplicates]).toEqual([1, 1, 1]);
    expect(audit.uses.map((use) => use.via)).toEqual(['eventbridge']);
  });
});

describe('recordUses: malformed input and failures', () => {
  it('counts malformed and unrelated records mixed into a batch, records the rest, and describes the malformed', async () => {
    // Prepare
    const { audit, deps } = await setUp();
    const batch: UseInput<number>[] = [
      { ref: 0, via: 'trail', record: aTargetRoleCall({ eventID: 'good-1' }) },
      { ref: 1, via: 'trail', record: { ...aTargetRoleCall({ eventID: 'bad-time' }), eventTime: '2021-02-21T23: 46: 28Z' } },
      { ref: 2, via: 'trail', record: loadCloudTrailFixture('ct-08-sts-assumerole-accessdenied-stratus-real.json') },
      { ref: 3, skip: 'malformed', reason: 'a record is not valid JSON' },
      { ref: 4, via: 'trail', record: 'Records' },
      { ref: 5, via: 'trail', record: null },
      { ref: 6, via: 'trail', record: aTargetRoleCall({ eventID: 'good-2' }) },
    ];

    // Act
    const result = await recordUses(deps, batch);

    // Assess
    expect(result.counts).toEqual({ recorded: 2, duplicates: 0, unrelated: 1, malformed: 4, failed: 0 });
    expect(result.failed).toEqual([]);
    expect(result.malformed).toEqual([
      { ref: 1, reason: 'eventTime is missing or not an ISO 8601 UTC time' },
      { ref: 3, reason: 'a record is not valid JSON' },
      { ref: 4, reason: 'the record is not a JSON object' },
      { ref: 5, reason: 'the record is not a JSON object' },
    ]);
    expect(audit.uses.map((use) => use.cloudTrailEventId).sort()).toEqual(['good-1', 'good-2']);
  });

  it('returns the records it could not write, by ref, and still writes the others', async () => {
    // Prepare
    const { audit, deps } = await setUp();
    audit.failFor.add('event-2');
    const records = [0, 1, 2, 3].map((i) => aTargetRoleCall({ eventID: `event-${i}` }));

    // Act
    const result = await recordUses(deps, inputs(records));

    // Assess
    expect(result.counts).toEqual({ recorded: 3, duplicates: 0, unrelated: 0, malformed: 0, failed: 1 });
    expect(result.failed).toEqual([{ ref: 2, cloudTrailEventId: 'event-2', error: expect.any(AuditUnavailableError) }]);
    expect(audit.uses.map((use) => use.cloudTrailEventId).sort()).toEqual(['event-0', 'event-1', 'event-3']);
  });

  it('writes a failed record on the next attempt, and the ones written before come back as duplicates', async () => {
    // Prepare
    const { audit, deps } = await setUp();
    audit.failFor.add('event-1');
    const records = [0, 1].map((i) => aTargetRoleCall({ eventID: `event-${i}` }));
    await recordUses(deps, inputs(records));
    audit.failFor.clear();

    // Act
    const retried = await recordUses(deps, inputs(records));

    // Assess
    expect(retried.counts).toEqual({ recorded: 1, duplicates: 1, unrelated: 0, malformed: 0, failed: 0 });
    expect(audit.uses).toHaveLength(2);
  });

  it('returns the records whose issuance could not be looked up as failed, and tries the key again for the next record', async () => {
    // Prepare
    const { audit, deps } = await setUp();
    let lookups = 0;
    const flakyDeps: RecordUseDeps = {
      ...deps,
      audit: {
        append: (event, options) => audit.append(event, options),
        findIssuance: async (key) => {
          if (++lookups === 1) throw new StoreUnavailableError('the audit table could not be read');
          return audit.findIssuance(key);
        },
      },
    };
    const records = [0, 1].map((i) => aTargetRoleCall({ eventID: `event-${i}` }));

    // Act
    const result = await recordUses(flakyDeps, inputs(records), { concurrency: 1 });

    // Assess
    expect(result.failed).toEqual([{ ref: 0, cloudTrailEventId: 'event-0', error: expect.any(StoreUnavailableError) }]);
    expect(audit.uses.map((use) => [use.cloudTrailEventId, use.issuance?.principal])).toEqual([['event-1', DEFAULT_PRINCIPAL_ID]]);
  });

  it('throws an error reading the input itself, once the writes in flight have finished', async () => {
    // Prepare
    const { audit, deps } = await setUp();
    async function* brokenFile(): AsyncGenerator<UseInput<number>> {
      yield { ref: 0, via: 'trail', record: aTargetRoleCall({ eventID: 'event-0' }) };
      throw new Error('connection reset');
    }

    // Act
    const outcome = recordUses(deps, brokenFile());

    // Assess
    await expect(outcome).rejects.toThrow('connection reset');
    expect(audit.uses).toHaveLength(1);
  });
});

describe('recordUses: bounded concurrency', () => {
  it('has at most `concurrency` writes in flight and reads the input only as writes finish', async () => {
    // Prepare
    const { audit, deps } = await setUp();
    let inFlight = 0;
    let maxInFlight = 0;
    let pulled = 0;
    let pulledAheadOfWrites = 0;
    let written = 0;
    const slowDeps: RecordUseDeps = {
      ...deps,
      audit: {
        findIssuance: (key) => audit.findIssuance(key),
        append: async (event, options) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 1));
          inFlight--;
          written++;
          return audit.append(event, options);
        },
      },
    };
    async function* records(): AsyncGenerator<UseInput<number>> {
      for (let i = 0; i < 100; i++) {
        pulled++;
        pulledAheadOfWrites = Math.max(pulledAheadOfWrites, pulled - written);
        yield { ref: i, via: 'trail', record: aTargetRoleCall({ eventID: `event-${i}` }) };
      }
    }

    // Act
    const result = await recordUses(slowDeps, records(), { concurrency: 4 });

    // Assess
    expect(result.counts.recorded).toBe(100);
    expect(maxInFlight).toBe(4);
    expect(pulledAheadOfWrites).toBeLessThanOrEqual(5);
  });
});

describe('useEventId', () => {
  it('is the event time and "ct-" plus a CloudTrail eventID that is already short and URL-safe', () => {
    // Act
    const id = useEventId(new Date('2024-08-02T08:23:55Z'), 'b379479b-05c9-4c3c-af4b-cbd43acf29e1');

    // Assess
    expect(id).toBe('2024-08-02T08:23:55.000Z#ct-b379479b-05c9-4c3c-af4b-cbd43acf29e1');
  });

  it('keeps other eventIDs to [A-Za-z0-9_-], at most 60 characters, and distinct when their sanitised forms agree', () => {
    // Prepare
    const at = new Date('2024-08-02T08:23:55Z');
    const eventIds = ['a/b', 'a.b', 'ab', 'x'.repeat(61), `${'x'.repeat(61)}y`, 'é'];

    // Act
    const uniques = eventIds.map((eventId) => useEventId(at, eventId).split('#ct-')[1] as string);

    // Assess
    for (const unique of uniques) expect(unique).toMatch(/^[A-Za-z0-9_-]{1,60}$/);
    expect(new Set(uniques).size).toBe(eventIds.length);
  });
});
