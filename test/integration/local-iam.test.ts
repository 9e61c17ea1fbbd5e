// The local endpoint's IAM calls and the Deny enforcement tvm's revocations rely on, driven through the
// real @aws-sdk/client-iam and @aws-sdk/client-sts (and, for the wire format, raw SigV4-signed HTTP).
// tvm cuts off live sessions by writing an inline policy on the target role; these tests pin that
// doing so locally has the effect it has in AWS.
import { readFileSync } from 'node:fs';
import {
  DeleteRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  IAMServiceException,
  LimitExceededException,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetAccessKeyInfoCommand, GetCallerIdentityCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import type { AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { LOCAL_TVM_CALLER, loadLocalRoles, NodeSha256, startLocalSts } from '../../local/sts/local-sts.js';
import { xmlShape, xmlValue } from './support/query-protocol.js';
import type { LocalSts } from '../../local/sts/local-sts.js';
import { failureOf } from '../fixtures/failure.js';
import { AWS_FIXTURES } from '../fixtures/aws-fixtures.js';

// AWS's own policy examples (see test/fixtures/aws/SOURCES.md).
const REVOKE_OLDER_SESSIONS_FIXTURE = `${AWS_FIXTURES}policies/policy-deny-older-sessions-tokenissuetime-iam-userguide.json`;
const REVOKE_OLDER_SESSIONS_FIXTURE_DATE = '2014-05-07T23:47:00Z';
const DENY_BY_USERID_AND_SOURCE_IDENTITY_FIXTURE = `${AWS_FIXTURES}policies/policy-scp-deny-by-userid-and-sourceidentity-aws-security-blog.json`;

const IAM_NAMESPACE = 'https://iam.amazonaws.com/doc/2010-05-08/';
const ACCOUNT = '000000000000';
const READONLY_ROLE_NAME = 'tvm-demo-readonly';
const READONLY_ROLE = `arn:aws:iam::${ACCOUNT}:role/${READONLY_ROLE_NAME}`;
const DEPLOY_ROLE_NAME = 'tvm-demo-deploy';
/** Every local role, with no inline policy yet. */
const NO_POLICIES = Object.fromEntries(
  loadLocalRoles()
    .filter((role) => role.arn.split(':')[4] === '000000000000')
    .map((role) => [role.arn.slice(role.arn.lastIndexOf('/') + 1), {}]),
);
// The second account (a target account of tvm's): a namesake of a role in tvm's, and the revoker.
const TARGET_OPS_ROLE = 'arn:aws:iam::111111111111:role/tvm-demo-ops';
const TARGET_REVOKER_ROLE = 'arn:aws:iam::111111111111:role/TvmRevoker-dev';
const DEPLOY_ROLE = `arn:aws:iam::${ACCOUNT}:role/${DEPLOY_ROLE_NAME}`;
const REVOCATIONS = 'tvm-revocations';

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A vended session: its credentials, a client signing with them, and the ARN AWS would name it by. */
interface Session {
  credentials: Credentials & { sessionToken: string };
  sts: STSClient;
  arn: string;
}

type Statement = Record<string, unknown>;

function policy(...statements: Statement[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

function denyAll(condition?: Record<string, Record<string, unknown>>): Statement {
  return { Effect: 'Deny', Action: '*', Resource: '*', ...(condition === undefined ? {} : { Condition: condition }) };
}

/** A valid, inert policy whose size as IAM counts it (whitespace out) is exactly `size`. */
function policyOfSize(size: number): string {
  const padded = (sid: string) => policy({ Sid: sid, Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::tvm-demo/*' });
  const document = padded('S'.repeat(size - padded('').length));
  expect(document).toHaveLength(size);
  return document;
}

/** SHA-256 from node:crypto for the test's own signer. */
/** What both SDKs' service exceptions carry: the exception name, the wire code, the status, the message. */
function describeError(error: unknown): { name: string; code: string | undefined; status: number | undefined; message: string } {
  if (!(error instanceof IAMServiceException) && !(error instanceof STSServiceException)) throw error;
  return {
    name: error.name,
    code: (error as unknown as { Code?: string }).Code,
    status: error.$metadata.httpStatusCode,
    message: error.message,
  };
}

describe('local IAM endpoint and Deny enforcement', () => {
  let endpoint: LocalSts;
  let clockOffsetMs = 0;
  const now = () => new Date(Date.now() + clockOffsetMs);

  function iam(credentials: Credentials = LOCAL_TVM_CALLER): IAMClient {
    return new IAMClient({ endpoint: endpoint.iamUrl, region: 'us-east-1', credentials, maxAttempts: 1, systemClockOffset: clockOffsetMs });
  }

  function sts(credentials: Credentials = LOCAL_TVM_CALLER): STSClient {
    return new STSClient({ endpoint: endpoint.url, region: 'us-east-1', credentials, maxAttempts: 1, systemClockOffset: clockOffsetMs });
  }

  async function vend(input: Partial<AssumeRoleCommandInput> & { RoleSessionName: string }): Promise<Session> {
    const output = await sts().send(new AssumeRoleCommand({ RoleArn: READONLY_ROLE, ...input }));
    const { AccessKeyId, SecretAccessKey, SessionToken } = output.Credentials ?? {};
    if (AccessKeyId === undefined || SecretAccessKey === undefined || SessionToken === undefined) throw new Error('AssumeRole returned no credentials');
    const credentials = { accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey, sessionToken: SessionToken };
    return { credentials, sts: sts(credentials), arn: output.AssumedRoleUser?.Arn ?? '' };
  }

  function putRolePolicy(document: string, roleName = READONLY_ROLE_NAME, policyName = REVOCATIONS): Promise<unknown> {
    return iam().send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName, PolicyDocument: document }));
  }

  function getAccessKeyInfo(session: Session): Promise<unknown> {
    return session.sts.send(new GetAccessKeyInfoCommand({ AccessKeyId: session.credentials.accessKeyId }));
  }

  /** Which of the sessions an explicit deny stops from calling GetAccessKeyInfo (any other failure throws). */
  async function deniedAmong(sessions: Record<string, Session>): Promise<string[]> {
    const denied: string[] = [];
    for (const [name, session] of Object.entries(sessions)) {
      try {
        await getAccessKeyInfo(session);
      } catch (error) {
        const { code, message } = describeError(error);
        if (code !== 'AccessDenied' || !message.endsWith('with an explicit deny in an identity-based policy')) throw error;
        denied.push(name);
      }
    }
    return denied;
  }

  /** The issue times every session so far precedes: now + 1 s, in whole seconds as the console writes it. */
  function cutoffAfterNow(): string {
    return new Date(Math.floor((now().getTime() + 1000) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  }

  /** Moves the endpoint's clock (and the clients', so signatures stay current) past `cutoffAfterNow()`. */
  function passCutoff(): void {
    clockOffsetMs += 2000;
  }

  /** A request signed by @smithy/signature-v4 and sent with fetch, to see the bytes on the wire. */
  async function signedRawRequest(params: Record<string, string>, service: 'iam' | 'sts' = 'iam'): Promise<{ status: number; body: string }> {
    const url = new URL(endpoint.iamUrl);
    const form = new URLSearchParams(params).toString();
    const unsigned = new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    const signer = new SignatureV4({ credentials: LOCAL_TVM_CALLER, region: 'us-east-1', service, sha256: NodeSha256 });
    const signed = await signer.sign(unsigned);
    const response = await fetch(`${endpoint.iamUrl}/`, { method: 'POST', headers: signed.headers, body: form });
    return { status: response.status, body: await response.text() };
  }

  beforeEach(async () => {
    clockOffsetMs = 0;
    endpoint = await startLocalSts({ port: 0, roles: loadLocalRoles(), callers: [LOCAL_TVM_CALLER], now });
  });

  afterEach(async () => {
    await endpoint.close();
  });

  describe('inline role policies', () => {
    it('stores a policy as sent, returns it URL-encoded, and deletes it', async () => {
      // Prepare: pretty-printed, with characters that URL encoding must escape
      const document = JSON.stringify(
        { Version: '2012-10-17', Statement: [{ Sid: 'RevokeAlice', ...denyAll({ StringEquals: { 'aws:SourceIdentity': "alice+o'hara@example.com" } }) }] },
        null,
        2,
      );

      // Act
      const put = await putRolePolicy(document);
      const got = await iam().send(new GetRolePolicyCommand({ RoleName: READONLY_ROLE_NAME, PolicyName: REVOCATIONS }));
      const stored = endpoint.rolePolicies();
      const overHttp: unknown = await (await fetch(`${endpoint.url}/_local/role-policies`)).json();
      const deleted = await iam().send(new DeleteRolePolicyCommand({ RoleName: READONLY_ROLE_NAME, PolicyName: REVOCATIONS }));
      const afterDelete = describeError(await failureOf(iam().send(new GetRolePolicyCommand({ RoleName: READONLY_ROLE_NAME, PolicyName: REVOCATIONS }))));

      // Assess
      expect(put).toMatchObject({ $metadata: { httpStatusCode: 200, requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) } });
      expect(got).toMatchObject({ RoleName: READONLY_ROLE_NAME, PolicyName: REVOCATIONS });
      // The SDK does not decode it; RFC 3986 leaves only unreserved characters unescaped.
      expect(got.PolicyDocument).toMatch(/^[A-Za-z0-9%._~-]+$/);
      expect(decodeURIComponent(got.PolicyDocument ?? '')).toBe(document);
      expect(stored).toEqual({ ...NO_POLICIES, [READONLY_ROLE_NAME]: { [REVOCATIONS]: document } });
      expect(overHttp).toEqual(stored);
      expect(deleted.$metadata.httpStatusCode).toBe(200);
      expect(afterDelete).toEqual({
        name: 'NoSuchEntityException',
        code: 'NoSuchEntity',
        status: 404,
        message: `The role policy with name ${REVOCATIONS} cannot be found.`,
      });
      expect(endpoint.rolePolicies()[READONLY_ROLE_NAME]).toEqual({});
    });

    it('replaces a policy of the same name and keeps policies of other names', async () => {
      // Prepare
      await putRolePolicy(policy(denyAll({ StringEquals: { 'aws:SourceIdentity': 'alice' } })));
      await putRolePolicy(policyOfSize(500), READONLY_ROLE_NAME, 'other');
      const replacement = policy(denyAll({ StringEquals: { 'aws:SourceIdentity': 'bob' } }));

      // Act
      await putRolePolicy(replacement);

      // Assess
      expect(endpoint.rolePolicies()[READONLY_ROLE_NAME]).toEqual({ [REVOCATIONS]: replacement, other: policyOfSize(500) });
    });

    it('answers in the IAM namespace with the GetRolePolicy and ErrorResponse element structure', async () => {
      // Prepare
      await putRolePolicy(policy(denyAll()));

      // Act
      const found = await signedRawRequest({ Action: 'GetRolePolicy', Version: '2010-05-08', RoleName: READONLY_ROLE_NAME, PolicyName: REVOCATIONS });
      const missing = await signedRawRequest({ Action: 'GetRolePolicy', Version: '2010-05-08', RoleName: 'no-such-role', PolicyName: REVOCATIONS });

      // Assess
      expect(found.status).toBe(200);
      expect(xmlShape(found.body)).toEqual({
        namespace: IAM_NAMESPACE,
        paths: [
          'GetRolePolicyResponse',
          'GetRolePolicyResponse/GetRolePolicyResult',
          'GetRolePolicyResponse/GetRolePolicyResult/PolicyName',
          'GetRolePolicyResponse/GetRolePolicyResult/RoleName',
          'GetRolePolicyResponse/GetRolePolicyResult/PolicyDocument',
          'GetRolePolicyResponse/ResponseMetadata',
          'GetRolePolicyResponse/ResponseMetadata/RequestId',
        ],
      });
      expect(missing.status).toBe(404);
      expect(xmlShape(missing.body)).toEqual({
        namespace: IAM_NAMESPACE,
        paths: ['ErrorResponse', 'ErrorResponse/Error', 'ErrorResponse/Error/Type', 'ErrorResponse/Error/Code', 'ErrorResponse/Error/Message', 'ErrorResponse/RequestId'],
      });
      expect(xmlValue(missing.body, 'Type')).toBe('Sender');
      expect(xmlValue(missing.body, 'Code')).toBe('NoSuchEntity');
    });

    it('refuses an IAM request whose signature is scoped to STS', async () => {
      // Act
      const response = await signedRawRequest({ Action: 'GetRolePolicy', Version: '2010-05-08', RoleName: READONLY_ROLE_NAME, PolicyName: REVOCATIONS }, 'sts');

      // Assess
      expect(response.status).toBe(403);
      expect(xmlShape(response.body).namespace).toBe(IAM_NAMESPACE);
      expect(xmlValue(response.body, 'Code')).toBe('SignatureDoesNotMatch');
      expect(xmlValue(response.body, 'Message')).toBe("Credential should be scoped to correct service: 'iam'. ");
    });

    const noSuchEntity: [string, () => Promise<unknown>, string][] = [
      [
        'PutRolePolicy on an unknown role',
        () => iam().send(new PutRolePolicyCommand({ RoleName: 'no-such-role', PolicyName: REVOCATIONS, PolicyDocument: policy(denyAll()) })),
        'The role with name no-such-role cannot be found.',
      ],
      [
        'GetRolePolicy on an unknown role',
        () => iam().send(new GetRolePolicyCommand({ RoleName: 'no-such-role', PolicyName: REVOCATIONS })),
        'The role with name no-such-role cannot be found.',
      ],
      [
        'GetRolePolicy of an unknown policy',
        () => iam().send(new GetRolePolicyCommand({ RoleName: READONLY_ROLE_NAME, PolicyName: 'no-such-policy' })),
        'The role policy with name no-such-policy cannot be found.',
      ],
      [
        'DeleteRolePolicy of an unknown policy',
        () => iam().send(new DeleteRolePolicyCommand({ RoleName: READONLY_ROLE_NAME, PolicyName: 'no-such-policy' })),
        'The role policy with name no-such-policy cannot be found.',
      ],
      [
        'DeleteRolePolicy on an unknown role',
        () => iam().send(new DeleteRolePolicyCommand({ RoleName: 'no-such-role', PolicyName: REVOCATIONS })),
        'The role with name no-such-role cannot be found.',
      ],
    ];

    it.each(noSuchEntity)('answers 404 NoSuchEntity to %s', async (_case, call, message) => {
      // Act
      const error = await failureOf(call());

      // Assess
      expect(error).toBeInstanceOf(NoSuchEntityException);
      expect(describeError(error)).toEqual({ name: 'NoSuchEntityException', code: 'NoSuchEntity', status: 404, message });
      expect(endpoint.rolePolicies()).toEqual(NO_POLICIES);
    });

    const malformed: [string, string, string][] = [
      ['a document that is not JSON', '{"Version": "2012-10-17", "Statement": [', 'Syntax errors in policy.'],
      ['a document without a Statement', '{"Version": "2012-10-17"}', 'The policy must contain at least one statement in a Statement element'],
      ['a document with an empty Statement list', '{"Version": "2012-10-17", "Statement": []}', 'The policy must contain at least one statement in a Statement element'],
      ['an identity policy naming a Principal', policy({ ...denyAll(), Principal: '*' }), 'Policy document should not specify a principal.'],
    ];

    it.each(malformed)('answers 400 MalformedPolicyDocument to %s and stores nothing', async (_case, document, message) => {
      // Act
      const error = await failureOf(putRolePolicy(document));

      // Assess
      expect(error).toBeInstanceOf(MalformedPolicyDocumentException);
      expect(describeError(error)).toEqual({ name: 'MalformedPolicyDocumentException', code: 'MalformedPolicyDocument', status: 400, message });
      expect(endpoint.rolePolicies()[READONLY_ROLE_NAME]).toEqual({});
    });

    const invalid: [string, { RoleName: string; PolicyName: string }, string][] = [
      [
        'a role name with a space',
        { RoleName: 'tvm demo', PolicyName: REVOCATIONS },
        "1 validation error detected: Value 'tvm demo' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+",
      ],
      [
        'a 129-character policy name',
        { RoleName: READONLY_ROLE_NAME, PolicyName: 'p'.repeat(129) },
        `1 validation error detected: Value '${'p'.repeat(129)}' at 'policyName' failed to satisfy constraint: Member must have length less than or equal to 128`,
      ],
      [
        'a policy name with a slash',
        { RoleName: READONLY_ROLE_NAME, PolicyName: 'tvm/revocations' },
        "1 validation error detected: Value 'tvm/revocations' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+",
      ],
    ];

    it.each(invalid)('answers 400 ValidationError to %s', async (_case, names, message) => {
      // Act
      const error = await failureOf(iam().send(new PutRolePolicyCommand({ ...names, PolicyDocument: policy(denyAll()) })));

      // Assess
      expect(describeError(error)).toEqual({ name: 'ValidationError', code: 'ValidationError', status: 400, message });
    });

    it("holds a role's inline policies to 10,240 characters in total, whitespace not counted", async () => {
      // Prepare: two policies that fill the quota exactly, the second pretty-printed
      await putRolePolicy(policyOfSize(6000), READONLY_ROLE_NAME, 'first');
      const exactFit = JSON.stringify(JSON.parse(policyOfSize(4240)), null, 4);
      expect(exactFit.length).toBeGreaterThan(4240);
      await putRolePolicy(exactFit, READONLY_ROLE_NAME, 'second');

      // Act
      const oneOver = await failureOf(putRolePolicy(policyOfSize(4241), READONLY_ROLE_NAME, 'second'));
      const onAnotherRole = await putRolePolicy(policyOfSize(10240), DEPLOY_ROLE_NAME, 'big');
      const aloneOver = await failureOf(putRolePolicy(policyOfSize(10241), DEPLOY_ROLE_NAME, 'big'));

      // Assess
      expect(oneOver).toBeInstanceOf(LimitExceededException);
      expect(describeError(oneOver)).toEqual({
        name: 'LimitExceededException',
        code: 'LimitExceeded',
        status: 409,
        message: `Maximum policy size of 10240 bytes exceeded for role ${READONLY_ROLE_NAME}`,
      });
      expect(endpoint.rolePolicies()[READONLY_ROLE_NAME]).toEqual({ first: policyOfSize(6000), second: exactFit });
      expect(onAnotherRole).toMatchObject({ $metadata: { httpStatusCode: 200 } });
      expect(describeError(aloneOver)).toMatchObject({ code: 'LimitExceeded', status: 409 });
    });

    it('refuses vended session credentials: only long-term callers may call IAM', async () => {
      // Prepare
      await putRolePolicy(policyOfSize(500));
      const session = await vend({ RoleSessionName: 'alice-session', SourceIdentity: 'alice' });

      // Act
      const error = await failureOf(iam(session.credentials).send(new GetRolePolicyCommand({ RoleName: READONLY_ROLE_NAME, PolicyName: REVOCATIONS })));

      // Assess
      expect(describeError(error)).toEqual({
        name: 'AccessDenied',
        code: 'AccessDenied',
        status: 403,
        message: `User: ${session.arn} is not authorized to perform: iam:GetRolePolicy on resource: role ${READONLY_ROLE_NAME} because no identity-based policy allows the iam:GetRolePolicy action`,
      });
    });
  });

  // A target account's revoker role: its sessions act on the roles of their own account, as IAM's
  // role APIs do for any caller, and on nothing else (not itself, not tvm's account).
  describe('roles in a second account', () => {
    it("lets the revoker's sessions change the other roles of its account, never a namesake in tvm's account", async () => {
      // Prepare
      const revoker = await vend({ RoleArn: TARGET_REVOKER_ROLE, RoleSessionName: 'tvm-local-revoker' });
      const document = policyOfSize(300);

      // Act
      await iam(revoker.credentials).send(new PutRolePolicyCommand({ RoleName: 'tvm-demo-ops', PolicyName: REVOCATIONS, PolicyDocument: document }));
      const described = await iam(revoker.credentials).send(new GetRoleCommand({ RoleName: 'tvm-demo-ops' }));
      const onItself = await failureOf(
        iam(revoker.credentials).send(new PutRolePolicyCommand({ RoleName: 'TvmRevoker-dev', PolicyName: REVOCATIONS, PolicyDocument: document })),
      );
      const onTvmsOwn = await failureOf(iam(revoker.credentials).send(new GetRoleCommand({ RoleName: READONLY_ROLE_NAME })));

      // Assess
      expect(described.Role?.Arn).toBe(TARGET_OPS_ROLE);
      expect(endpoint.rolePolicies('111111111111')['tvm-demo-ops']).toEqual({ [REVOCATIONS]: document });
      expect(endpoint.rolePolicies()['tvm-demo-ops']).toEqual({});
      expect(describeError(onItself)).toMatchObject({ code: 'AccessDenied', status: 403 });
      expect(describeError(onTvmsOwn)).toMatchObject({ code: 'NoSuchEntity', status: 404 });
    });

    it("enforces a Deny on the target account's role for its sessions only", async () => {
      // Prepare: alice has a session on each namesake
      const inTarget = await vend({ RoleArn: TARGET_OPS_ROLE, RoleSessionName: 'alice', SourceIdentity: 'alice' });
      const inTvms = await vend({ RoleArn: 'arn:aws:iam::000000000000:role/tvm-demo-ops', RoleSessionName: 'alice', SourceIdentity: 'alice' });
      const revoker = await vend({ RoleArn: TARGET_REVOKER_ROLE, RoleSessionName: 'tvm-local-revoker' });
      const deny = policy(denyAll({ StringEquals: { 'aws:SourceIdentity': 'alice' } }));

      // Act
      await iam(revoker.credentials).send(new PutRolePolicyCommand({ RoleName: 'tvm-demo-ops', PolicyName: REVOCATIONS, PolicyDocument: deny }));

      // Assess
      expect(await deniedAmong({ inTarget, inTvms })).toEqual(['inTarget']);
    });
  });

  describe('GetAccessKeyInfo', () => {
    it("names the account of a vended key and of the caller's own key", async () => {
      // Prepare
      const session = await vend({ RoleSessionName: 'alice-session' });

      // Act
      const own = await session.sts.send(new GetAccessKeyInfoCommand({ AccessKeyId: session.credentials.accessKeyId }));
      const callers = await sts().send(new GetAccessKeyInfoCommand({ AccessKeyId: LOCAL_TVM_CALLER.accessKeyId }));

      // Assess
      expect(own.Account).toBe(ACCOUNT);
      expect(callers.Account).toBe(ACCOUNT);
    });
  });

  describe('Deny statements in the role policy', () => {
    it('cuts off one person issued before the cut-off; others, GetCallerIdentity and later sessions go on', async () => {
      // Prepare
      const sessions = {
        alice: await vend({ RoleSessionName: 'alice-session', SourceIdentity: 'alice' }),
        bob: await vend({ RoleSessionName: 'bob-session', SourceIdentity: 'bob' }),
      };
      await putRolePolicy(
        policy(denyAll({ StringEquals: { 'aws:SourceIdentity': 'alice' }, DateLessThan: { 'aws:TokenIssueTime': cutoffAfterNow() } })),
      );

      // Act
      const aliceError = describeError(await failureOf(getAccessKeyInfo(sessions.alice)));
      const bobs = await sessions.bob.sts.send(new GetAccessKeyInfoCommand({ AccessKeyId: sessions.bob.credentials.accessKeyId }));
      const alicesIdentity = await sessions.alice.sts.send(new GetCallerIdentityCommand({}));
      passCutoff();
      const regranted = await vend({ RoleSessionName: 'alice-session', SourceIdentity: 'alice' });

      // Assess
      expect(aliceError).toEqual({
        name: 'AccessDenied',
        code: 'AccessDenied',
        status: 403,
        message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/${READONLY_ROLE_NAME}/alice-session is not authorized to perform: sts:GetAccessKeyInfo with an explicit deny in an identity-based policy`,
      });
      expect(bobs.Account).toBe(ACCOUNT);
      expect(alicesIdentity.Arn).toBe(sessions.alice.arn);
      expect(await deniedAmong({ ...sessions, regranted })).toEqual(['alice']);
    });

    it('locks a role down to the people listed with StringNotEquals, including sessions without a SourceIdentity', async () => {
      // Prepare
      const sessions = {
        alice: await vend({ RoleSessionName: 'alice-session', SourceIdentity: 'alice' }),
        bob: await vend({ RoleSessionName: 'bob-session', SourceIdentity: 'bob' }),
        anonymous: await vend({ RoleSessionName: 'no-source-identity' }),
      };

      // Act
      await putRolePolicy(policy(denyAll({ StringNotEquals: { 'aws:SourceIdentity': ['bob'] } })));

      // Assess
      expect(await deniedAmong(sessions)).toEqual(['alice', 'anonymous']);
    });

    it('lifts the deny when the policy is deleted', async () => {
      // Prepare
      const alice = await vend({ RoleSessionName: 'alice-session', SourceIdentity: 'alice' });
      await putRolePolicy(policy(denyAll({ StringEquals: { 'aws:SourceIdentity': 'alice' } })));
      const whileDenied = await deniedAmong({ alice });

      // Act
      await iam().send(new DeleteRolePolicyCommand({ RoleName: READONLY_ROLE_NAME, PolicyName: REVOCATIONS }));

      // Assess
      expect(whileDenied).toEqual(['alice']);
      expect(await deniedAmong({ alice })).toEqual([]);
    });

    it("revokes every older session of the role with the IAM User Guide's policy, not other roles' sessions", async () => {
      // Prepare
      const sessions = {
        alice: await vend({ RoleSessionName: 'alice-session', SourceIdentity: 'alice' }),
        bob: await vend({ RoleSessionName: 'bob-session', SourceIdentity: 'bob' }),
        deployer: await vend({ RoleArn: DEPLOY_ROLE, RoleSessionName: 'deployer' }),
      };
      const fixture = readFileSync(REVOKE_OLDER_SESSIONS_FIXTURE, 'utf8');
      expect(fixture).toContain(REVOKE_OLDER_SESSIONS_FIXTURE_DATE);
      await putRolePolicy(fixture.replace(REVOKE_OLDER_SESSIONS_FIXTURE_DATE, cutoffAfterNow()), READONLY_ROLE_NAME, 'AWSRevokeOlderSessions');
      passCutoff();

      // Act
      const later = await vend({ RoleSessionName: 'alice-again', SourceIdentity: 'alice' });

      // Assess
      expect(await deniedAmong({ ...sessions, later })).toEqual(['alice', 'bob']);
    });

    it("denies by aws:userid pattern and by a SourceIdentity list with the AWS Security Blog's policy", async () => {
      // Prepare
      const sessions = {
        johnBySessionName: await vend({ RoleSessionName: 'JohnDoe@example.com' }),
        maryBySourceIdentity: await vend({ RoleSessionName: 'mary-session', SourceIdentity: 'MaryMajor@example.com' }),
        alice: await vend({ RoleSessionName: 'alice-session', SourceIdentity: 'alice' }),
      };

      // Act
      await putRolePolicy(readFileSync(DENY_BY_USERID_AND_SOURCE_IDENTITY_FIXTURE, 'utf8'));

      // Assess
      expect(await deniedAmong(sessions)).toEqual(['johnBySessionName', 'maryBySourceIdentity']);
    });

    const statements: [string, Statement, boolean][] = [
      ['Action named in sts: form', { Effect: 'Deny', Action: 'sts:GetAccessKeyInfo', Resource: '*' }, true],
      ['Action wildcard, case-insensitive', { Effect: 'Deny', Action: ['s3:*', 'STS:Get*'], Resource: ['*'] }, true],
      ['an Action that is not the one called', { Effect: 'Deny', Action: 'sts:AssumeRole', Resource: '*' }, false],
      ['an Allow statement', { Effect: 'Allow', Action: '*', Resource: '*' }, false],
      ['a Resource other than * for an action without resources', { Effect: 'Deny', Action: '*', Resource: 'arn:aws:s3:::tvm-demo' }, false],
      ['aws:PrincipalTag/<key>, key case-insensitive', denyAll({ StringEquals: { 'aws:PrincipalTag/team': 'red' } }), true],
      ['aws:PrincipalTag/<key> with another value', denyAll({ StringEquals: { 'aws:PrincipalTag/team': 'blue' } }), false],
      ['aws:PrincipalTag/<key> the session lacks, StringNotEquals', denyAll({ StringNotEquals: { 'aws:PrincipalTag/cost-centre': 'x' } }), true],
      ['StringLike on aws:userid', denyAll({ StringLike: { 'aws:userid': 'AROA*:alice-?ession' } }), true],
      ['condition key names case-insensitive', denyAll({ StringEquals: { 'AWS:SOURCEIDENTITY': 'alice' } }), true],
      ['DateGreaterThan a past time', denyAll({ DateGreaterThan: { 'aws:TokenIssueTime': '2014-05-07T23:47:00Z' } }), true],
      ['DateLessThan a past time, in epoch seconds', denyAll({ DateLessThan: { 'aws:TokenIssueTime': '1399506420' } }), false],
      ['one condition of two failing', denyAll({ StringEquals: { 'aws:SourceIdentity': 'alice', 'aws:userid': 'someone-else' } }), false],
      ['an unsupported operator (does not hold)', denyAll({ StringEqualsIgnoreCase: { 'aws:SourceIdentity': 'ALICE' } }), false],
      ['an unsupported key, even with StringNotEquals (does not hold)', denyAll({ StringNotEquals: { 'aws:SourceIp': '10.0.0.1' } }), false],
      ['NotAction (unsupported, never denies)', { Effect: 'Deny', NotAction: 's3:*', Resource: '*' }, false],
    ];

    it.each(statements)('evaluates a statement with %s', async (_case, statement, denies) => {
      // Prepare
      const alice = await vend({ RoleSessionName: 'alice-session', SourceIdentity: 'alice', Tags: [{ Key: 'Team', Value: 'red' }] });

      // Act
      await putRolePolicy(policy(statement));

      // Assess
      expect(await deniedAmong({ alice })).toEqual(denies ? ['alice'] : []);
    });

    it('puts a denied session\'s AssumeRole and IAM calls under the explicit deny too, naming the resource', async () => {
      // Prepare
      const alice = await vend({ RoleSessionName: 'alice-session', SourceIdentity: 'alice' });
      await putRolePolicy(policy(denyAll({ StringEquals: { 'aws:SourceIdentity': 'alice' } })));

      // Act
      const assumeRole = describeError(await failureOf(alice.sts.send(new AssumeRoleCommand({ RoleArn: DEPLOY_ROLE, RoleSessionName: 'chained' }))));
      const iamCall = describeError(
        await failureOf(iam(alice.credentials).send(new GetRolePolicyCommand({ RoleName: READONLY_ROLE_NAME, PolicyName: REVOCATIONS }))),
      );

      // Assess
      expect(assumeRole).toMatchObject({
        code: 'AccessDenied',
        status: 403,
        message: `User: ${alice.arn} is not authorized to perform: sts:AssumeRole on resource: ${DEPLOY_ROLE} with an explicit deny in an identity-based policy`,
      });
      expect(iamCall).toMatchObject({
        code: 'AccessDenied',
        status: 403,
        message: `User: ${alice.arn} is not authorized to perform: iam:GetRolePolicy on resource: role ${READONLY_ROLE_NAME} with an explicit deny in an identity-based policy`,
      });
    });

    it('keeps refusing role chaining to sessions that no policy denies', async () => {
      // Prepare
      const bob = await vend({ RoleSessionName: 'bob-session', SourceIdentity: 'bob' });
      await putRolePolicy(policy(denyAll({ StringEquals: { 'aws:SourceIdentity': 'alice' } })));

      // Act
      const error = describeError(await failureOf(bob.sts.send(new AssumeRoleCommand({ RoleArn: DEPLOY_ROLE, RoleSessionName: 'chained' }))));

      // Assess
      expect(error).toMatchObject({
        code: 'AccessDenied',
        status: 403,
        message: `User: ${bob.arn} is not authorized to perform: sts:AssumeRole on resource: ${DEPLOY_ROLE}`,
      });
    });
  });
});
