// The security team's commands (audit events|trace|access|verify, alerts) run in-process with a
// fake fetch: the query each sends, pagination with --all and its bound, the rendering of each
// answer, and verify's exit code when the chain is broken.
import type { AuditEvent } from '../../shared/domain/audit.js';
import type { KeyTrace } from '../../shared/domain/trace-access-key.js';
import type { VerifyResult } from '../../shared/domain/verify-audit.js';
import type { ProfileAccess } from '../../shared/domain/who-has-access.js';
import { MAX_PAGES } from '../../cli/commands/audit.js';
import { EXIT } from '../../cli/errors.js';
import { ACCESS_KEY_ID, aDenial, anIssuedEvent, aUse } from '../fixtures/alert-events.js';
import { aGrant } from '../fixtures/builders.js';
import { readFields, readTable, runTvm, type SentRequest } from '../fixtures/cli-in-process.js';
import { anAlert } from '../fixtures/key-events.js';

const CURSOR = '2026-06-01T11:00:00.000Z#page-1';

describe('tvm audit events', () => {
  it('passes every filter as the query, relative times as ISO instants', async () => {
    // Prepare
    const before = Date.now();

    // Act
    const run = await runTvm(
      [
        'audit', 'events', '--principal', 'alice@example.com', '--profile', 'dev-readonly', '--type', 'credential.used',
        '--access-key-id', ACCESS_KEY_ID, '--from', '-1h', '--to', '2026-06-01T14:00:00+02:00', '--limit', '10', '--cursor', CURSOR,
      ],
      [{ body: { events: [] } }],
    );

    // Assess
    expect(run.code).toBe(0);
    const query = run.requests[0]?.query ?? {};
    expect(query).toEqual({
      principal: 'alice@example.com',
      profile: 'dev-readonly',
      type: 'credential.used',
      accessKeyId: ACCESS_KEY_ID,
      from: query.from,
      to: '2026-06-01T12:00:00.000Z',
      limit: '10',
      cursor: CURSOR,
    });
    expect(Date.parse(query.from ?? '')).toBeGreaterThanOrEqual(before - 3_600_000);
    expect(Date.parse(query.from ?? '')).toBeLessThanOrEqual(Date.now() - 3_600_000);
    expect(run.stdout).toBe('(none)\n');
  });

  it('prints one line per event saying what it was, and how to get the next page', async () => {
    // Prepare
    const events: AuditEvent[] = [
      anAlert({ rule: 'denial-burst', severity: 'medium', summary: '5 refusals in 10 minutes' }),
      aUse({ eventName: 'GetObject', eventSource: 's3.amazonaws.com', sourceIPAddress: '198.51.100.7', errorCode: 'AccessDenied' }),
      aDenial({ code: 'NO_GRANT', message: 'no grant for demo-deploy' }),
      anIssuedEvent({ grantId: 'grant-0001', durationSeconds: 900, expiration: '2026-06-01T12:05:00.000Z' }),
      {
        id: '2026-06-01T11:00:00.000Z#r1', type: 'grant.revoked', at: '2026-06-01T11:00:00.000Z', principal: 'admin@example.com',
        requestId: 'r', profile: 'dev-readonly', grantId: 'grant-0009', detail: { reason: 'left the team' },
      },
      {
        id: '2026-06-01T10:00:00.000Z#l1', type: 'lockdown.activated', at: '2026-06-01T10:00:00.000Z', principal: 'sec@example.com',
        requestId: 'l', profiles: ['dev-readonly', 'prod-admin'], detail: { reason: 'suspected espionage' },
      },
    ];

    // Act
    const run = await runTvm(['audit', 'events'], [{ body: { events, nextCursor: CURSOR } }]);

    // Assess
    expect(readTable(run.stdout, 'AT').map((row) => [row.TYPE, row.DETAIL])).toEqual([
      ['alert.raised', 'medium denial-burst: 5 refusals in 10 minutes'],
      ['credential.used', 's3.amazonaws.com GetObject from 198.51.100.7 (AccessDenied)'],
      ['credential.denied', 'NO_GRANT: no grant for demo-deploy'],
      ['credential.issued', 'grant grant-0001, 900 s, expires 2026-06-01T12:05:00.000Z'],
      ['grant.revoked', 'grant grant-0009, left the team'],
      ['lockdown.activated', 'suspected espionage'],
    ]);
    expect(readTable(run.stdout, 'AT').map((row) => row.PROFILE).slice(-2)).toEqual(['dev-readonly', 'dev-readonly, prod-admin']);
    expect(run.stdout).toContain(`\nmore: --cursor '${CURSOR}'\n`);
  });

  it('--all follows nextCursor to the last page and prints every event as one page', async () => {
    // Prepare
    const pages = [
      { events: [aDenial({ unique: 'a' })], nextCursor: 'c1' },
      { events: [aDenial({ unique: 'b' })], nextCursor: 'c2' },
      { events: [aDenial({ unique: 'c' })] },
    ].map((body) => ({ body }));

    // Act
    const run = await runTvm(['audit', 'events', '--all', '--type', 'credential.denied', '--json'], pages);

    // Assess
    expect(run.requests.map((request) => request.query)).toEqual([
      { type: 'credential.denied' },
      { type: 'credential.denied', cursor: 'c1' },
      { type: 'credential.denied', cursor: 'c2' },
    ]);
    const answer = JSON.parse(run.stdout) as { events: AuditEvent[]; nextCursor?: string };
    expect(answer.events.map((event) => event.id)).toEqual(pages.map((page) => page.body.events[0]?.id));
    expect(answer).not.toHaveProperty('nextCursor');
  });

  it(`--all stops after ${MAX_PAGES} pages, handing back the cursor to continue from`, async () => {
    // Prepare
    const endless = (request: SentRequest) => ({ body: { events: [], nextCursor: `after-${request.query.cursor ?? 'start'}` } });

    // Act
    const run = await runTvm(['audit', 'events', '--all', '--json'], endless);

    // Assess
    expect(run.requests).toHaveLength(MAX_PAGES);
    expect(JSON.parse(run.stdout)).toEqual({ events: [], nextCursor: `after-${run.requests[MAX_PAGES - 1]?.query.cursor}` });
  });

  it.each([
    ['an unknown event type', ['--type', 'credential.stolen'], /Allowed choices are credential.issued/],
    ['a limit over 100', ['--limit', '500'], /from 1 to 100/],
    ['a key that is not an access key id', ['--access-key-id', 'not-a-key'], /is not an AWS access key id/],
    ['a cursor this API never returns', ['--cursor', 'page-2'], /is not a cursor returned by this API/],
  ])('refuses %s as a usage error', async (_case, options, message) => {
    // Act
    const run = await runTvm(['audit', 'events', ...options]);

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(message);
    expect(run.requests).toEqual([]);
  });

  it('a caller outside security and admin is refused with exit code 4', async () => {
    // Act
    const run = await runTvm(['audit', 'events'], [{ status: 403, body: { error: { code: 'FORBIDDEN', message: 'needs tvm-security' } } }]);

    // Assess
    expect(run.code).toBe(EXIT.refused);
    expect(run.stderr).toBe('tvm: FORBIDDEN: needs tvm-security\n');
  });
});

