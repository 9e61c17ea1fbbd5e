// Reading CloudTrail records and EventBridge envelopes: the real samples, their typos, and input
// that is not a record at all. Nothing may throw; every verdict is a call, unrelated or malformed.
import {
  parseCloudTrailRecord,
  parseEventBridgeEnvelope,
  parseEventTime,
  type AssumedRoleCall,
} from '../../shared/domain/cloudtrail.js';
import { patternCovers } from '../../shared/domain/scope.js';
import {
  ISSUED_KEY,
  TARGET_ROLE_ARN,
  TARGET_ROLE_PATTERN,
  inEnvelope,
  loadCloudTrailFixture,
  rewriteKeyAndRole,
  type JsonObject,
} from '../fixtures/cloudtrail-records.js';

const isTargetRole = (arn: string) => patternCovers(TARGET_ROLE_PATTERN, arn, false);
const CT10 = 'ct-10-sts-getcalleridentity-assumedrole-ec2-instance-creds-stratus-real.json';
const CT12 = 'ct-12-secretsmanager-getsecretvalue-accessdenied-assumedrole-panther.json';
const CT05A = 'ct-05a-assumedrole-useridentity-sourceidentity-snippet-iam-userguide.json';
const CT05B = 'ct-05b-assumedrole-useridentity-sourceidentity-snippet-cloudtrail-userguide.json';

function targetRoleRecord(file: string): JsonObject {
  return rewriteKeyAndRole(loadCloudTrailFixture(file), { accessKeyId: ISSUED_KEY, roleArn: TARGET_ROLE_ARN });
}

function callOf(record: unknown): AssumedRoleCall {
  const parsed = parseCloudTrailRecord(record, isTargetRole);
  if (parsed.kind !== 'call') throw new Error(`expected a call, got ${parsed.kind}: ${parsed.reason}`);
  return parsed.call;
}

