// The administrative commands (me, profiles, grants, engagements, lockdown) run in-process with a
// fake fetch: the exact request each builds from its arguments, how it renders the answer for
// people and for scripts (--json), and the exit code for bad arguments and for refusals.
import type { CallerDescription } from '../../shared/domain/describe-caller.js';
import type { EngagementView, HandoverResult } from '../../shared/domain/manage-engagements.js';
import { toPublicProfile } from '../../shared/domain/manage-profiles.js';
import { EXIT } from '../../cli/errors.js';
import { aGrant, aProfile } from '../fixtures/builders.js';
import { apiRefusal, readFields, readTable, runTvm, TEST_TOKEN } from '../fixtures/cli-in-process.js';

const HOUR_MS = 3_600_000;

describe('tvm me', () => {
  const me: CallerDescription = {
    principal: 'alice@example.com',
    groups: ['engineering', 'leads'],
    grants: [
      {
        grantId: 'grant-0001',
        profile: 'demo-readonly',
        subject: { type: 'group', id: 'engineering' },
        validUntil: '2027-01-01T00:00:00.000Z',
        maxSessionSeconds: 5400,
        scope: { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::demo/*'] },
        canDelegate: true,
      },
    ],
  };

  it('asks GET /me with the caller token and prints who they are and their usable grants', async () => {
    // Act
    const run = await runTvm(['me'], [{ body: me }]);

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(run.requests).toEqual([{ method: 'GET', path: '/me', query: {}, body: undefined, authorization: `Bearer ${TEST_TOKEN}` }]);
    expect(readFields(run.stdout)).toMatchObject({ principal: 'alice@example.com', groups: 'engineering, leads' });
    expect(readTable(run.stdout, 'PROFILE')).toEqual([
      {
        PROFILE: 'demo-readonly',
        GRANT: 'grant-0001',
        VIA: 'group:engineering',
        'VALID UNTIL': '2027-01-01T00:00:00.000Z',
        'MAX SESSION': '1h30m',
        DELEGATE: 'yes',
        SCOPE: 's3:GetObject on arn:aws:s3:::demo/*',
      },
    ]);
  });

  it('prints the raw API answer with --json, and nothing else', async () => {
    // Act
    const run = await runTvm(['me', '--json'], [{ body: me }]);

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(JSON.parse(run.stdout)).toEqual(me);
    expect(run.stderr).toBe('');
  });

  it('exits with the auth code and the API error code when the token is refused', async () => {
    // Act
    const run = await runTvm(['me'], [apiRefusal(401, 'UNAUTHENTICATED', 'token expired')]);

    // Assess
    expect(run.code).toBe(EXIT.auth);
    expect(run.stderr).toBe('tvm: UNAUTHENTICATED: token expired; sign in again with tvm login (or refresh TVM_TOKEN / token_command; locally: tvm dev-token --sub <you>)\n');
    expect(run.stdout).toBe('');
  });
});

describe('tvm profiles', () => {
  const readonly = toPublicProfile(aProfile({ name: 'demo-readonly', externalId: 'secret-ext', scope: { actions: ['s3:Get*'] } }));

  it('list: GET /profiles as a table', async () => {
    // Act
    const run = await runTvm(['profiles', 'list'], [{ body: { profiles: [readonly] } }]);

    // Assess
    expect(run.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /profiles']);
    expect(readTable(run.stdout, 'NAME')).toEqual([
      {
        NAME: 'demo-readonly',
        ROLE: readonly.roleArn,
        'MAX SESSION': '1h',
        SENSITIVITY: 'standard',
        DESCRIPTION: 'Read-only access to the dev account',
      },
    ]);
  });

  it('show: GET /profiles/{name}, saying an ExternalId is set without ever having it', async () => {
    // Act
    const run = await runTvm(['profiles', 'show', 'demo-readonly'], [{ body: readonly }]);

    // Assess
    expect(run.requests[0]).toMatchObject({ method: 'GET', path: '/profiles/demo-readonly' });
    expect(readFields(run.stdout)).toMatchObject({
      name: 'demo-readonly',
      role: readonly.roleArn,
      'max session': '1h (3600 s)',
      scope: 's3:Get* on *',
      'external id': 'set (never shown)',
    });
  });

  const notFound = apiRefusal(404, 'NOT_FOUND', 'profile "billing-read" does not exist');
  const billing = toPublicProfile(
    aProfile({
      name: 'billing-read',
      roleArn: 'arn:aws:iam::000000000000:role/tvm-billing',
      description: 'billing reports',
      maxSessionSeconds: 7200,
      scope: { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::billing/*'] },
      sensitivity: 'restricted',
      externalId: 'ext-hidden',
      requestable: { approverGroups: ['finance-leads'], approvals: 1, maxDurationSeconds: 3600, requireReason: true, pendingSeconds: 86_400 },
      updatedAt: '2026-06-01T12:00:00.000Z',
    }),
  );

  it('put creates a profile from every given field, only if none exists meanwhile (If-None-Match: *)', async () => {
    // Act
    const run = await runTvm(
      [
        'profiles', 'put', 'billing-read',
        '--role-arn', 'arn:aws:iam::000000000000:role/tvm-billing',
        '--description', 'billing reports',
        '--max-session-seconds', '7200',
        '--action', 's3:GetObject', '--action', 's3:ListBucket',
        '--resource', 'arn:aws:s3:::billing/*',
        '--sensitivity', 'restricted',
        '--external-id', 'ext-1234',
      ],
      [notFound, { body: readonly }],
    );

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(run.requests).toEqual([
      expect.objectContaining({ method: 'GET', path: '/profiles/billing-read' }),
      expect.objectContaining({
        method: 'PUT',
        path: '/profiles/billing-read',
        ifNoneMatch: '*',
        body: {
          roleArn: 'arn:aws:iam::000000000000:role/tvm-billing',
          description: 'billing reports',
          maxSessionSeconds: 7200,
          scope: { actions: ['s3:GetObject', 's3:ListBucket'], resources: ['arn:aws:s3:::billing/*'] },
          sensitivity: 'restricted',
          externalId: 'ext-1234',
        },
      }),
    ]);
  });

  it('put changes only what it is given: a narrower --action keeps the resources, and nothing left out widens', async () => {
    // Act
    const run = await runTvm(['profiles', 'put', 'billing-read', '--action', 's3:ListBucket', '--max-session-seconds', '900'], [{ body: billing }, { body: billing }]);

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(run.requests[1]).toEqual(
      expect.objectContaining({
        method: 'PUT',
        ifMatch: '"2026-06-01T12:00:00.000Z"',
        body: {
          roleArn: 'arn:aws:iam::000000000000:role/tvm-billing',
          description: 'billing reports',
          maxSessionSeconds: 900,
          scope: { actions: ['s3:ListBucket'], resources: ['arn:aws:s3:::billing/*'] },
          sensitivity: 'restricted',
          requestable: { approverGroups: ['finance-leads'], approvals: 1, maxDurationSeconds: 3600, requireReason: true, pendingSeconds: 86_400 },
        },
      }),
    );
  });

  it('put changes one part of the request settings, or makes the profile not requestable', async () => {
    // Act
    const twoApprovals = await runTvm(['profiles', 'put', 'billing-read', '--approvals', '2'], [{ body: billing }, { body: billing }]);
    const notRequestable = await runTvm(['profiles', 'put', 'billing-read', '--not-requestable'], [{ body: billing }, { body: billing }]);
    const optional = { ...billing, requestable: { ...billing.requestable!, requireReason: false } };
    const reasonAgain = await runTvm(['profiles', 'put', 'billing-read', '--reason-required'], [{ body: optional }, { body: billing }]);
    const both = await runTvm(['profiles', 'put', 'billing-read', '--not-requestable', '--approvals', '2']);

    // Assess
    expect((twoApprovals.requests[1]?.body as { requestable?: unknown }).requestable).toEqual({
      approverGroups: ['finance-leads'],
      approvals: 2,
      maxDurationSeconds: 3600,
      requireReason: true,
      pendingSeconds: 86_400,
    });
    expect(notRequestable.requests[1]?.body).not.toHaveProperty('requestable');
    expect(reasonAgain.requests[1]?.body).toMatchObject({ requestable: { requireReason: true } });
    expect(both.code).toBe(EXIT.usage);
    expect(both.requests).toEqual([]);
  });

  it('put applies the change again on the newer version when someone changed the profile meanwhile', async () => {
    // Prepare: between the read and the write, someone else lowered the session limit
    const changed = { ...billing, maxSessionSeconds: 1800, updatedAt: '2026-06-01T12:05:00.000Z' };
    const stale = apiRefusal(412, 'PRECONDITION_FAILED', 'profile "billing-read" was changed at 2026-06-01T12:05:00.000Z by bob, after you read it; read it again');

    // Act
    const run = await runTvm(['profiles', 'put', 'billing-read', '--description', 'new words'], [{ body: billing }, stale, { body: changed }, { body: changed }]);

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(run.requests.map((request) => `${request.method} ${request.ifMatch ?? ''}`)).toEqual([
      'GET ',
      'PUT "2026-06-01T12:00:00.000Z"',
      'GET ',
      'PUT "2026-06-01T12:05:00.000Z"',
    ]);
    expect(run.requests[3]?.body).toMatchObject({ description: 'new words', maxSessionSeconds: 1800 });
  });

  it('put applies the change again when the API lost a race of its own (409), at most three times', async () => {
    // Prepare
    const conflict = apiRefusal(409, 'CONFLICT', 'profile "billing-read" was changed by someone else meanwhile; read it again and retry');

    // Act
    const recovered = await runTvm(['profiles', 'put', 'billing-read', '--description', 'x'], [{ body: billing }, conflict, { body: billing }, { body: billing }]);
    const givenUp = await runTvm(['profiles', 'put', 'billing-read', '--description', 'x'], [{ body: billing }, conflict, { body: billing }, conflict, { body: billing }, conflict]);

    // Assess
    expect(recovered.code).toBe(EXIT.ok);
    expect(givenUp.code).toBe(EXIT.refused);
    expect(givenUp.requests.map((request) => request.method)).toEqual(['GET', 'PUT', 'GET', 'PUT', 'GET', 'PUT']);
    expect(givenUp.stderr).toMatch(/^tvm: CONFLICT: /);
  });

  it('put --replace sends only what was given (the API applies its defaults), with no read first', async () => {
    // Act
    const run = await runTvm(['profiles', 'put', 'billing-read', '--replace', '--role-arn', 'arn:aws:iam::000000000000:role/tvm-billing'], [{ body: readonly }]);
    const withoutRole = await runTvm(['profiles', 'put', 'billing-read', '--replace']);

    // Assess
    expect(run.requests).toEqual([expect.objectContaining({ method: 'PUT', body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-billing' } })]);
    expect(run.requests[0]).not.toHaveProperty('ifMatch');
    expect(withoutRole.code).toBe(EXIT.usage);
    expect(withoutRole.stderr).toMatch(/--role-arn/);
  });

  it('put of a profile that does not exist needs --role-arn, and says so', async () => {
    // Act
    const run = await runTvm(['profiles', 'put', 'billing-read', '--description', 'x'], [notFound]);

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toBe('tvm: USAGE: profile "billing-read" does not exist; give --role-arn <arn> to create it\n');
    expect(run.requests.map((request) => request.method)).toEqual(['GET']);
  });

  it('put --remove-external-id sends externalId: null', async () => {
    // Act
    const run = await runTvm(['profiles', 'put', 'billing-read', '--remove-external-id'], [{ body: billing }, { body: billing }]);

    // Assess
    expect(run.requests[1]?.body).toMatchObject({ roleArn: 'arn:aws:iam::000000000000:role/tvm-billing', externalId: null });
  });

  it.each([
    ['a role that is not an IAM role ARN', ['--role-arn', 'arn:aws:s3:::bucket'], /must be an IAM role ARN/],
    ['--external-id with --remove-external-id', ['--role-arn', 'arn:aws:iam::000000000000:role/tvm-x', '--external-id', 'ext-1', '--remove-external-id'], /cannot be used with/],
    ['a session limit over 12 h', ['--role-arn', 'arn:aws:iam::000000000000:role/tvm-x', '--max-session-seconds', '43201'], /900 to 43200/],
    ['an unknown sensitivity', ['--role-arn', 'arn:aws:iam::000000000000:role/tvm-x', '--sensitivity', 'secret'], /standard, restricted/],
    ['an action that is not an IAM action', ['--role-arn', 'arn:aws:iam::000000000000:role/tvm-x', '--action', 'GetObject'], /IAM action/],
  ])('put refuses %s as a usage error, sending nothing', async (_case, options, message) => {
    // Act
    const run = await runTvm(['profiles', 'put', 'billing-read', ...options]);

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(message);
    expect(run.requests).toEqual([]);
  });

  it('refuses an invalid profile name before asking the API', async () => {
    // Act
    const run = await runTvm(['profiles', 'show', '../grants']);

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(/^tvm: USAGE: .*must be 1-64 of a-z/);
    expect(run.requests).toEqual([]);
  });

  it('delete: DELETE /profiles/{name} and says so', async () => {
    // Act
    const run = await runTvm(['profiles', 'delete', 'billing-read'], [{ body: { deleted: 'billing-read' } }]);

    // Assess
    expect(run.requests[0]).toMatchObject({ method: 'DELETE', path: '/profiles/billing-read' });
    expect(run.stdout).toBe('deleted profile billing-read\n');
  });

  it('an unknown profile is refused with the API code and exit code 4', async () => {
    // Act
    const run = await runTvm(['profiles', 'show', 'nope'], [apiRefusal(404, 'NOT_FOUND', 'profile "nope" does not exist')]);

    // Assess
    expect(run.code).toBe(EXIT.refused);
    expect(run.stderr).toBe('tvm: NOT_FOUND: profile "nope" does not exist\n');
  });
});

describe('tvm grants', () => {
  const grant = aGrant({ id: 'grant-0002', subject: { type: 'user', id: 'bob@example.com' }, parentGrantId: 'grant-0001', depth: 1 });

  it('list: passes --profile and --subject as the query and prints a row per grant', async () => {
    // Act
    const run = await runTvm(['grants', 'list', '--profile', 'dev-readonly', '--subject', 'group:engineering'], [{ body: { grants: [grant] } }]);

    // Assess
    expect(run.requests[0]).toMatchObject({ method: 'GET', path: '/grants', query: { profile: 'dev-readonly', subject: 'group:engineering' } });
    expect(readTable(run.stdout, 'ID')).toEqual([
      {
        ID: 'grant-0002',
        PROFILE: 'dev-readonly',
        SUBJECT: 'user:bob@example.com',
        'VALID UNTIL': '2027-01-01T00:00:00.000Z',
        STATUS: 'active',
        DELEGATE: 'no',
        PARENT: 'grant-0001',
        'CREATED BY': 'admin@example.com',
      },
    ]);
  });

  it('list --mine asks for the grants the caller created; --created-by names someone (admins)', async () => {
    // Act
    const mine = await runTvm(['grants', 'list', '--mine'], [{ body: { grants: [grant] } }]);
    const theirs = await runTvm(['grants', 'list', '--created-by', 'lead@example.com'], [{ body: { grants: [] } }]);
    const both = await runTvm(['grants', 'list', '--mine', '--created-by', 'lead@example.com']);

    // Assess
    expect(mine.requests[0]?.query).toEqual({ createdBy: 'me' });
    expect(readTable(mine.stdout, 'ID').map((row) => row.ID)).toEqual(['grant-0002']);
    expect(theirs.requests[0]?.query).toEqual({ createdBy: 'lead@example.com' });
    expect(both.code).toBe(EXIT.usage);
    expect(both.requests).toEqual([]);
  });

  it('list: a refusal points a non-admin at --mine', async () => {
    // Act
    const message = 'listing grants requires membership of tvm-admin; anyone may list the grants they created (createdBy=me)';
    const run = await runTvm(['grants', 'list'], [{ status: 403, body: { error: { code: 'FORBIDDEN', message } } }]);

    // Assess
    expect(run.stderr).toBe(
      'tvm: FORBIDDEN: listing grants requires membership of tvm-admin; anyone may list the grants they created (tvm grants list --mine)\n',
    );
  });

  it('--query prints one field of the answer, for scripts: ID=$(tvm grants create … --query id)', async () => {
    // Act
    const created = await runTvm(['grants', 'create', '--profile', 'dev-readonly', '--user', 'bob@example.com', '--valid-until', '+4h', '--query', 'id'], [{ status: 201, body: grant }]);
    const nested = await runTvm(['grants', 'list', '--query', 'grants.0.subject'], [{ body: { grants: [grant] } }]);
    const missing = await runTvm(['grants', 'list', '--query', 'grants.0.nope'], [{ body: { grants: [grant] } }]);
    const elsewhere = await runTvm(['credentials', 'dev-readonly', '--query', 'id']);

    // Assess
    expect(created.stdout).toBe('grant-0002\n');
    expect(nested.stdout).toBe('{"type":"user","id":"bob@example.com"}\n');
    expect([missing.code, missing.stderr]).toEqual([EXIT.usage, 'tvm: USAGE: --query grants.0.nope: the answer has no such field\n']);
    expect(elsewhere.code).toBe(EXIT.usage);
    expect(elsewhere.requests).toEqual([]);
  });

  it('list: an empty answer reads (none)', async () => {
    // Act
    const run = await runTvm(['grants', 'list'], [{ body: { grants: [] } }]);

    // Assess
    expect(run.requests[0]?.query).toEqual({});
    expect(run.stdout).toBe('(none)\n');
  });

  it('create: builds the POST /grants body from every option', async () => {
    // Act
    const run = await runTvm(
      [
        'grants', 'create', '--profile', 'dev-readonly', '--user', 'bob@example.com',
        '--valid-from', '2026-12-01T09:00:00+01:00', '--valid-until', '2027-01-01T00:00:00Z',
        '--max-session-seconds', '1800', '--action', 's3:GetObject', '--resource', 'arn:aws:s3:::demo/*',
        '--can-delegate', '--parent', 'grant-0001', '--reason', 'on call',
      ],
      [{ status: 201, body: grant }],
    );

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(run.requests[0]).toMatchObject({
      method: 'POST',
      path: '/grants',
      body: {
        profile: 'dev-readonly',
        subject: { type: 'user', id: 'bob@example.com' },
        validFrom: '2026-12-01T08:00:00.000Z',
        validUntil: '2027-01-01T00:00:00.000Z',
        maxSessionSeconds: 1800,
        scope: { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::demo/*'] },
        canDelegate: true,
        parentGrantId: 'grant-0001',
        reason: 'on call',
      },
    });
    expect(readFields(run.stdout)).toMatchObject({ id: 'grant-0002', subject: 'user:bob@example.com', parent: 'grant-0001', depth: '1' });
  });

  it('create: a group grant valid for +4h from now, with nothing the API should default', async () => {
    // Prepare
    const before = Date.now();

    // Act
    const run = await runTvm(['grants', 'create', '--profile', 'dev-readonly', '--group', 'engineering', '--valid-until', '+4h'], [{ status: 201, body: grant }]);

    // Assess
    const body = run.requests[0]?.body as { validUntil: string };
    expect(body).toEqual({ profile: 'dev-readonly', subject: { type: 'group', id: 'engineering' }, validUntil: body.validUntil });
    const validUntil = Date.parse(body.validUntil);
    expect(validUntil).toBeGreaterThanOrEqual(before + 4 * HOUR_MS);
    expect(validUntil).toBeLessThanOrEqual(Date.now() + 4 * HOUR_MS);
  });

  it.each([
    ['neither --user nor --group', ['--valid-until', '+1d'], /one of --user <id> or --group <id> is required/],
    ['both --user and --group', ['--user', 'bob', '--group', 'eng', '--valid-until', '+1d'], /cannot be used with/],
    ['a validUntil without an offset', ['--user', 'bob', '--valid-until', '2027-01-01T00:00:00'], /ISO 8601 date-time with an offset/],
    ['a parent that is not a grant id', ['--user', 'bob', '--valid-until', '+1d', '--parent', 'x'], /is not a grant id/],
  ])('create refuses %s as a usage error, sending nothing', async (_case, options, message) => {
    // Act
    const run = await runTvm(['grants', 'create', '--profile', 'dev-readonly', ...options]);

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(message);
    expect(run.requests).toEqual([]);
  });

  it('create: a delegation beyond the delegator grant is refused with exit code 4', async () => {
    // Act
    const run = await runTvm(
      ['grants', 'create', '--profile', 'dev-readonly', '--user', 'eve', '--valid-until', '+400d'],
      [apiRefusal(403, 'DELEGATION_EXCEEDS_GRANT', 'validUntil is later than your grant allows')],
    );

    // Assess
    expect(run.code).toBe(EXIT.refused);
    expect(run.stderr).toBe('tvm: DELEGATION_EXCEEDS_GRANT: validUntil is later than your grant allows\n');
  });

  it('revoke: DELETE /grants/{id}, naming the delegated grants revoked with it and the sessions cut off', async () => {
    // Prepare
    const session = { accessKeyId: 'ASIAAAAAAAAAAAAAAAA1', sourceIdentity: 'bob@example.com', expiration: '2026-06-01T13:00:00.000Z' };
    const answer = { ...grant, status: 'revoked', revokedDescendants: ['grant-0003', 'grant-0004'], revokedSessions: [session], sessionsNotCut: [], roleWideFallback: false, alreadyRevoked: false };

    // Act
    const run = await runTvm(['grants', 'revoke', 'grant-0002'], [{ body: answer }]);

    // Assess
    expect(run.requests[0]).toMatchObject({ method: 'DELETE', path: '/grants/grant-0002', body: undefined });
    expect(run.stdout).toBe(
      'revoked grant grant-0002 (dev-readonly for user:bob@example.com)\nand 2 delegated from it: grant-0003, grant-0004\n\n' +
        'sessions cut off:\nACCESS KEY            SOURCE IDENTITY  EXPIRES\nASIAAAAAAAAAAAAAAAA1  bob@example.com  2026-06-01T13:00:00.000Z\n',
    );
    expect(run.stderr).toBe('');
  });

  it('revoke: says so when the grant was revoked already, and that nothing changed', async () => {
    // Prepare
    const answer = {
      ...grant,
      status: 'revoked',
      revokedAt: '2026-06-01T11:00:00.000Z',
      revokedBy: 'admin@example.com',
      revokedDescendants: [],
      revokedSessions: [],
      sessionsNotCut: [],
      roleWideFallback: false,
      alreadyRevoked: true,
    };

    // Act
    const run = await runTvm(['grants', 'revoke', 'grant-0002'], [{ body: answer }]);

    // Assess
    expect(run.stdout).toBe('grant grant-0002 (dev-readonly for user:bob@example.com) was already revoked at 2026-06-01T11:00:00.000Z by admin@example.com: nothing changed\n');
    expect(run.code).toBe(EXIT.ok);
  });
});

describe('tvm engagements', () => {
  const engagement: EngagementView = {
    id: 'eng-00000001',
    name: 'website rebuild',
    owner: 'owner@example.com',
    contractors: ['dev@agency.example', 'qa@agency.example'],
    profiles: [{ profile: 'demo-deploy' }, { profile: 'demo-readonly' }],
    validUntil: '2026-12-31T00:00:00.000Z',
    status: 'active',
    createdBy: 'owner@example.com',
    createdAt: '2026-06-01T12:00:00.000Z',
    version: 1,
    grants: [aGrant({ id: 'grant-eng-1', profile: 'demo-deploy', subject: { type: 'user', id: 'dev@agency.example' }, engagementId: 'eng-00000001' })],
  };

  it('list: a row per engagement the caller may see, contractors joined', async () => {
    // Act
    const { grants: _grants, ...summary } = engagement;
    const run = await runTvm(['engagements', 'list'], [{ body: { engagements: [summary] } }]);

    // Assess
    expect(run.requests[0]).toMatchObject({ method: 'GET', path: '/engagements' });
    expect(readTable(run.stdout, 'ID')).toEqual([
      {
        ID: 'eng-00000001',
        NAME: 'website rebuild',
        STATUS: 'active',
        OWNER: 'owner@example.com',
        CONTRACTORS: 'dev@agency.example, qa@agency.example',
        'VALID UNTIL': '2026-12-31T00:00:00.000Z',
      },
    ]);
  });

  it('create: one body with every contractor and profile', async () => {
    // Act
    const run = await runTvm(
      [
        'engagements', 'create', '--name', 'website rebuild', '--owner', 'owner@example.com',
        '--contractor', 'dev@agency.example', '--contractor', 'qa@agency.example',
        '--profile', 'demo-deploy', '--profile', 'demo-readonly', '--valid-until', '2026-12-31T00:00:00Z',
      ],
      [{ status: 201, body: engagement }],
    );

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(run.requests[0]).toMatchObject({
      method: 'POST',
      path: '/engagements',
      body: {
        name: 'website rebuild',
        owner: 'owner@example.com',
        contractors: ['dev@agency.example', 'qa@agency.example'],
        profiles: [{ profile: 'demo-deploy' }, { profile: 'demo-readonly' }],
        validUntil: '2026-12-31T00:00:00.000Z',
      },
    });
    expect(readFields(run.stdout)).toMatchObject({
      id: 'eng-00000001',
      status: 'active',
      contractors: 'dev@agency.example, qa@agency.example',
      profiles: 'demo-deploy, demo-readonly',
    });
    expect(readTable(run.stdout, 'ID')).toEqual([expect.objectContaining({ ID: 'grant-eng-1', SUBJECT: 'user:dev@agency.example' })]);
  });

  it('create: a missing --contractor is a usage error', async () => {
    // Act
    const run = await runTvm(['engagements', 'create', '--name', 'x', '--owner', 'o', '--profile', 'demo-deploy', '--valid-until', '+30d']);

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(/required option '--contractor <id>' not specified/);
    expect(run.requests).toEqual([]);
  });

  it('show: GET /engagements/{id} with its handover when there was one', async () => {
    // Prepare
    const handedOver: EngagementView = {
      ...engagement,
      status: 'handed-over',
      handover: { at: '2026-07-01T00:00:00.000Z', by: 'owner@example.com', to: ['owner@example.com'], note: 'done', revokedGrants: [], newGrants: [], cutOffOrder: 'order-1' },
    };

    // Act
    const run = await runTvm(['engagements', 'show', 'eng-00000001'], [{ body: handedOver }]);

    // Assess
    expect(run.requests[0]).toMatchObject({ method: 'GET', path: '/engagements/eng-00000001' });
    expect(readFields(run.stdout)).toMatchObject({ status: 'handed-over', 'handed over': '2026-07-01T00:00:00.000Z', to: 'owner@example.com', note: 'done' });
  });

  const handover: HandoverResult = {
    engagementId: 'eng-00000001',
    status: 'handed-over',
    revokedGrants: ['grant-eng-1'],
    newGrants: ['grant-own-1'],
    revokedSessions: [{ accessKeyId: 'ASIAAAAAAAAAAAAAAAA1', sourceIdentity: 'dev@agency.example', expiration: '2026-06-01T13:00:00.000Z' }],
    sessionsNotCut: [],
    roleWideFallback: false,
    at: '2026-06-01T12:30:00.000Z',
  };

  it('handover: sends --to and --note and lists the sessions cut off', async () => {
    // Act
    const run = await runTvm(['engagements', 'handover', 'eng-00000001', '--to', 'a@example.com', '--to', 'b@example.com', '--note', 'shipped'], [{ body: handover }]);

    // Assess
    expect(run.requests[0]).toMatchObject({
      method: 'POST',
      path: '/engagements/eng-00000001/handover',
      body: { to: ['a@example.com', 'b@example.com'], note: 'shipped' },
    });
    expect(readFields(run.stdout)).toMatchObject({ 'revoked grants': 'grant-eng-1', 'new grants': 'grant-own-1' });
    expect(readTable(run.stdout, 'ACCESS KEY')).toEqual([
      { 'ACCESS KEY': 'ASIAAAAAAAAAAAAAAAA1', 'SOURCE IDENTITY': 'dev@agency.example', EXPIRES: '2026-06-01T13:00:00.000Z' },
    ]);
    expect(run.stderr).toBe('');
  });

  it('handover: an empty body by default (the owner takes over)', async () => {
    // Act
    const run = await runTvm(['engagements', 'handover', 'eng-00000001'], [{ body: handover }]);

    // Assess
    expect(run.requests[0]?.body).toEqual({});
  });

  it('handover: sessions IAM would not cut are listed and warned about, and the handover still succeeds', async () => {
    // Prepare
    const partial: HandoverResult = {
      ...handover,
      revokedSessions: [],
      sessionsNotCut: [{ ...handover.revokedSessions[0]!, roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-deploy', code: 'UPSTREAM_IAM_ERROR', message: 'throttled' }],
    };

    // Act
    const run = await runTvm(['engagements', 'handover', 'eng-00000001'], [{ body: partial }]);

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toContain('sessions NOT cut off yet (tvm retries every 5 minutes):');
    expect(readTable(run.stdout.split('sessions NOT cut off')[1] ?? '', 'ACCESS KEY')).toEqual([
      expect.objectContaining({ 'ACCESS KEY': 'ASIAAAAAAAAAAAAAAAA1', ERROR: 'UPSTREAM_IAM_ERROR', MESSAGE: 'throttled' }),
    ]);
    expect(run.stderr).toBe('tvm: warning: 1 session(s) could not be cut off yet; see above\n');
  });

  it('a second handover is refused with exit code 4', async () => {
    // Act
    const run = await runTvm(['engagements', 'handover', 'eng-00000001'], [apiRefusal(409, 'ALREADY_HANDED_OVER', 'handed over on 2026-06-01')]);

    // Assess
    expect(run.code).toBe(EXIT.refused);
    expect(run.stderr).toBe('tvm: ALREADY_HANDED_OVER: handed over on 2026-06-01\n');
  });
});

describe('tvm lockdown', () => {
  const active = {
    active: true,
    profiles: ['demo-deploy'],
    allow: { groups: ['top-brass'], principals: [] },
    reason: 'suspected espionage',
    activatedBy: 'sec-1@example.com',
    activatedAt: '2026-06-01T12:00:00.000Z',
  };

  it('status: inactive', async () => {
    // Act
    const run = await runTvm(['lockdown', 'status'], [{ body: { active: false } }]);

    // Assess
    expect(run.requests[0]).toMatchObject({ method: 'GET', path: '/lockdown' });
    expect(run.stdout).toBe('lockdown: inactive\n');
  });

  it('status: active, with what is locked and who is allowed', async () => {
    // Act
    const run = await runTvm(['lockdown', 'status'], [{ body: active }]);

    // Assess
    expect(readFields(run.stdout)).toEqual({
      lockdown: 'ACTIVE',
      profiles: 'demo-deploy',
      'allowed groups': 'top-brass',
      'allowed principals': '(none)',
      reason: 'suspected espionage',
      'activated by': 'sec-1@example.com',
      activated: '2026-06-01T12:00:00.000Z',
    });
  });

  it('on: PUT /lockdown with the profiles, the allow list and the session cut-off, listing the sessions cut', async () => {
    // Act
    const run = await runTvm(
      [
        'lockdown', 'on', '--profile', 'demo-deploy', '--profile', 'demo-readonly',
        '--allow-group', 'top-brass', '--allow-principal', 'ceo@example.com',
        '--reason', 'suspected espionage', '--revoke-active-sessions',
      ],
      [{ body: { ...active, revokedSessions: [{ accessKeyId: 'ASIAAAAAAAAAAAAAAAA2', sourceIdentity: 'mallory', expiration: '2026-06-01T13:00:00.000Z' }], fallback: false } }],
    );

    // Assess
    expect(run.requests[0]).toMatchObject({
      method: 'PUT',
      path: '/lockdown',
      body: {
        profiles: ['demo-deploy', 'demo-readonly'],
        allow: { groups: ['top-brass'], principals: ['ceo@example.com'] },
        reason: 'suspected espionage',
        revokeActiveSessions: true,
      },
    });
    expect(readTable(run.stdout, 'ACCESS KEY')).toEqual([expect.objectContaining({ 'ACCESS KEY': 'ASIAAAAAAAAAAAAAAAA2', 'SOURCE IDENTITY': 'mallory' })]);
  });

  it('on: every profile with *, nobody allowed, sessions left alone', async () => {
    // Act
    const run = await runTvm(['lockdown', 'on', '--profile', '*', '--reason', 'breach'], [{ body: { ...active, profiles: ['*'], revokedSessions: [], fallback: false } }]);

    // Assess
    expect(run.requests[0]?.body).toEqual({ profiles: ['*'], allow: { groups: [], principals: [] }, reason: 'breach', revokeActiveSessions: false });
    expect(readFields(run.stdout)).toMatchObject({ profiles: '* (every profile)' });
    expect(run.stdout).not.toContain('sessions cut off');
  });

  it.each([
    ['* with profile names', ['--profile', '*', '--profile', 'demo-deploy', '--reason', 'x'], /cannot be combined/],
    ['no reason', ['--profile', 'demo-deploy'], /required option '--reason <text>'/],
    ['no profile', ['--reason', 'x'], /required option '--profile <name\|\*>'/],
  ])('on refuses %s as a usage error', async (_case, options, message) => {
    // Act
    const run = await runTvm(['lockdown', 'on', ...options]);

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(message);
    expect(run.requests).toEqual([]);
  });

  it('off: DELETE /lockdown with the reason', async () => {
    // Act
    const run = await runTvm(['lockdown', 'off', '--reason', 'all clear'], [{ body: { active: false } }]);

    // Assess
    expect(run.requests[0]).toMatchObject({ method: 'DELETE', path: '/lockdown', body: { reason: 'all clear' } });
    expect(run.stdout).toMatch(/^lockdown lifted/);
  });

  it('off by the activator is refused with the two-person rule code', async () => {
    // Act
    const run = await runTvm(['lockdown', 'off', '--reason', 'all clear'], [apiRefusal(403, 'SECOND_APPROVER_REQUIRED', 'needs a second person')]);

    // Assess
    expect(run.code).toBe(EXIT.refused);
    expect(run.stderr).toBe('tvm: SECOND_APPROVER_REQUIRED: needs a second person\n');
  });
});

describe('every command', () => {
  it.each(['me', 'profiles list', 'profiles put', 'grants create', 'engagements handover', 'lockdown on', 'audit events', 'audit verify', 'alerts'])(
    'tvm %s has --help',
    async (command) => {
      // Act
      const run = await runTvm([...command.split(' '), '--help']);

      // Assess
      expect(run.code).toBe(EXIT.ok);
      expect(run.stdout).toMatch(new RegExp(`^Usage: tvm ${command} `));
      expect(run.requests).toEqual([]);
    },
  );

  it('reports a 5xx answer as a server failure', async () => {
    // Act
    const run = await runTvm(['grants', 'list'], [{ status: 503, body: { error: { code: 'STORE_UNAVAILABLE', message: 'try again' } } }]);

    // Assess
    expect(run.code).toBe(EXIT.server);
    expect(run.stderr).toBe('tvm: STORE_UNAVAILABLE: try again\n');
  });
});