describe('tvm audit trace', () => {
  const trace: KeyTrace = {
    accessKeyId: ACCESS_KEY_ID,
    issuance: anIssuedEvent(),
    uses: [
      {
        id: 'use-1', cloudTrailEventId: 'ct-1', eventTime: '2026-06-01T11:55:00Z', eventName: 'GetCallerIdentity',
        eventSource: 'sts.amazonaws.com', awsRegion: 'us-east-1', sourceIPAddress: '198.51.100.7',
      },
    ],
    usesTruncated: false,
    revocations: [{ kind: 'grant', at: '2026-06-01T12:00:00.000Z', by: 'admin@example.com', reason: 'revoked', grantId: 'grant-0001' }],
    alerts: [anAlert({ accessKeyId: ACCESS_KEY_ID })],
  };

  it('GET /audit/keys/{key}: the issuance, then uses, revocations and alerts', async () => {
    // Act
    const run = await runTvm(['audit', 'trace', ACCESS_KEY_ID], [{ body: trace }]);

    // Assess
    expect(run.requests[0]).toMatchObject({ method: 'GET', path: `/audit/keys/${ACCESS_KEY_ID}` });
    expect(readFields(run.stdout)).toMatchObject({
      'access key': ACCESS_KEY_ID,
      'issued to': 'alice@example.com',
      grant: 'grant-0001',
      'source identity': 'alice@example.com',
    });
    expect(readTable(run.stdout, 'TIME')).toEqual([
      { TIME: '2026-06-01T11:55:00Z', SERVICE: 'sts.amazonaws.com', CALL: 'GetCallerIdentity', REGION: 'us-east-1', 'SOURCE IP': '198.51.100.7', ERROR: '-' },
    ]);
    expect(readTable(run.stdout.split('\nrevocations:\n')[1] ?? '', 'AT')).toEqual([
      { AT: '2026-06-01T12:00:00.000Z', KIND: 'grant', BY: 'admin@example.com', REASON: 'revoked', REF: 'grant-0001' },
    ]);
    expect(readTable(run.stdout.split('\nalerts:\n')[1] ?? '', 'AT')).toEqual([expect.objectContaining({ RULE: 'use-after-revocation', SEVERITY: 'critical' })]);
  });

  it('says so when tvm did not issue the key', async () => {
    // Act
    const run = await runTvm(['audit', 'trace', ACCESS_KEY_ID], [{ body: { ...trace, issuance: null, revocations: [], alerts: [] } }]);

    // Assess
    expect(run.stdout).toContain('issued by: nobody tvm knows');
    expect(run.stdout).toContain('\nrevocations:\n(none)\n');
  });
  it('says where the older uses are when the trace holds only the newest', async () => {
    // Act
    const run = await runTvm(['audit', 'trace', ACCESS_KEY_ID], [{ body: { ...trace, usesTruncated: true, olderUsesCursor: CURSOR } }]);

    // Assess
    expect(run.stdout).toContain(
      `(the newest 1 uses; older ones: tvm audit events --access-key-id ${ACCESS_KEY_ID} --type credential.used --cursor '${CURSOR}')\n`,
    );
  });
});