describe('parseCloudTrailRecord', () => {
  it('reads every field of the real GetCallerIdentity sample made with a target role session', () => {
    // Prepare
    const record = targetRoleRecord(CT10);

    // Act
    const parsed = parseCloudTrailRecord(record, isTargetRole);

    // Assess
    expect(parsed).toEqual({
      kind: 'call',
      call: {
        eventId: 'b379479b-05c9-4c3c-af4b-cbd43acf29e1',
        eventTime: new Date('2024-08-02T08:23:55.000Z'),
        eventName: 'GetCallerIdentity',
        eventSource: 'sts.amazonaws.com',
        awsRegion: 'us-north-2r',
        sourceIPAddress: '18.236.253.47',
        requestId: 'e46e7e10-ae9e-4170-b205-5d327c156416',
        userAgent: 'stratus-red-team_c763d13b-d099-488a-bb3e-f57cb2fed240',
        recipientAccountId: '017622104382',
        accessKeyId: ISSUED_KEY,
        sessionArn: 'arn:aws:sts::017622104382:assumed-role/stratus-red-team-ec2-steal-credentials-role/i-786a3A8B5C0d92eF4',
        roleArn: TARGET_ROLE_ARN,
      },
    });
  });

  it("normalises Panther's space-separated, zone-less nanosecond eventTime (ct-12) to the same UTC instant", () => {
    // Prepare
    const record = targetRoleRecord(CT12);

    // Act
    const call = callOf(record);

    // Assess
    expect(call.eventTime.toISOString()).toBe('2024-10-17T21:48:45.000Z');
    expect(call).toMatchObject({ errorCode: 'AccessDenied', eventName: 'GetSecretValue', eventSource: 'secretsmanager.amazonaws.com' });
  });

  it('refuses the spaced ARNs of the CloudTrail user guide (ct-05b) as malformed, naming the field', () => {
    // Prepare: a complete real record carrying ct-05b's identity; then the same with only its
    // session issuer's ARN repaired, so the spaced session ARN is what remains.
    const complete = { ...loadCloudTrailFixture(CT10), userIdentity: loadCloudTrailFixture(CT05B).userIdentity };
    const issuerRepaired = rewriteKeyAndRole(complete, { roleArn: TARGET_ROLE_ARN });

    // Act
    const asPublished = parseCloudTrailRecord(complete, isTargetRole);
    const withSpacedSessionArn = parseCloudTrailRecord(issuerRepaired, isTargetRole);

    // Assess
    expect(asPublished).toEqual({ kind: 'malformed', reason: 'sessionContext.sessionIssuer.arn is not a role ARN' });
    expect(withSpacedSessionArn).toEqual({ kind: 'malformed', reason: 'userIdentity.arn is not an assumed-role session ARN' });
  });

  it('refuses the IAM user guide snippet (ct-05a) as malformed: it has an identity but no eventID', () => {
    // Prepare
    const record = targetRoleRecord(CT05A);

    // Act
    const parsed = parseCloudTrailRecord(record, isTargetRole);

    // Assess
    expect(parsed).toEqual({ kind: 'malformed', reason: 'eventID is missing' });
  });

  it('reads the sourceIdentity of a session (ct-03, role chaining)', () => {
    // Prepare
    const record = targetRoleRecord('ct-03-sts-assumerole-role-chaining-tags-sourceidentity.json');

    // Act
    const call = callOf(record);

    // Assess
    expect(call.sourceIdentity).toBe('JohnDoe');
    expect(call.eventName).toBe('AssumeRole');
  });

  it('counts as unrelated a call by an IAM user, or by a session of another role, even when it is also malformed', () => {
    // Prepare: records missing their eventID, which would otherwise make them malformed.
    const { eventID: _a, ...iamUser } = loadCloudTrailFixture('ct-08-sts-assumerole-accessdenied-stratus-real.json');
    const { eventID: _b, ...otherRole } = loadCloudTrailFixture(CT10);

    // Act
    const verdicts = [iamUser, otherRole].map((record) => parseCloudTrailRecord(record, isTargetRole).kind);

    // Assess
    expect(verdicts).toEqual(['unrelated', 'unrelated']);
  });

  it.each([
    ['eventID', (r: JsonObject) => delete r.eventID, 'eventID is missing'],
    ['eventTime', (r: JsonObject) => delete r.eventTime, 'eventTime is missing or not an ISO 8601 UTC time'],
    ['eventTime as in the doc typo', (r: JsonObject) => (r.eventTime = '2021-02-21T23: 46: 28Z'), 'eventTime is missing or not an ISO 8601 UTC time'],
    ['accessKeyId', (r: JsonObject) => delete (r.userIdentity as JsonObject).accessKeyId, 'userIdentity.accessKeyId is missing or not an access key id'],
    ['accessKeyId empty', (r: JsonObject) => ((r.userIdentity as JsonObject).accessKeyId = ''), 'userIdentity.accessKeyId is missing or not an access key id'],
    ['session ARN', (r: JsonObject) => delete (r.userIdentity as JsonObject).arn, 'userIdentity.arn is not an assumed-role session ARN'],
    ['session issuer', (r: JsonObject) => delete ((r.userIdentity as JsonObject).sessionContext as JsonObject).sessionIssuer, 'sessionContext.sessionIssuer.arn is not a role ARN'],
    ['eventName', (r: JsonObject) => (r.eventName = 42), 'eventName is missing'],
    ['eventSource', (r: JsonObject) => delete r.eventSource, 'eventSource is missing'],
    ['awsRegion', (r: JsonObject) => (r.awsRegion = null), 'awsRegion is missing'],
    ['sourceIPAddress', (r: JsonObject) => delete r.sourceIPAddress, 'sourceIPAddress is missing'],
  ])('a target-role record without a readable %s is malformed', (_field, damage, reason) => {
    // Prepare
    const record = targetRoleRecord(CT10);
    damage(record);

    // Act
    const parsed = parseCloudTrailRecord(record, isTargetRole);

    // Assess
    expect(parsed).toEqual({ kind: 'malformed', reason });
  });

  it('never throws, whatever the shape: every field replaced by every kind of JSON value', () => {
    // Prepare
    const values: unknown[] = [null, 0, -1.5, true, '', ' ', [], [1], {}, { type: 'AssumedRole' }, 'x'.repeat(10_000)];
    const paths = [[], ['userIdentity'], ['userIdentity', 'type'], ['userIdentity', 'sessionContext'], ['userIdentity', 'sessionContext', 'sessionIssuer'], ['eventTime'], ['eventID'], ['userAgent'], ['errorMessage']];
    const cases: unknown[] = [undefined, ...values];
    for (const path of paths.filter((p) => p.length > 0)) {
      for (const value of values) {
        const record = targetRoleRecord(CT10);
        let parent: JsonObject = record;
        for (const step of path.slice(0, -1)) parent = parent[step] as JsonObject;
        parent[path[path.length - 1] as string] = value;
        cases.push(record);
      }
    }

    // Act
    const verdicts = cases.map((record) => parseCloudTrailRecord(record, isTargetRole).kind);

    // Assess
    expect(verdicts.every((kind) => kind === 'call' || kind === 'unrelated' || kind === 'malformed')).toBe(true);
    const topLevel = verdicts.slice(0, values.length + 1);
    const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
    expect(topLevel).toEqual(cases.slice(0, values.length + 1).map((v) => (isObject(v) ? 'unrelated' : 'malformed')));
  });

  it('cuts userAgent to 512 and errorMessage to 1,024 characters, and drops empty optional fields', () => {
    // Prepare
    const record = { ...targetRoleRecord(CT10), userAgent: 'u'.repeat(600), errorMessage: 'm'.repeat(2000), errorCode: '', requestID: 7 };

    // Act
    const call = callOf(record);

    // Assess
    expect(call.userAgent).toBe('u'.repeat(512));
    expect(call.errorMessage).toBe('m'.repeat(1024));
    expect(call).not.toHaveProperty('errorCode');
    expect(call).not.toHaveProperty('requestId');
  });
});

