// The local CloudTrail + EventBridge stand-in: requests signed with sessions the local STS issued
// reach a (fake) Lambda invoke endpoint as EventBridge "AWS API Call via CloudTrail" events whose
// records have the shape of real ones (test/fixtures/aws/cloudtrail).
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient, type AssumeRoleCommandOutput } from '@aws-sdk/client-sts';
import { startCloudTrailBridge, type CloudTrailBridge, type CloudTrailBridgeOptions, type CloudTrailApiCallEvent } from '../../local/cloudtrail-bridge.js';
import { LOCAL_TVM_CALLER, loadLocalRoles, startLocalSts, type LocalSts } from '../../local/sts/local-sts.js';
import { AWS_FIXTURES } from '../fixtures/aws-fixtures.js';
import { startFakeLambda, type FakeLambda } from './support/fake-lambda.js';

const CLOUDTRAIL = `${AWS_FIXTURES}cloudtrail`;
const readJson = (name: string) => JSON.parse(readFileSync(`${CLOUDTRAIL}/${name}`, 'utf8')) as Record<string, Record<string, unknown>>;
const CT_10 = readJson('ct-10-sts-getcalleridentity-assumedrole-ec2-instance-creds-stratus-real.json');
const CT_05A = readJson('ct-05a-assumedrole-useridentity-sourceidentity-snippet-iam-userguide.json');
const EB_01 = readJson('eb-01-aws-api-call-via-cloudtrail-envelope-s3-putobject.json');

const RECORD_USE = 'tvm-dev-recordUse';
const TARGET_PATTERN = 'arn:aws:iam::000000000000:role/tvm-*';
const READONLY_ROLE = 'arn:aws:iam::000000000000:role/tvm-demo-readonly';
const OTHER_ROLE = 'arn:aws:iam::000000000000:role/other-app';
const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const keysOf = (value: unknown) => Object.keys(value as object).sort();
const nested = (value: unknown, ...path: string[]) => path.reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], value);