describe('tvm audit access', () => {
  it('GET /audit/access?profile=: grants with their delegation chain, sessions with their last use', async () => {
    // Prepare
    const access: ProfileAccess = {
      profile: 'dev-readonly',
      at: '2026-06-01T12:00:00.000Z',
      grants: [
        {
          ...aGrant({ id: 'grant-0002', subject: { type: 'user', id: 'eve@example.com' }, parentGrantId: 'grant-0001', createdBy: 'lead@example.com' }),
          chain: [
            { grantId: 'grant-0001', subject: { type: 'group', id: 'leads' }, createdBy: 'admin@example.com' },
            { grantId: 'grant-0002', subject: { type: 'user', id: 'eve@example.com' }, createdBy: 'lead@example.com' },
          ],
        },
      ],
      sessions: [
        {
          accessKeyId: ACCESS_KEY_ID, principal: 'eve@example.com', grantId: 'grant-0002', roleArn: 'arn:aws:iam::000000000000:role/tvm-x',
          sessionName: 'eve@example.com', sourceIdentity: 'eve@example.com', issuedAt: '2026-06-01T11:50:00.000Z',
          expiration: '2026-06-01T12:50:00.000Z', lastUse: { at: '2026-06-01T11:55:00Z', eventName: 'GetObject', sourceIPAddress: '198.51.100.7' },
        },
      ],
    };

    // Act
    const run = await runTvm(['audit', 'access', 'dev-readonly'], [{ body: access }]);

    // Assess
    expect(run.requests[0]).toMatchObject({ method: 'GET', path: '/audit/access', query: { profile: 'dev-readonly' } });
    expect(readTable(run.stdout, 'SUBJECT')).toEqual([
      expect.objectContaining({ SUBJECT: 'user:eve@example.com', GRANT: 'grant-0002', 'CHAIN (root first)': 'admin@example.com → group:leads → user:eve@example.com' }),
    ]);
    expect(readTable(run.stdout, 'ACCESS KEY')).toEqual([
      expect.objectContaining({ 'ACCESS KEY': ACCESS_KEY_ID, PRINCIPAL: 'eve@example.com', 'LAST USE': 'GetObject at 2026-06-01T11:55:00Z from 198.51.100.7' }),
    ]);
  });
});