describe('parseEventTime', () => {
  it.each([
    ['2024-08-02T08:23:55Z', '2024-08-02T08:23:55.000Z'],
    ['2024-08-02T08:23:55.123456Z', '2024-08-02T08:23:55.123Z'],
    ['2024-08-02T10:23:55+02:00', '2024-08-02T08:23:55.000Z'],
    ['2024-08-02T05:53:55-02:30', '2024-08-02T08:23:55.000Z'],
    ['2024-10-17 21:48:45.000000000', '2024-10-17T21:48:45.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    // Act
    const time = parseEventTime(text);

    // Assess
    expect(time?.toISOString()).toBe(iso);
  });

  it.each([
    '2021-02-21T23: 46: 28Z',
    'Jul 18, 2023, 4:07:39 PM',
    '2023-02-29T00:00:00Z',
    '2024-04-31T00:00:00Z',
    '2024-01-01T24:00:00Z',
    '0099-01-01T00:00:00Z',
    '2024-01-01T00:00:00+24:00',
    '2024-01-01',
    '1722586935',
    '',
  ])('refuses %j', (text) => {
    // Act
    const time = parseEventTime(text);

    // Assess
    expect(time).toBeUndefined();
  });

  it('refuses what is not a string', () => {
    // Act
    const times = [1722586935000, null, undefined, {}, new Date()].map(parseEventTime);

    // Assess
    expect(times).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});

describe('parseEventBridgeEnvelope', () => {
  it('hands out the record inside the real "AWS API Call via CloudTrail" sample (eb-01)', () => {
    // Prepare
    const envelope = loadCloudTrailFixture('eb-01-aws-api-call-via-cloudtrail-envelope-s3-putobject.json');

    // Act
    const parsed = parseEventBridgeEnvelope(envelope);

    // Assess
    expect(parsed).toEqual({ kind: 'record', record: envelope.detail, local: false });
  });

  it('says the record came from the local stack only when tvmLocal is true and the local stack is running', () => {
    // Prepare
    const record = targetRoleRecord(CT10);
    const local = inEnvelope({ ...record, additionalEventData: { tvmLocal: true } });
    const notQuite = inEnvelope({ ...record, additionalEventData: { tvmLocal: 'true' } });

    // Act
    const offline = [local, notQuite].map((envelope) => parseEventBridgeEnvelope(envelope, { acceptLocalMarker: true }));
    const deployed = parseEventBridgeEnvelope(local);

    // Assess
    expect(offline.map((v) => v.kind === 'record' && v.local)).toEqual([true, false]);
    expect(deployed).toMatchObject({ kind: 'record', local: false });
  });

  it('refuses a custom event posing as CloudTrail: only AWS services publish aws.<service> sources, partners do not', () => {
    // Prepare: a SaaS partner's event source is aws.partner/…, and its events are the partner's
    const record = targetRoleRecord(CT10);
    const forged = [
      inEnvelope(record, { source: 'tvm.local' }),
      inEnvelope(record, { source: 'my.app' }),
      inEnvelope(record, { source: undefined }),
      inEnvelope(record, { source: 'aws.partner/example.com/123456789012/tvm' }),
      inEnvelope(record, { source: 'aws.partner' }),
      inEnvelope(record, { source: 'aws.' }),
    ];

    // Act
    const verdicts = forged.map((envelope) => parseEventBridgeEnvelope(envelope, { acceptLocalMarker: true }));

    // Assess
    expect(verdicts).toEqual(forged.map(() => ({ kind: 'unrelated', reason: 'source is not an AWS service' })));
  });

  it('counts another detail-type as unrelated and a missing detail or a non-object as malformed', () => {
    // Prepare
    const other = inEnvelope(targetRoleRecord(CT10), { 'detail-type': 'AWS Console Sign In via CloudTrail' });
    const noDetail = inEnvelope(targetRoleRecord(CT10), { detail: 'x' });

    // Act
    const verdicts = [other, noDetail, null, [], 'text'].map((envelope) => parseEventBridgeEnvelope(envelope).kind);

    // Assess
    expect(verdicts).toEqual(['unrelated', 'malformed', 'malformed', 'malformed', 'malformed']);
  });
});
