// StsCredentialIssuer against a mocked STSClient: the exact AssumeRole input, the response mapping,
// and how each STS failure becomes a domain error. Exceptions are built the way the SDK's
// deserializer builds them: the modeled class where one exists (named `…Exception`) or a plain
// STSServiceException, with the wire code on `Code`.
import 'aws-sdk-client-mock-jest';
import {
  AssumeRoleCommand,
  MalformedPolicyDocumentException,
  PackedPolicyTooLargeException,
  RegionDisabledException,
  STSClient,
  STSServiceException,
} from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { StsCredentialIssuer } from '../../shared/adapters/sts-credential-issuer.js';
import {
  DurationOutOfRangeError,
  ScopeTooLargeError,
  TvmError,
  UpstreamStsError,
} from '../../shared/domain/errors.js';
import type { AssumeRoleRequest } from '../../shared/domain/model.js';
import { failureOf } from '../fixtures/failure.js';


const ROLE_ARN = 'arn:aws:iam::123456789012:role/tvm-dev-readonly';
const POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["*"]}]}';

function anAssumeRoleRequest(overrides: Partial<AssumeRoleRequest> = {}): AssumeRoleRequest {
  return {
    roleArn: ROLE_ARN,
    sessionName: 'alice@example.com',
    sourceIdentity: 'alice@example.com',
    durationSeconds: 900,
    tags: [
      { key: 'tvm:grant', value: 'grant-0001' },
      { key: 'tvm:request', value: 'req-1' },
      { key: 'tvm:principal', value: 'alice@example.com' },
    ],
    ...overrides,
  };
}

const EXPIRATION = new Date('2026-06-01T12:15:00.000Z');
const ASSUMED_ROLE_ARN = 'arn:aws:sts::123456789012:assumed-role/tvm-dev-readonly/alice@example.com';

function aCompleteResponse() {
  return {
    Credentials: {
      AccessKeyId: 'ASIAEXAMPLE000000001',
      SecretAccessKey: 'secret-from-sts',
      SessionToken: 'token-from-sts',
      Expiration: EXPIRATION,
    },
    AssumedRoleUser: { AssumedRoleId: 'AROAEXAMPLE:alice@example.com', Arn: ASSUMED_ROLE_ARN },
    SourceIdentity: 'alice@example.com',
    $metadata: {},
  };
}

/** As the SDK's query-protocol deserializer leaves it: the wire code in `Code`, beside `name`. */
function withWireCode<E extends STSServiceException>(error: E, code: string): E {
  return Object.assign(error, { Code: code, Type: 'Sender' });
}

function genericStsError(code: string, message: string, fault: 'client' | 'server' = 'client'): STSServiceException {
  return withWireCode(new STSServiceException({ name: code, $fault: fault, message, $metadata: { httpStatusCode: 400 } }), code);
}

/** A socket timeout as @smithy/node-http-handler reports it. */
function aSocketTimeout(): Error {
  return Object.assign(new Error('Connection timed out after 3000 ms'), { name: 'TimeoutError' });
}

/** The SDK's connectionTimeout: the socket was destroyed before it connected, nothing sent. */
function aConnectionNeverEstablished(): Error {
  return Object.assign(
    new Error(
      '@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 1000 ms.',
    ),
    { name: 'TimeoutError' },
  );
}

function aRefusedConnection(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' });
}