describe('tvm audit verify', () => {
  const intact: VerifyResult = { ok: true, checked: 42, broken: [], from: '2026-05-31T12:00:00.000Z', to: '2026-06-01T12:00:00.000Z', anchors: [] };
  const broken: VerifyResult = { ...intact, ok: false, broken: [{ id: '2026-06-01T10:00:00.000Z#x', reason: 'hash-mismatch' }] };

  it('exits 0 and says how much it checked when every chain holds', async () => {
    // Act
    const run = await runTvm(['audit', 'verify', '--from', '2026-05-31T12:00:00Z', '--to', '2026-06-01T12:00:00Z'], [{ body: intact }]);

    // Assess
    expect(run.requests[0]?.query).toEqual({ from: '2026-05-31T12:00:00.000Z', to: '2026-06-01T12:00:00.000Z' });
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toBe('ok: 42 events checked from 2026-05-31T12:00:00.000Z to 2026-06-01T12:00:00.000Z\n');
  });

  it('exits with the refused code and lists the broken links when the chain is broken', async () => {
    // Act
    const run = await runTvm(['audit', 'verify'], [{ body: broken }]);

    // Assess
    expect(run.requests[0]?.query).toEqual({});
    expect(run.code).toBe(EXIT.refused);
    expect(readTable(run.stdout, 'EVENT')).toEqual([{ EVENT: '2026-06-01T10:00:00.000Z#x', REASON: 'hash-mismatch' }]);
    expect(run.stderr).toBe('tvm: AUDIT_CHAIN_BROKEN: the audit trail is broken: 1 link(s) failed verification\n');
  });

  it('with --json still prints the whole answer and still exits non-zero', async () => {
    // Act
    const run = await runTvm(['audit', 'verify', '--json'], [{ body: broken }]);

    // Assess
    expect(run.code).toBe(EXIT.refused);
    expect(JSON.parse(run.stdout)).toEqual(broken);
  });

  it('says as of when each day was anchored, and names a chain behind its anchor', async () => {
    // Prepare
    const rewritten: VerifyResult = {
      ...intact,
      ok: false,
      broken: [{ id: 'chain:2026-06-01#u3', reason: 'behind-anchor' }],
      anchors: [
        { day: '2026-05-31', at: '2026-06-01T00:05:00.000Z', chains: 12 },
        { day: '2026-06-01', at: '2026-06-01T11:55:00.000Z', chains: 9 },
      ],
    };

    // Act
    const run = await runTvm(['audit', 'verify'], [{ body: rewritten }]);

    // Assess
    expect(run.code).toBe(EXIT.refused);
    expect(run.stdout.split('\n').slice(1, 3)).toEqual([
      "anchored: 2026-05-31's 12 chains as of 2026-06-01T00:05:00.000Z",
      "anchored: 2026-06-01's 9 chains as of 2026-06-01T11:55:00.000Z",
    ]);
    expect(readTable(run.stdout, 'EVENT')).toEqual([{ EVENT: 'chain:2026-06-01#u3', REASON: 'behind-anchor' }]);
  });
});

describe('tvm alerts', () => {
  it('passes --since, --rule and --limit and prints one row per alert', async () => {
    // Prepare
    const alert = anAlert({ rule: 'source-ip-change', severity: 'high', summary: 'two source IPs' });

    // Act
    const run = await runTvm(['alerts', '--since', '2026-06-01T00:00:00Z', '--rule', 'source-ip-change', '--limit', '5'], [{ body: { alerts: [alert] } }]);

    // Assess
    expect(run.requests[0]).toMatchObject({
      method: 'GET',
      path: '/alerts',
      query: { since: '2026-06-01T00:00:00.000Z', rule: 'source-ip-change', limit: '5' },
    });
    expect(readTable(run.stdout, 'AT')).toEqual([
      {
        AT: alert.at, SEVERITY: 'high', RULE: 'source-ip-change', PRINCIPAL: alert.principal, PROFILE: 'dev-readonly',
        'ACCESS KEY': alert.accessKeyId ?? '', SUMMARY: 'two source IPs',
      },
    ]);
  });

  it('refuses a rule tvm does not have', async () => {
    // Act
    const run = await runTvm(['alerts', '--rule', 'everything']);

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(/Allowed choices are use-after-revocation/);
  });
});
