// The local STS endpoint, driven through the real @aws-sdk/client-sts (and, where the SDK cannot say
// something, through raw SigV4-signed HTTP). These tests pin the behaviour tvm's STS adapter relies on:
// the response shapes, the error codes and statuses, signature checking and the AssumeRole rules.
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import type { AssumeRoleCommandInput, AssumeRoleCommandOutput } from '@aws-sdk/client-sts';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { LOCAL_TVM_CALLER, loadLocalRoles, NodeSha256, startLocalSts } from '../../local/sts/local-sts.js';
import { xmlShape, xmlValue } from './support/query-protocol.js';
import type { LocalRole, LocalSts, SignedRequestRecord } from '../../local/sts/local-sts.js';
import { AWS_FIXTURES } from '../fixtures/aws-fixtures.js';

// AWS's own examples (see test/fixtures/aws/SOURCES.md).
const FIXTURES = `${AWS_FIXTURES}sts`;
const ACCESS_DENIED_FIXTURE = `${FIXTURES}/sts-error-accessdenied-assumerole-real-403.xml`;
const ASSUME_ROLE_RESPONSE_FIXTURE = `${FIXTURES}/sts-assumerole-sample-response-apiref.xml`;

const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
const READONLY_ROLE = 'arn:aws:iam::000000000000:role/tvm-demo-readonly';
const DEPLOY_ROLE = 'arn:aws:iam::000000000000:role/tvm-demo-deploy';
const UNTRUSTING_ROLE = 'arn:aws:iam::000000000000:role/tvm-test-untrusting';
const UNKNOWN_ROLE = 'arn:aws:iam::000000000000:role/does-not-exist';
const CHAIN_TARGET_ROLE = 'arn:aws:iam::000000000000:role/tvm-test-chain-target';
const ALICE_READONLY_SESSION = 'arn:aws:sts::000000000000:assumed-role/tvm-demo-readonly/alice-session';
const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: 'arn:aws:s3:::tvm-demo/*' }],
});

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** SHA-256 from node:crypto for the test's own signer. */
async function captureError(promise: Promise<unknown>): Promise<STSServiceException> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(STSServiceException);
    return error as STSServiceException;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** `name` is the SDK's exception name: the wire code, or the modeled shape name for modeled errors. */
function expectStsError(error: STSServiceException, expected: { code: string; status: number; name?: string; message?: string | RegExp }): void {
  expect({ code: (error as unknown as { Code?: string }).Code, name: error.name, status: error.$metadata.httpStatusCode }).toEqual({
    code: expected.code,
    name: expected.name ?? expected.code,
    status: expected.status,
  });
  if (typeof expected.message === 'string') expect(error.message).toBe(expected.message);
  if (expected.message instanceof RegExp) expect(error.message).toMatch(expected.message);
}