describe('StsCredentialIssuer', () => {
  const sts = mockClient(STSClient);
  /** The waits between attempts; the pause returns at once. */
  let pauses: number[];
  let issuer: StsCredentialIssuer;

  beforeEach(() => {
    sts.reset();
    pauses = [];
    issuer = new StsCredentialIssuer(new STSClient({ region: 'us-east-1' }), {
      pause: async (milliseconds) => {
        pauses.push(milliseconds);
      },
    });
  });

  describe('the AssumeRole request', () => {
    it('sends exactly the role, session name, source identity, duration, policy, tags and external id', async () => {
      // Prepare
      sts.on(AssumeRoleCommand).resolves(aCompleteResponse());

      // Act
      await issuer.assumeRole(anAssumeRoleRequest({ policy: POLICY, externalId: 'ext-123', durationSeconds: 1800 }));

      // Assess
      const expectedInput = {
        RoleArn: ROLE_ARN,
        RoleSessionName: 'alice@example.com',
        SourceIdentity: 'alice@example.com',
        DurationSeconds: 1800,
        Policy: POLICY,
        Tags: [
          { Key: 'tvm:grant', Value: 'grant-0001' },
          { Key: 'tvm:request', Value: 'req-1' },
          { Key: 'tvm:principal', Value: 'alice@example.com' },
        ],
        ExternalId: 'ext-123',
      };
      expect(sts).toReceiveCommandTimes(AssumeRoleCommand, 1);
      expect(sts).toReceiveCommandWith(AssumeRoleCommand, expectedInput);
      // toReceiveCommandWith matches a subset; the input must hold nothing else.
      expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toEqual(expectedInput);
    });

    it('sends no Policy and no ExternalId when the request has none', async () => {
      // Prepare
      sts.on(AssumeRoleCommand).resolves(aCompleteResponse());

      // Act
      await issuer.assumeRole(anAssumeRoleRequest());

      // Assess
      expect(sts).toReceiveCommandWith(AssumeRoleCommand, {
        RoleArn: ROLE_ARN,
        RoleSessionName: 'alice@example.com',
        SourceIdentity: 'alice@example.com',
        DurationSeconds: 900,
        Tags: [
          { Key: 'tvm:grant', Value: 'grant-0001' },
          { Key: 'tvm:request', Value: 'req-1' },
          { Key: 'tvm:principal', Value: 'alice@example.com' },
        ],
      });
      const input = sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input;
      expect(input?.Policy).toBeUndefined();
      expect(input?.ExternalId).toBeUndefined();
      expect(input?.PolicyArns).toBeUndefined();
      expect(input?.TransitiveTagKeys).toBeUndefined();
    });
  });

  describe('the response', () => {
    it('maps the credentials, with the Expiration Date as an ISO string', async () => {
      // Prepare
      sts.on(AssumeRoleCommand).resolves(aCompleteResponse());

      // Act
      const credentials = await issuer.assumeRole(anAssumeRoleRequest());

      // Assess
      expect(credentials).toEqual({
        accessKeyId: 'ASIAEXAMPLE000000001',
        secretAccessKey: 'secret-from-sts',
        sessionToken: 'token-from-sts',
        expiration: '2026-06-01T12:15:00.000Z',
        assumedRoleArn: ASSUMED_ROLE_ARN,
      });
    });

    const complete = aCompleteResponse();
    it.each([
      ['no Credentials', { ...complete, Credentials: undefined }],
      ['no AccessKeyId', { ...complete, Credentials: { ...complete.Credentials, AccessKeyId: undefined } }],
      ['no SecretAccessKey', { ...complete, Credentials: { ...complete.Credentials, SecretAccessKey: '' } }],
      ['no SessionToken', { ...complete, Credentials: { ...complete.Credentials, SessionToken: undefined } }],
      ['no Expiration', { ...complete, Credentials: { ...complete.Credentials, Expiration: undefined } }],
      ['no AssumedRoleUser', { ...complete, AssumedRoleUser: undefined }],
    ])('throws UpstreamStsError for an incomplete response (%s)', async (_label, response) => {
      // Prepare
      sts.on(AssumeRoleCommand).resolves(response as never);

      // Act
      const error = await failureOf(issuer.assumeRole(anAssumeRoleRequest()));

      // Assess
      expect(error).toBeInstanceOf(UpstreamStsError);
      expect(error).toMatchObject({ code: 'UPSTREAM_STS_ERROR', details: { stsCode: 'IncompleteResponse' } });
    });
  });

  describe('STS errors', () => {
    it.each([
      ['AccessDenied', () => genericStsError('AccessDenied', 'User is not authorized to perform: sts:AssumeRole'), 'AccessDenied'],
      [
        'RegionDisabledException',
        () =>
          withWireCode(
            new RegionDisabledException({ message: 'STS is not activated in this region', $metadata: {} }),
            'RegionDisabledException',
          ),
        'RegionDisabledException',
      ],
      [
        'MalformedPolicyDocument',
        () =>
          withWireCode(
            new MalformedPolicyDocumentException({ message: 'Syntax errors in policy.', $metadata: {} }),
            'MalformedPolicyDocument',
          ),
        'MalformedPolicyDocument',
      ],
      ['a ValidationError about something else', () => genericStsError('ValidationError', "1 validation error detected: Value at 'roleArn'"), 'ValidationError'],
      ['InternalFailure (server fault)', () => genericStsError('InternalFailure', 'internal', 'server'), 'InternalFailure'],
    ])('maps %s to UpstreamStsError naming the STS code', async (_label, makeError, stsCode) => {
      // Prepare
      const stsError = makeError();
      sts.on(AssumeRoleCommand).rejects(stsError);

      // Act
      const error = await failureOf(issuer.assumeRole(anAssumeRoleRequest()));

      // Assess
      expect(error).toBeInstanceOf(UpstreamStsError);
      expect(error).toMatchObject({ code: 'UPSTREAM_STS_ERROR', details: { stsCode } });
      expect((error as Error).cause).toBe(stsError);
    });

    it('maps a ValidationError about DurationSeconds to DurationOutOfRangeError', async () => {
      // Prepare
      sts
        .on(AssumeRoleCommand)
        .rejects(
          genericStsError('ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.'),
        );

      // Act
      const error = await failureOf(issuer.assumeRole(anAssumeRoleRequest({ durationSeconds: 7200 })));

      // Assess
      expect(error).toBeInstanceOf(DurationOutOfRangeError);
      expect((error as TvmError).message).toContain('DurationSeconds');
    });

    it('maps PackedPolicyTooLarge to ScopeTooLargeError', async () => {
      // Prepare
      sts
        .on(AssumeRoleCommand)
        .rejects(
          withWireCode(
            new PackedPolicyTooLargeException({
              message: 'Packed policy consumes 104% of allotted space, please use smaller policy.',
              $metadata: {},
            }),
            'PackedPolicyTooLarge',
          ),
        );

      // Act
      const error = await failureOf(issuer.assumeRole(anAssumeRoleRequest({ policy: POLICY })));

      // Assess
      expect(error).toBeInstanceOf(ScopeTooLargeError);
      expect(error).toMatchObject({ code: 'SCOPE_TOO_LARGE' });
    });

    it.each([
      ['a refused connection', aRefusedConnection(), 'NetworkError'],
      ['a socket timeout', aSocketTimeout(), 'Timeout'],
      ['an aborted request', Object.assign(new Error('Request aborted'), { name: 'AbortError' }), 'Timeout'],
    ])('maps %s to UpstreamStsError', async (_label, networkError, stsCode) => {
      // Prepare
      sts.on(AssumeRoleCommand).rejects(networkError);

      // Act
      const error = await failureOf(issuer.assumeRole(anAssumeRoleRequest()));

      // Assess
      expect(error).toBeInstanceOf(UpstreamStsError);
      expect(error).toMatchObject({ code: 'UPSTREAM_STS_ERROR', details: { stsCode } });
    });

    it('names a modeled exception without a wire code by its class name', async () => {
      // Prepare
      sts.on(AssumeRoleCommand).rejects(new RegionDisabledException({ message: 'STS is not activated', $metadata: {} }));

      // Act
      const error = await failureOf(issuer.assumeRole(anAssumeRoleRequest()));

      // Assess
      expect(error).toBeInstanceOf(UpstreamStsError);
      expect(error).toMatchObject({ details: { stsCode: 'RegionDisabledException' } });
    });

    it('maps something thrown that is not an Error to UpstreamStsError', async () => {
      // Prepare
      sts.on(AssumeRoleCommand).callsFake(() => {
        throw 'socket closed';
      });

      // Act
      const error = await failureOf(issuer.assumeRole(anAssumeRoleRequest()));

      // Assess
      expect(error).toBeInstanceOf(UpstreamStsError);
      expect(error).toMatchObject({ details: { stsCode: 'NetworkError' } });
    });

    it('never puts the STS message, which may name the role or account, into details', async () => {
      // Prepare
      sts.on(AssumeRoleCommand).rejects(genericStsError('AccessDenied', `not authorized to assume ${ROLE_ARN}`));

      // Act
      const error = (await failureOf(issuer.assumeRole(anAssumeRoleRequest()))) as TvmError;

      // Assess
      expect(error.details).toEqual({ stsCode: 'AccessDenied' });
      expect(error.message).toBe('STS AssumeRole failed (AccessDenied)');
    });
  });

  describe('retries', () => {
    const throttled = () => genericStsError('Throttling', 'Rate exceeded');

    it.each([
      ['Throttling', () => throttled()],
      ['ThrottlingException', () => genericStsError('ThrottlingException', 'Rate exceeded')],
      ['RequestLimitExceeded', () => genericStsError('RequestLimitExceeded', 'Request limit exceeded')],
      ['a refused connection', () => aRefusedConnection()],
      ['a connection not established within the connection timeout', () => aConnectionNeverEstablished()],
      ['an unknown host', () => Object.assign(new Error('getaddrinfo ENOTFOUND sts.example'), { code: 'ENOTFOUND' })],
      ['a failed DNS lookup', () => Object.assign(new Error('getaddrinfo EAI_AGAIN sts.example'), { code: 'EAI_AGAIN' })],
      ['a TLS certificate refused before sending', () => Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' })],
    ])('retries %s, which issued nothing, and returns the next success', async (_label, makeError) => {
      // Prepare
      sts.on(AssumeRoleCommand).rejectsOnce(makeError()).rejectsOnce(makeError()).resolves(aCompleteResponse());

      // Act
      const credentials = await issuer.assumeRole(anAssumeRoleRequest());

      // Assess
      expect(credentials.accessKeyId).toBe('ASIAEXAMPLE000000001');
      expect(sts).toReceiveCommandTimes(AssumeRoleCommand, 3);
      expect(pauses).toHaveLength(2);
    });

    it('sends the same AssumeRole input on every attempt', async () => {
      // Prepare
      sts.on(AssumeRoleCommand).rejectsOnce(throttled()).resolves(aCompleteResponse());

      // Act
      await issuer.assumeRole(anAssumeRoleRequest({ policy: POLICY }));

      // Assess
      const inputs = sts.commandCalls(AssumeRoleCommand).map((call) => call.args[0].input);
      expect(inputs).toHaveLength(2);
      expect(inputs[1]).toEqual(inputs[0]);
    });

    it('gives up after 3 attempts with UpstreamStsError naming the last code', async () => {
      // Prepare
      sts.on(AssumeRoleCommand).rejects(throttled());

      // Act
      const error = await failureOf(issuer.assumeRole(anAssumeRoleRequest()));

      // Assess
      expect(sts).toReceiveCommandTimes(AssumeRoleCommand, 3);
      expect(error).toBeInstanceOf(UpstreamStsError);
      expect(error).toMatchObject({ details: { stsCode: 'Throttling' } });
      expect((error as Error).message).toBe('STS AssumeRole failed (Throttling) after 3 attempts');
    });

    it('waits 100–200 ms, then 200–400 ms: at most 600 ms in all', async () => {
      // Prepare
      sts.on(AssumeRoleCommand).rejects(throttled());
      const atMost = new StsCredentialIssuer(new STSClient({ region: 'us-east-1' }), {
        pause: async (milliseconds) => {
          pauses.push(milliseconds);
        },
        random: () => 0.999999,
      });
      const atLeast = new StsCredentialIssuer(new STSClient({ region: 'us-east-1' }), {
        pause: async (milliseconds) => {
          pauses.push(milliseconds);
        },
        random: () => 0,
      });

      // Act
      await failureOf(atMost.assumeRole(anAssumeRoleRequest()));
      await failureOf(atLeast.assumeRole(anAssumeRoleRequest()));

      // Assess
      expect(pauses).toEqual([200, 400, 100, 200]);
    });

    it('starts no retry past the 2-second budget, however many attempts are left', async () => {
      // Prepare: each attempt takes 1.5 s on this clock.
      let clock = 0;
      sts.on(AssumeRoleCommand).callsFake(() => {
        clock += 1_500;
        throw throttled();
      });
      const slow = new StsCredentialIssuer(new STSClient({ region: 'us-east-1' }), {
        pause: async (milliseconds) => {
          clock += milliseconds;
        },
        now: () => clock,
      });

      // Act
      const error = await failureOf(slow.assumeRole(anAssumeRoleRequest()));

      // Assess: the second attempt would start at 1.5 s + its wait; the third could not.
      expect(sts).toReceiveCommandTimes(AssumeRoleCommand, 2);
      expect(error).toMatchObject({ details: { stsCode: 'Throttling' } });
    });

    it.each([
      ['a socket timeout', () => aSocketTimeout(), 'Timeout'],
      ['an aborted request', () => Object.assign(new Error('Request aborted'), { name: 'AbortError' }), 'Timeout'],
      ['a reset connection (STS may have answered)', () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'NetworkError'],
      ['InternalFailure (5xx)', () => genericStsError('InternalFailure', 'internal', 'server'), 'InternalFailure'],
      ['ServiceUnavailable (5xx)', () => genericStsError('ServiceUnavailable', 'unavailable', 'server'), 'ServiceUnavailable'],
      ['AccessDenied', () => genericStsError('AccessDenied', 'not authorized'), 'AccessDenied'],
      ['RegionDisabledException', () => withWireCode(new RegionDisabledException({ message: 'not activated', $metadata: {} }), 'RegionDisabledException'), 'RegionDisabledException'],
      ['MalformedPolicyDocument', () => withWireCode(new MalformedPolicyDocumentException({ message: 'Syntax errors', $metadata: {} }), 'MalformedPolicyDocument'), 'MalformedPolicyDocument'],
    ])('never retries %s: one attempt, then UpstreamStsError', async (_label, makeError, stsCode) => {
      // Prepare: a second attempt would succeed, which is what must not happen.
      sts.on(AssumeRoleCommand).rejectsOnce(makeError()).resolves(aCompleteResponse());

      // Act
      const error = await failureOf(issuer.assumeRole(anAssumeRoleRequest()));

      // Assess
      expect(sts).toReceiveCommandTimes(AssumeRoleCommand, 1);
      expect(pauses).toEqual([]);
      expect(error).toBeInstanceOf(UpstreamStsError);
      expect(error).toMatchObject({ details: { stsCode } });
    });

    it('never retries PackedPolicyTooLarge: one attempt, then ScopeTooLargeError', async () => {
      // Prepare
      sts
        .on(AssumeRoleCommand)
        .rejectsOnce(withWireCode(new PackedPolicyTooLargeException({ message: 'Packed policy consumes 104%', $metadata: {} }), 'PackedPolicyTooLarge'))
        .resolves(aCompleteResponse());

      // Act
      const error = await failureOf(issuer.assumeRole(anAssumeRoleRequest({ policy: POLICY })));

      // Assess
      expect(sts).toReceiveCommandTimes(AssumeRoleCommand, 1);
      expect(error).toBeInstanceOf(ScopeTooLargeError);
    });

    it('does not retry a throttled attempt after a timeout: the timeout ends it', async () => {
      // Prepare
      sts.on(AssumeRoleCommand).rejectsOnce(throttled()).rejectsOnce(aSocketTimeout()).resolves(aCompleteResponse());

      // Act
      const error = await failureOf(issuer.assumeRole(anAssumeRoleRequest()));

      // Assess
      expect(sts).toReceiveCommandTimes(AssumeRoleCommand, 2);
      expect(error).toMatchObject({ details: { stsCode: 'Timeout' } });
    });
  });
});