describe('CloudTrail bridge', () => {
  let sts: LocalSts;
  let lambda: FakeLambda;
  let bridge: CloudTrailBridge | undefined;

  function useBridge(overrides: Partial<CloudTrailBridgeOptions> = {}): CloudTrailBridge {
    bridge = startCloudTrailBridge({
      lambdaEndpoint: lambda.endpoint,
      functionName: RECORD_USE,
      targetRolePattern: TARGET_PATTERN,
      retryBaseMs: 5,
      ...overrides,
    });
    return bridge;
  }

  function stsClient(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = LOCAL_TVM_CALLER): STSClient {
    return new STSClient({ endpoint: sts.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  }

  async function vend(roleArn = READONLY_ROLE, sourceIdentity = 'alice@example.com'): Promise<{ assumed: AssumeRoleCommandOutput; client: STSClient }> {
    const assumed = await stsClient().send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'alice-session', SourceIdentity: sourceIdentity }));
    const credentials = assumed.Credentials;
    if (credentials?.AccessKeyId === undefined || credentials.SecretAccessKey === undefined || credentials.SessionToken === undefined) {
      throw new Error('no credentials');
    }
    return {
      assumed,
      client: stsClient({ accessKeyId: credentials.AccessKeyId, secretAccessKey: credentials.SecretAccessKey, sessionToken: credentials.SessionToken }),
    };
  }

  const eventsDelivered = () => lambda.invocations.map((invocation) => invocation.event as CloudTrailApiCallEvent);

  beforeAll(async () => {
    sts = await startLocalSts({
      roles: [...loadLocalRoles(), { arn: OTHER_ROLE, maxSessionDurationSeconds: 3600, trustedPrincipalArns: [LOCAL_TVM_CALLER.arn] }],
      callers: [LOCAL_TVM_CALLER],
      onSignedRequest: (record) => bridge?.deliver(record),
    });
  });

  beforeEach(async () => {
    lambda = await startFakeLambda([RECORD_USE]);
  });

  afterEach(async () => {
    await bridge?.stop();
    bridge = undefined;
    await lambda.close();
  });

  afterAll(async () => {
    await sts.close();
  });

  it('delivers a call made with vended credentials as one EventBridge event shaped like the real ones', async () => {
    // Prepare
    const bridge = useBridge();
    const { assumed, client } = await vend();

    // Act
    const identity = await client.send(new GetCallerIdentityCommand({}));
    await bridge.drain();

    // Assess
    expect(lambda.invocations).toHaveLength(1);
    expect(lambda.invocations[0]).toMatchObject({ functionName: RECORD_USE, invocationType: 'RequestResponse' });
    const [event] = eventsDelivered();
    expect(keysOf(event)).toEqual(keysOf(EB_01));
    expect(event).toEqual({
      version: '0',
      id: expect.stringMatching(UUID),
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.sts',
      account: '000000000000',
      time: event?.detail.eventTime,
      region: 'us-east-1',
      resources: [],
      detail: expect.any(Object),
    });
    const detail = event?.detail;
    // Every field of a real record but tlsDetails (plain HTTP locally), plus the local marker.
    expect(keysOf(detail)).toEqual([...keysOf(CT_10).filter((key) => key !== 'tlsDetails'), 'additionalEventData'].sort());
    expect(keysOf(detail?.userIdentity)).toEqual(keysOf(CT_10.userIdentity));
    expect(keysOf(detail?.userIdentity.sessionContext)).toEqual(
      keysOf(nested(CT_05A, 'userIdentity', 'sessionContext')).filter((key) => key !== 'webIdFederationData'),
    );
    expect(keysOf(detail?.userIdentity.sessionContext.sessionIssuer)).toEqual(keysOf(nested(CT_10, 'userIdentity', 'sessionContext', 'sessionIssuer')));
    expect(keysOf(detail?.userIdentity.sessionContext.attributes)).toEqual(keysOf(nested(CT_10, 'userIdentity', 'sessionContext', 'attributes')));
    const roleId = assumed.AssumedRoleUser?.AssumedRoleId?.split(':')[0];
    expect(detail).toEqual({
      eventVersion: '1.08',
      userIdentity: {
        type: 'AssumedRole',
        principalId: assumed.AssumedRoleUser?.AssumedRoleId,
        arn: identity.Arn,
        accountId: '000000000000',
        accessKeyId: assumed.Credentials?.AccessKeyId,
        sessionContext: {
          sessionIssuer: { type: 'Role', principalId: roleId, arn: READONLY_ROLE, accountId: '000000000000', userName: 'tvm-demo-readonly' },
          attributes: { creationDate: expect.stringMatching(ISO_SECONDS), mfaAuthenticated: 'false' },
          sourceIdentity: 'alice@example.com',
        },
      },
      eventTime: expect.stringMatching(ISO_SECONDS),
      eventSource: 'sts.amazonaws.com',
      eventName: 'GetCallerIdentity',
      awsRegion: 'us-east-1',
      sourceIPAddress: '127.0.0.1',
      userAgent: expect.stringContaining('aws-sdk-js'),
      requestParameters: null,
      responseElements: null,
      additionalEventData: { tvmLocal: true },
      requestID: identity.$metadata.requestId,
      eventID: expect.stringMatching(UUID),
      readOnly: true,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: '000000000000',
      eventCategory: 'Management',
    });
    expect(roleId).toMatch(/^AROA[A-Z0-9]{16}$/);
  });

  it('reports a refused call with its errorCode and errorMessage, as CloudTrail does', async () => {
    // Prepare
    const bridge = useBridge();
    const { client } = await vend();

    // Act
    await expect(client.send(new AssumeRoleCommand({ RoleArn: READONLY_ROLE, RoleSessionName: 'chained' }))).rejects.toThrow();
    await bridge.drain();

    // Assess
    expect(eventsDelivered().map((event) => event.detail)).toEqual([
      expect.objectContaining({
        eventName: 'AssumeRole',
        errorCode: 'AccessDenied',
        errorMessage: expect.stringMatching(/^User: arn:aws:sts::000000000000:assumed-role\/tvm-demo-readonly\/alice-session is not authorized/),
        readOnly: true,
      }),
    ]);
    expect(keysOf(eventsDelivered()[0]?.detail)).toEqual(expect.arrayContaining(['errorCode', 'errorMessage']));
  });

  it("delivers neither the tvm caller's own requests nor sessions of roles outside the pattern", async () => {
    // Prepare
    const bridge = useBridge();
    const { client: other } = await vend(OTHER_ROLE);

    // Act
    await stsClient().send(new GetCallerIdentityCommand({}));
    await other.send(new GetCallerIdentityCommand({}));
    const { client: target } = await vend();
    await target.send(new GetCallerIdentityCommand({}));
    await bridge.drain();

    // Assess
    expect(eventsDelivered().map((event) => event.detail.userIdentity.arn)).toEqual([
      'arn:aws:sts::000000000000:assumed-role/tvm-demo-readonly/alice-session',
    ]);
    // Two AssumeRole calls and a GetCallerIdentity by tvm, one call by the other role's session.
    expect(bridge.stats()).toMatchObject({ received: 5, skipped: 4, delivered: 1 });
  });

  it('delivers in the order the calls were made', async () => {
    // Prepare
    const bridge = useBridge();
    const { client } = await vend();

    // Act
    await client.send(new GetCallerIdentityCommand({}));
    await expect(client.send(new AssumeRoleCommand({ RoleArn: READONLY_ROLE, RoleSessionName: 'chained' }))).rejects.toThrow();
    await client.send(new GetCallerIdentityCommand({}));
    await bridge.drain();

    // Assess
    expect(eventsDelivered().map((event) => event.detail.eventName)).toEqual(['GetCallerIdentity', 'AssumeRole', 'GetCallerIdentity']);
  });

  it('retries a failed invocation, the same event each time, until the function takes it', async () => {
    // Prepare
    lambda.reply(
      { status: 500 },
      { status: 200, headers: { 'x-amz-function-error': 'Unhandled' }, body: { errorMessage: 'boom', errorType: 'Error' } },
    );
    const bridge = useBridge();
    const { client } = await vend();

    // Act
    await client.send(new GetCallerIdentityCommand({}));
    await bridge.drain();

    // Assess
    const events = eventsDelivered();
    expect(events).toHaveLength(3);
    expect(new Set(events.map((event) => event.detail.eventID)).size).toBe(1);
    expect(new Set(events.map((event) => event.id)).size).toBe(1);
    expect(bridge.stats()).toMatchObject({ delivered: 1, retries: 2, failed: 0, queued: 0 });
  });

  it('gives up after the last attempt, logs it without credentials, and moves on to the next event', async () => {
    // Prepare
    lambda.reply({ status: 500 }, { status: 500 }, { status: 500 });
    const bridge = useBridge({ maxAttempts: 3 });
    const { assumed, client } = await vend();
    const logged: string[] = [];
    const consoleError = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void logged.push(args.join(' ')));

    try {
      // Act
      await client.send(new GetCallerIdentityCommand({}));
      await client.send(new GetCallerIdentityCommand({}));
      await bridge.drain();
    } finally {
      consoleError.mockRestore();
    }

    // Assess
    const events = eventsDelivered();
    expect(events).toHaveLength(4);
    expect(events[3]?.detail.eventID).not.toBe(events[0]?.detail.eventID);
    expect(bridge.stats()).toMatchObject({ delivered: 1, failed: 1, retries: 2 });
    expect(logged).toEqual([expect.stringMatching(/^cloudtrail-bridge: gave up on GetCallerIdentity event .+ after 3 attempts to tvm-dev-recordUse: status 500$/)]);
    const secrets = [assumed.Credentials?.SecretAccessKey, assumed.Credentials?.SessionToken, LOCAL_TVM_CALLER.secretAccessKey] as string[];
    for (const secret of secrets) expect(logged.join('\n')).not.toContain(secret);
  });

  describe('when the function does not answer', () => {
    let hanging: Server;
    let endpoint: string;
    const sockets = new Set<Socket>();

    beforeEach(async () => {
      // Accepts connections and never answers, like a stuck invocation.
      hanging = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
      endpoint = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
    });

    afterEach(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => hanging.close(resolve));
    });

    it('answers STS at once, drops what does not fit the queue, gives up draining in time, and stops without waiting', async () => {
      // Prepare
      const bridge = useBridge({ lambdaEndpoint: endpoint, maxQueue: 1 });
      const { client } = await vend();
      const logged: string[] = [];
      const consoleError = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void logged.push(args.join(' ')));

      try {
        // Act
        const started = Date.now();
        await client.send(new GetCallerIdentityCommand({}));
        await client.send(new GetCallerIdentityCommand({}));
        const answeredMs = Date.now() - started;
        const statsWhileStuck = bridge.stats();
        const drained = await bridge.drain(100).then(
          () => 'drained',
          (error: Error) => error.message,
        );
        const stopStarted = Date.now();
        await bridge.stop();
        const stopMs = Date.now() - stopStarted;

        // Assess
        expect(answeredMs).toBeLessThan(2_000);
        expect(stopMs).toBeLessThan(2_000);
        expect(statsWhileStuck).toMatchObject({ queued: 1, dropped: 1, delivered: 0 });
        expect(drained).toBe('cloudtrail-bridge: 1 event(s) still undelivered after 100 ms');
        expect(logged).toEqual([expect.stringMatching(/^cloudtrail-bridge: queue full \(1\), dropped GetCallerIdentity request /)]);
      } finally {
        consoleError.mockRestore();
      }
    });
  });
});