describe('local STS endpoint', () => {
  let sts: LocalSts;
  let clockOffsetMs = 0;
  const records: SignedRequestRecord[] = [];
  const now = () => new Date(Date.now() + clockOffsetMs);
  const untrustingRole: LocalRole = {
    arn: UNTRUSTING_ROLE,
    maxSessionDurationSeconds: 3600,
    trustedPrincipalArns: ['arn:aws:iam::000000000000:role/someone-else'],
  };
  // Trusts the readonly role and even its session by name: in AWS that would allow role chaining.
  const chainTargetRole: LocalRole = {
    arn: CHAIN_TARGET_ROLE,
    maxSessionDurationSeconds: 3600,
    trustedPrincipalArns: [LOCAL_TVM_CALLER.arn, READONLY_ROLE, ALICE_READONLY_SESSION],
  };

  function client(credentials: Credentials = LOCAL_TVM_CALLER, systemClockOffset = 0): STSClient {
    return new STSClient({ endpoint: sts.url, region: 'us-east-1', credentials, maxAttempts: 1, systemClockOffset });
  }

  function assumeRole(input: Partial<AssumeRoleCommandInput> = {}, caller: STSClient = client()): Promise<AssumeRoleCommandOutput> {
    return caller.send(new AssumeRoleCommand({ RoleArn: READONLY_ROLE, RoleSessionName: 'alice-session', ...input }));
  }

  function vendedCredentials(output: AssumeRoleCommandOutput): Credentials {
    const credentials = output.Credentials;
    if (credentials?.AccessKeyId === undefined || credentials.SecretAccessKey === undefined || credentials.SessionToken === undefined) {
      throw new Error('AssumeRole returned no credentials');
    }
    return { accessKeyId: credentials.AccessKeyId, secretAccessKey: credentials.SecretAccessKey, sessionToken: credentials.SessionToken };
  }

  /** A request signed by @smithy/signature-v4 and sent with node:http, for what the SDK cannot send. */
  async function signedRawRequest(options: {
    params: Record<string, string>;
    method?: 'GET' | 'POST';
    credentials?: Credentials;
    authorization?: string;
  }): Promise<RawResponse> {
    const url = new URL(sts.url);
    const method = options.method ?? 'POST';
    const form = new URLSearchParams(options.params).toString();
    const unsigned = new HttpRequest({
      method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      query: method === 'GET' ? options.params : {},
      headers: { host: url.host, ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: method === 'POST' ? form : undefined,
    });
    const signer = new SignatureV4({ credentials: options.credentials ?? LOCAL_TVM_CALLER, region: 'us-east-1', service: 'sts', sha256: NodeSha256 });
    const signed = await signer.sign(unsigned);
    const headers = { ...signed.headers, ...(options.authorization === undefined ? {} : { authorization: options.authorization }) };
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, method, path: method === 'GET' ? `/?${form}` : '/', headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(method === 'POST' ? form : undefined);
    });
  }

  beforeAll(async () => {
    sts = await startLocalSts({
      port: 0,
      roles: [...loadLocalRoles(), untrustingRole, chainTargetRole],
      callers: [LOCAL_TVM_CALLER],
      now,
      onSignedRequest: (record) => records.push(record),
    });
  });

  afterAll(async () => {
    await sts.close();
  });

  beforeEach(() => {
    clockOffsetMs = 0;
    records.length = 0;
    sts.setFault(undefined);
  });

  describe('AssumeRole', () => {
    it('issues session credentials in the shape AWS returns them', async () => {
      // Prepare
      const before = Date.now();
      const tags = [
        { Key: 'tvm:requester', Value: 'alice@example.com' },
        { Key: 'Project', Value: 'Pegasus' },
      ];

      // Act
      const output = await assumeRole({ DurationSeconds: 1800, SourceIdentity: 'alice', Tags: tags, Policy: POLICY });

      // Assess
      const credentials = output.Credentials;
      expect(credentials?.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
      expect(credentials?.SecretAccessKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
      expect(credentials?.SessionToken?.length).toBeGreaterThan(100);
      const expiration = credentials?.Expiration?.getTime() ?? NaN;
      expect(expiration % 1000).toBe(0);
      expect(expiration).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 1800_000);
      expect(expiration).toBeLessThanOrEqual(Date.now() + 1800_000);
      expect(output.SourceIdentity).toBe('alice');
      expect(output.AssumedRoleUser?.Arn).toBe(ALICE_READONLY_SESSION);
      expect(output.AssumedRoleUser?.AssumedRoleId).toMatch(/^AROA[A-Z0-9]{16}:alice-session$/);
      expect(output.PackedPolicySize).toBeGreaterThan(0);
      expect(output.PackedPolicySize).toBeLessThanOrEqual(100);
      expect(output.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(sts.issuedSessions().find((session) => session.accessKeyId === credentials?.AccessKeyId)).toEqual({
        accessKeyId: credentials?.AccessKeyId,
        roleArn: READONLY_ROLE,
        assumedRoleArn: ALICE_READONLY_SESSION,
        sessionName: 'alice-session',
        sourceIdentity: 'alice',
        tags: [
          { key: 'tvm:requester', value: 'alice@example.com' },
          { key: 'Project', value: 'Pegasus' },
        ],
        policy: POLICY,
        expiration: credentials?.Expiration,
      });
    });

    it('defaults to one hour and omits SourceIdentity and PackedPolicySize when none was passed', async () => {
      // Prepare
      const before = Math.floor(Date.now() / 1000) * 1000;

      // Act
      const output = await assumeRole();

      // Assess
      const expiration = output.Credentials?.Expiration?.getTime() ?? NaN;
      expect(expiration).toBeGreaterThanOrEqual(before + 3600_000);
      expect(expiration).toBeLessThanOrEqual(Date.now() + 3600_000);
      expect(output.SourceIdentity).toBeUndefined();
      expect(output.PackedPolicySize).toBeUndefined();
    });

    it("accepts the role's MaxSessionDuration and a policy of exactly 2,048 characters", async () => {
      // Prepare: pad a valid policy with a Sid to exactly 2,048 characters
      const base = { Version: '2012-10-17', Statement: [{ Sid: '', Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] };
      const padding = 2048 - JSON.stringify(base).length;
      const policy = JSON.stringify({ ...base, Statement: [{ ...base.Statement[0], Sid: 'S'.repeat(padding) }] });
      expect(policy).toHaveLength(2048);

      // Act
      const output = await assumeRole({ RoleArn: DEPLOY_ROLE, DurationSeconds: 43200, Policy: policy });

      // Assess
      expect(output.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
      expect(output.PackedPolicySize).toBe(100);
    });

    it('answers AccessDenied, in AWS wording, for a role that does not exist', async () => {
      // Act
      const error = await captureError(assumeRole({ RoleArn: UNKNOWN_ROLE }));

      // Assess
      expectStsError(error, {
        code: 'AccessDenied',
        status: 403,
        message: `User: ${LOCAL_TVM_CALLER.arn} is not authorized to perform: sts:AssumeRole on resource: ${UNKNOWN_ROLE}`,
      });
      expect(error.$fault).toBe('client');
    });

    it('answers AccessDenied for a role whose trust list does not name the caller', async () => {
      // Act
      const error = await captureError(assumeRole({ RoleArn: UNTRUSTING_ROLE }));

      // Assess
      expectStsError(error, {
        code: 'AccessDenied',
        status: 403,
        message: `User: ${LOCAL_TVM_CALLER.arn} is not authorized to perform: sts:AssumeRole on resource: ${UNTRUSTING_ROLE}`,
      });
    });

    it('does not let vended credentials assume a role (no role chaining)', async () => {
      // Prepare
      const vended = client(vendedCredentials(await assumeRole()));
      const sessionsBefore = sts.issuedSessions().length;

      // Act
      const error = await captureError(assumeRole({ RoleArn: CHAIN_TARGET_ROLE, RoleSessionName: 'chained' }, vended));

      // Assess
      expectStsError(error, {
        code: 'AccessDenied',
        status: 403,
        message: `User: ${ALICE_READONLY_SESSION} is not authorized to perform: sts:AssumeRole on resource: ${CHAIN_TARGET_ROLE}`,
      });
      expect(sts.issuedSessions()).toHaveLength(sessionsBefore);
    });

    const tooManyTags = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    const fiftyFatTags = Array.from({ length: 50 }, (_, i) => ({ Key: `key-${i}`, Value: 'v'.repeat(256) }));
    const paddedPolicy = (length: number) => {
      const base = { Version: '2012-10-17', Statement: [{ Sid: '', Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] };
      return JSON.stringify({ ...base, Statement: [{ ...base.Statement[0], Sid: 'S'.repeat(length - JSON.stringify(base).length) }] });
    };
    const rejected: [string, Partial<AssumeRoleCommandInput>, { code: string; status: number; name?: string; message: string | RegExp }][] = [
      [
        'a one-character session name',
        { RoleSessionName: 'a' },
        { code: 'ValidationError', status: 400, message: "1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2" },
      ],
      [
        'a 65-character session name',
        { RoleSessionName: 's'.repeat(65) },
        { code: 'ValidationError', status: 400, message: /at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64$/ },
      ],
      [
        'a session name with a space and a "!"',
        { RoleSessionName: 'alice smith!' },
        { code: 'ValidationError', status: 400, message: "1 validation error detected: Value 'alice smith!' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*" },
      ],
      [
        'a SourceIdentity beginning with aws:',
        { SourceIdentity: 'aws:alice' },
        { code: 'ValidationError', status: 400, message: "1 validation error detected: Value 'aws:alice' at 'sourceIdentity' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*" },
      ],
      [
        'a one-character SourceIdentity',
        { SourceIdentity: 'a' },
        { code: 'ValidationError', status: 400, message: /at 'sourceIdentity' failed to satisfy constraint: Member must have length greater than or equal to 2$/ },
      ],
      [
        'DurationSeconds 899',
        { DurationSeconds: 899 },
        { code: 'ValidationError', status: 400, message: "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900" },
      ],
      [
        "DurationSeconds one above the role's MaxSessionDuration (3,600)",
        { DurationSeconds: 3601 },
        { code: 'ValidationError', status: 400, message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.' },
      ],
      [
        "DurationSeconds one above the deploy role's MaxSessionDuration (43,200)",
        { RoleArn: DEPLOY_ROLE, DurationSeconds: 43201 },
        { code: 'ValidationError', status: 400, message: "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200" },
      ],
      [
        '51 session tags',
        { Tags: tooManyTags },
        { code: 'ValidationError', status: 400, message: "1 validation error detected: Value with 51 members at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50" },
      ],
      [
        'tag keys that differ only in case',
        { Tags: [{ Key: 'Project', Value: 'a' }, { Key: 'project', Value: 'b' }] },
        { code: 'ValidationError', status: 400, message: 'Duplicate tag keys found. Please note that Tag keys are case insensitive.' },
      ],
      [
        'a tag key with a "#"',
        { Tags: [{ Key: 'cost#centre', Value: 'a' }] },
        { code: 'ValidationError', status: 400, message: /at 'tags\.1\.member\.key' failed to satisfy constraint: Member must satisfy regular expression pattern/ },
      ],
      [
        'a 257-character tag value',
        { Tags: [{ Key: 'k', Value: 'v'.repeat(257) }] },
        { code: 'ValidationError', status: 400, message: /at 'tags\.1\.member\.value' failed to satisfy constraint: Member must have length less than or equal to 256$/ },
      ],
      [
        '51 transitive tag keys',
        { TransitiveTagKeys: Array.from({ length: 51 }, (_, i) => `k${i}`) },
        { code: 'ValidationError', status: 400, message: /at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to 50$/ },
      ],
      [
        'a one-character ExternalId',
        { ExternalId: 'x' },
        { code: 'ValidationError', status: 400, message: /at 'externalId' failed to satisfy constraint: Member must have length greater than or equal to 2$/ },
      ],
      [
        '11 managed policy ARNs',
        { PolicyArns: Array.from({ length: 11 }, (_, i) => ({ arn: `arn:aws:iam::000000000000:policy/p${i}` })) },
        { code: 'ValidationError', status: 400, message: /at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10$/ },
      ],
      [
        'a well-formed policy of 2,049 characters',
        { Policy: paddedPolicy(2049) },
        { code: 'ValidationError', status: 400, message: /^1 validation error detected: Value '.*' at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048$/ },
      ],
      [
        'a policy with a character above U+00FF',
        { Policy: POLICY.replace('tvm-demo', 'tvm-dĕmo') },
        { code: 'ValidationError', status: 400, message: /at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: \[\\u0009\\u000A\\u000D\\u0020-\\u00FF\]\+$/ },
      ],
      [
        'a policy that is not JSON',
        { Policy: '{"Version": "2012-10-17", "Statement": [' },
        { code: 'MalformedPolicyDocument', name: 'MalformedPolicyDocumentException', status: 400, message: 'Syntax errors in policy.' },
      ],
      [
        'a JSON policy without a Statement',
        { Policy: '{"Version": "2012-10-17"}' },
        { code: 'MalformedPolicyDocument', name: 'MalformedPolicyDocumentException', status: 400, message: /Statement/ },
      ],
      [
        '50 tags whose packed size exceeds the budget',
        { Tags: fiftyFatTags },
        { code: 'PackedPolicyTooLarge', name: 'PackedPolicyTooLargeException', status: 400, message: /^Packed size of session tags consumes \d+% of allotted space\.$/ },
      ],
      [
        'a policy and tags that together exceed the packed budget',
        { Policy: paddedPolicy(2000), Tags: [{ Key: 'team', Value: 'x'.repeat(100) }] },
        { code: 'PackedPolicyTooLarge', name: 'PackedPolicyTooLargeException', status: 400, message: /^Packed policy consumes 10\d% of allotted space, please use smaller policy\.$/ },
      ],
      [
        'two malformed parameters at once',
        { RoleSessionName: 'a', DurationSeconds: 100 },
        { code: 'ValidationError', status: 400, message: /^2 validation errors detected: Value 'a' at 'roleSessionName' .*; Value '100' at 'durationSeconds' / },
      ],
    ];

    it.each(rejected)('rejects %s without issuing a session', async (_case, input, expected) => {
      // Prepare
      const sessionsBefore = sts.issuedSessions().length;

      // Act
      const error = await captureError(assumeRole(input));

      // Assess
      expectStsError(error, expected);
      expect(sts.issuedSessions()).toHaveLength(sessionsBefore);
    });

    it('returns the element structure of the API Reference sample response, over GET too', async () => {
      // Prepare
      const fixture = xmlShape(readFileSync(ASSUME_ROLE_RESPONSE_FIXTURE, 'utf8'));

      // Act
      const response = await signedRawRequest({
        method: 'GET',
        params: {
          Action: 'AssumeRole',
          Version: '2011-06-15',
          RoleArn: READONLY_ROLE,
          RoleSessionName: 'TestAR',
          SourceIdentity: 'Alice',
          Policy: POLICY,
        },
      });

      // Assess
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('text/xml');
      expect(xmlShape(response.body)).toEqual(fixture);
      expect(response.headers['x-amzn-requestid']).toBe(xmlValue(response.body, 'RequestId'));
      expect(xmlValue(response.body, 'Expiration')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    });
  });

  describe('GetCallerIdentity', () => {
    it('names the long-term caller', async () => {
      // Act
      const output = await client().send(new GetCallerIdentityCommand({}));

      // Assess
      expect(output.Arn).toBe(LOCAL_TVM_CALLER.arn);
      expect(output.Account).toBe('000000000000');
      expect(output.UserId).toMatch(/^AROA[A-Z0-9]{16}$/);
    });

    it('names the assumed-role session for vended credentials', async () => {
      // Prepare
      const assumed = await assumeRole({ RoleArn: DEPLOY_ROLE, RoleSessionName: 'bob-deploy' });

      // Act
      const output = await client(vendedCredentials(assumed)).send(new GetCallerIdentityCommand({}));

      // Assess
      expect(output).toMatchObject({
        Arn: 'arn:aws:sts::000000000000:assumed-role/tvm-demo-deploy/bob-deploy',
        UserId: assumed.AssumedRoleUser?.AssumedRoleId,
        Account: '000000000000',
      });
    });
  });

  describe('request authentication', () => {
    it('rejects a request signed with the wrong secret', async () => {
      // Prepare
      const forger = client({ accessKeyId: LOCAL_TVM_CALLER.accessKeyId, secretAccessKey: 'x'.repeat(40) });

      // Act
      const error = await captureError(forger.send(new GetCallerIdentityCommand({})));

      // Assess
      expectStsError(error, { code: 'SignatureDoesNotMatch', status: 403, message: /^The request signature we calculated does not match/ });
    });

    it('rejects an access key it never issued', async () => {
      // Act
      const error = await captureError(client({ accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'x'.repeat(40) }).send(new GetCallerIdentityCommand({})));

      // Assess
      expectStsError(error, { code: 'InvalidClientTokenId', status: 403, message: 'The security token included in the request is invalid.' });
    });

    it('rejects vended credentials sent with the wrong session token', async () => {
      // Prepare
      const vended = vendedCredentials(await assumeRole());

      // Act
      const error = await captureError(client({ ...vended, sessionToken: 'not-the-token' }).send(new GetCallerIdentityCommand({})));

      // Assess
      expectStsError(error, { code: 'InvalidClientTokenId', status: 403 });
    });

    it('accepts vended credentials until they expire, then answers ExpiredToken', async () => {
      // Prepare
      const vended = vendedCredentials(await assumeRole({ DurationSeconds: 900 }));
      const [session] = sts.issuedSessions().slice(-1);
      const untilExpiry = (session?.expiration.getTime() ?? NaN) - Date.now();
      // Clients whose clocks agree with the server's, so only the expiry differs between the calls.
      clockOffsetMs = untilExpiry - 1000;
      const justBefore = await client(vended, clockOffsetMs).send(new GetCallerIdentityCommand({}));
      clockOffsetMs = untilExpiry + 1000;

      // Act
      const error = await captureError(client(vended, clockOffsetMs).send(new GetCallerIdentityCommand({})));

      // Assess
      expect(justBefore.Arn).toBe(ALICE_READONLY_SESSION);
      expectStsError(error, { code: 'ExpiredToken', status: 403, message: 'The security token included in the request is expired' });
    });

    it('rejects a signature dated more than 15 minutes from the server clock', async () => {
      // Prepare
      clockOffsetMs = 16 * 60 * 1000;

      // Act
      const error = await captureError(client().send(new GetCallerIdentityCommand({})));

      // Assess
      expectStsError(error, { code: 'SignatureDoesNotMatch', status: 403, message: /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/ });
    });

    it('answers an unsigned request with 403 MissingAuthenticationToken in the ErrorResponse shape', async () => {
      // Prepare
      const fixture = xmlShape(readFileSync(ACCESS_DENIED_FIXTURE, 'utf8'));

      // Act
      const response = await fetch(`${sts.url}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'Action=GetCallerIdentity&Version=2011-06-15',
      });
      const body = await response.text();

      // Assess
      expect(response.status).toBe(403);
      expect(response.headers.get('content-type')).toBe('text/xml');
      expect(xmlShape(body)).toEqual(fixture);
      expect(xmlValue(body, 'Code')).toBe('MissingAuthenticationToken');
      expect(xmlValue(body, 'Type')).toBe('Sender');
      expect(response.headers.get('x-amzn-requestid')).toBe(xmlValue(body, 'RequestId'));
      expect(records).toEqual([]);
    });

    it('answers a malformed Authorization header with 400 IncompleteSignature', async () => {
      // Act
      const response = await signedRawRequest({
        params: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
        authorization: `AWS4-HMAC-SHA256 Credential=${LOCAL_TVM_CALLER.accessKeyId}/20260101/us-east-1/sts/aws4_request`,
      });

      // Assess
      expect(response.status).toBe(400);
      expect(xmlValue(response.body, 'Code')).toBe('IncompleteSignature');
      expect(xmlValue(response.body, 'Message')).toBe(
        "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.",
      );
      expect(records).toEqual([]);
    });
  });

  describe('errors on the wire', () => {
    it("matches the element structure and message format of AWS's AccessDenied response", async () => {
      // Prepare
      const fixtureXml = readFileSync(ACCESS_DENIED_FIXTURE, 'utf8');
      const messageFormat = /^User: .+ is not authorized to perform: sts:AssumeRole on resource: .+$/;
      expect(xmlValue(fixtureXml, 'Message')).toMatch(messageFormat);

      // Act
      const response = await signedRawRequest({
        params: { Action: 'AssumeRole', Version: '2011-06-15', RoleArn: UNKNOWN_ROLE, RoleSessionName: 'alice' },
      });

      // Assess
      expect(response.status).toBe(403);
      expect(xmlShape(response.body)).toEqual(xmlShape(fixtureXml));
      expect(xmlShape(response.body).namespace).toBe(STS_NAMESPACE);
      expect(xmlValue(response.body, 'Type')).toBe(xmlValue(fixtureXml, 'Type'));
      expect(xmlValue(response.body, 'Code')).toBe(xmlValue(fixtureXml, 'Code'));
      expect(xmlValue(response.body, 'Message')).toMatch(messageFormat);
    });

    it('escapes caller input echoed in an error message', async () => {
      // Act
      const response = await signedRawRequest({
        params: { Action: 'AssumeRole', Version: '2011-06-15', RoleArn: READONLY_ROLE, RoleSessionName: '<a&b>' },
      });

      // Assess
      expect(response.status).toBe(400);
      expect(response.body).toContain("Value '&lt;a&amp;b&gt;' at 'roleSessionName'");
      expect(xmlShape(response.body).paths).toEqual(xmlShape(readFileSync(ACCESS_DENIED_FIXTURE, 'utf8')).paths);
    });

    it('answers an action STS does not have with 400 InvalidAction', async () => {
      // Act
      const response = await signedRawRequest({ params: { Action: 'GetSessionTokn', Version: '2011-06-15' } });

      // Assess
      expect(response.status).toBe(400);
      expect(xmlValue(response.body, 'Code')).toBe('InvalidAction');
      expect(xmlValue(response.body, 'Message')).toBe('Could not find operation GetSessionTokn for version 2011-06-15');
    });
  });

  describe('fault injection', () => {
    it('fails exactly the next `remaining` requests with the injected error', async () => {
      // Prepare
      sts.setFault({ code: 'Throttling', status: 400, message: 'Rate exceeded', remaining: 2 });
      const caller = client();

      // Act
      const first = await captureError(caller.send(new GetCallerIdentityCommand({})));
      const second = await captureError(assumeRole({}, caller));
      const third = await caller.send(new GetCallerIdentityCommand({}));

      // Assess
      expectStsError(first, { code: 'Throttling', status: 400, message: 'Rate exceeded' });
      expectStsError(second, { code: 'Throttling', status: 400 });
      expect(third.Arn).toBe(LOCAL_TVM_CALLER.arn);
    });

    it("scoped to a SourceIdentity, fails and counts only that caller's AssumeRole: other requests on the shared endpoint pass untouched", async () => {
      // Prepare
      sts.setFault({ code: 'Throttling', status: 400, remaining: 2, sourceIdentity: 'alice@example.com' });
      const caller = client();

      // Act
      const identity = await caller.send(new GetCallerIdentityCommand({}));
      const someoneElse = await assumeRole({ SourceIdentity: 'bob@example.com' }, caller);
      const unnamed = await assumeRole({}, caller);
      const first = await captureError(assumeRole({ SourceIdentity: 'alice@example.com' }, caller));
      const second = await captureError(assumeRole({ SourceIdentity: 'alice@example.com' }, caller));
      const third = await assumeRole({ SourceIdentity: 'alice@example.com' }, caller);

      // Assess
      expect(identity.Arn).toBe(LOCAL_TVM_CALLER.arn);
      expect([someoneElse, unnamed].map((output) => output.SourceIdentity)).toEqual(['bob@example.com', undefined]);
      expectStsError(first, { code: 'Throttling', status: 400 });
      expectStsError(second, { code: 'Throttling', status: 400 });
      expect(third.SourceIdentity).toBe('alice@example.com');
    });

    it('keeps failing until cleared when no count is given, with a Receiver fault for 5xx', async () => {
      // Prepare
      sts.setFault({ code: 'InternalFailure', status: 500 });
      const caller = client();

      // Act
      const errors = [
        await captureError(caller.send(new GetCallerIdentityCommand({}))),
        await captureError(caller.send(new GetCallerIdentityCommand({}))),
        await captureError(caller.send(new GetCallerIdentityCommand({}))),
      ];
      sts.setFault(undefined);
      const afterClearing = await caller.send(new GetCallerIdentityCommand({}));

      // Assess
      for (const error of errors) {
        expectStsError(error, { code: 'InternalFailure', status: 500 });
        expect(error.$fault).toBe('server');
      }
      expect(afterClearing.Arn).toBe(LOCAL_TVM_CALLER.arn);
    });
  });

  describe('signed-request records', () => {
    it('records successes with the identity and failures with the error, keyed by access key', async () => {
      // Prepare
      const forger = client({ accessKeyId: LOCAL_TVM_CALLER.accessKeyId, secretAccessKey: 'x'.repeat(40) });

      // Act
      const assumed = await assumeRole();
      await captureError(forger.send(new GetCallerIdentityCommand({})));

      // Assess
      expect(records).toEqual([
        {
          eventTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
          eventSource: 'sts.amazonaws.com',
          eventName: 'AssumeRole',
          accessKeyId: LOCAL_TVM_CALLER.accessKeyId,
          sourceIPAddress: '127.0.0.1',
          userAgent: expect.stringContaining('aws-sdk-js'),
          requestId: assumed.$metadata.requestId,
          identityArn: LOCAL_TVM_CALLER.arn,
        },
        {
          eventTime: expect.any(String),
          eventSource: 'sts.amazonaws.com',
          eventName: 'GetCallerIdentity',
          accessKeyId: LOCAL_TVM_CALLER.accessKeyId,
          sourceIPAddress: '127.0.0.1',
          userAgent: expect.any(String),
          requestId: expect.any(String),
          errorCode: 'SignatureDoesNotMatch',
          errorMessage: expect.stringMatching(/^The request signature we calculated/),
        },
      ]);
    });

    it('tells which issued session signed a request, with what CloudTrail says about it', async () => {
      // Prepare
      const before = new Date();
      const assumed = await assumeRole({ RoleSessionName: 'alice-session', SourceIdentity: 'alice@example.com' });
      const session = client(vendedCredentials(assumed));
      records.length = 0;

      // Act
      await session.send(new GetCallerIdentityCommand({}));

      // Assess
      expect(records).toEqual([
        {
          eventTime: expect.any(String),
          eventSource: 'sts.amazonaws.com',
          eventName: 'GetCallerIdentity',
          accessKeyId: assumed.Credentials?.AccessKeyId,
          sourceIPAddress: '127.0.0.1',
          userAgent: expect.stringContaining('aws-sdk-js'),
          requestId: expect.any(String),
          identityArn: ALICE_READONLY_SESSION,
          session: {
            roleArn: READONLY_ROLE,
            assumedRoleArn: ALICE_READONLY_SESSION,
            principalId: assumed.AssumedRoleUser?.AssumedRoleId,
            sessionName: 'alice-session',
            sourceIdentity: 'alice@example.com',
            issuedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
            accountId: '000000000000',
          },
        },
      ]);
      const issuedAt = new Date(records[0]?.session?.issuedAt ?? NaN).getTime();
      expect(issuedAt).toBeGreaterThanOrEqual(before.getTime());
      expect(issuedAt).toBeLessThanOrEqual(Date.now());
    });

    it('names the session of a refused request too, but not the caller of a request it cannot authenticate', async () => {
      // Prepare
      const vended = vendedCredentials(await assumeRole({ RoleSessionName: 'alice-session' }));
      const session = client(vended);
      const forger = client({ ...vended, secretAccessKey: 'x'.repeat(40) });
      records.length = 0;

      // Act
      await captureError(assumeRole({ RoleArn: CHAIN_TARGET_ROLE }, session));
      await captureError(forger.send(new GetCallerIdentityCommand({})));

      // Assess
      expect(records.map((record) => ({ errorCode: record.errorCode, session: record.session?.sessionName }))).toEqual([
        { errorCode: 'AccessDenied', session: 'alice-session' },
        { errorCode: 'SignatureDoesNotMatch', session: undefined },
      ]);
      expect(records[0]).not.toHaveProperty('session.sourceIdentity');
    });
  });
});

describe('local STS endpoint when something inside it throws', () => {
  let sts: LocalSts;
  // A role whose trust list is not a list makes the trust check throw a TypeError.
  const brokenRole = { arn: 'arn:aws:iam::000000000000:role/broken', maxSessionDurationSeconds: 3600, trustedPrincipalArns: null } as unknown as LocalRole;

  beforeAll(async () => {
    sts = await startLocalSts({
      roles: [brokenRole],
      callers: [LOCAL_TVM_CALLER],
      onSignedRequest: () => {
        throw new Error('listener bug');
      },
    });
  });

  afterAll(async () => {
    await sts.close();
  });

  it('answers 500 InternalFailure and keeps serving', async () => {
    // Prepare
    const logged: unknown[][] = [];
    const originalConsoleError = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    const caller = new STSClient({ endpoint: sts.url, region: 'us-east-1', credentials: LOCAL_TVM_CALLER, maxAttempts: 1 });

    try {
      // Act
      const error = await captureError(caller.send(new AssumeRoleCommand({ RoleArn: brokenRole.arn, RoleSessionName: 'alice' })));
      const next = await caller.send(new GetCallerIdentityCommand({}));

      // Assess
      expectStsError(error, {
        code: 'InternalFailure',
        status: 500,
        message: 'The request processing has failed because of an unknown error, exception or failure.',
      });
      expect(next.Arn).toBe(LOCAL_TVM_CALLER.arn);
      expect(logged.map(([message]) => message)).toEqual([
        'local STS: unexpected error',
        'local STS: onSignedRequest threw',
        'local STS: onSignedRequest threw',
      ]);
    } finally {
      console.error = originalConsoleError;
    }
  });
});
