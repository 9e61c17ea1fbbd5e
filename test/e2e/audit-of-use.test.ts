// Audit of use on the local stack: every request signed with vended credentials reaches the local STS,
// which reports it as a CloudTrail record to recordUse (as EventBridge would); the audit stream
// feeds the alert function; security staff read it all back over HTTP. Each alert rule is fired
// by a realistic scenario and stays quiet for its benign twin.
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { AssumeRoleCommand, GetAccessKeyInfoCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_TVM_CALLER } from '../../local/sts/local-sts.js';
import { ADMIN_GROUPS, api, eventually, expectError, SECURITY_GROUPS, stackInfo, stsWith, tokenFor } from './support/api.js';

const unique = () => randomBytes(4).toString('hex');
const hoursFromNow = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// CloudTrail's eventTime has whole seconds: a second between steps keeps their order unambiguous.
const nextSecond = () => sleep(1_100);

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

interface AuditEventBody {
  id: string;
  type: string;
  at: string;
  principal: string;
  accessKeyId?: string;
  profile?: string;
  [key: string]: unknown;
}

interface AlertBody extends AuditEventBody {
  rule: string;
  severity: string;
  evidence: string[];
  dedupeKey: string;
}

/** Polls until `probe` returns a value (the loop is asynchronous: STS → recordUse → stream → alert). */
let securityToken: string;
let adminToken: string;

beforeAll(async () => {
  securityToken = await tokenFor(`sec-${unique()}@example.com`, SECURITY_GROUPS);
  adminToken = await tokenFor(`admin-${unique()}@example.com`, ADMIN_GROUPS);
});

async function eventsFor(query: Record<string, string>): Promise<AuditEventBody[]> {
  const response = await api<{ events: AuditEventBody[] }>('GET', `/audit/events?${new URLSearchParams({ limit: '100', ...query })}`, {
    token: securityToken,
  });
  expect(response.status).toBe(200);
  return response.body.events;
}

async function usesOf(accessKeyId: string, count: number): Promise<AuditEventBody[]> {
  return eventually(`${count} credential.used of ${accessKeyId}`, async () => {
    const uses = await eventsFor({ accessKeyId, type: 'credential.used' });
    return uses.length >= count ? uses : undefined;
  });
}

async function alertsOf(rule: string): Promise<AlertBody[]> {
  const since = new Date(Date.now() - 3_600_000).toISOString();
  const response = await api<{ alerts: AlertBody[] }>('GET', `/alerts?${new URLSearchParams({ rule, since })}`, { token: securityToken });
  expect(response.status).toBe(200);
  return response.body.alerts;
}

async function alertFor(rule: string, match: (alert: AlertBody) => boolean): Promise<AlertBody> {
  return eventually(`alert ${rule}`, async () => (await alertsOf(rule)).find(match));
}

/** Waits until everything so far has gone through recordUse and then the alert function. */
async function settle(): Promise<void> {
  const response = await fetch(`${stackInfo().loopControlUrl}/drain`, { method: 'POST' });
  expect(response.status).toBe(204);
}

async function newProfile(role = 'tvm-demo-readonly'): Promise<string> {
  const profile = `e2e-use-${unique()}`;
  const put = await api('PUT', `/profiles/${profile}`, {
    token: adminToken,
    body: { roleArn: `arn:aws:iam::000000000000:role/${role}` },
  });
  expect(put.status).toBe(200);
  return profile;
}

async function grant(profile: string, subject: { type: 'user' | 'group'; id: string }, extra: Record<string, unknown> = {}) {
  const response = await api<{ id: string }>('POST', '/grants', {
    token: adminToken,
    body: { profile, subject, validUntil: hoursFromNow(4), ...extra },
  });
  expect(response.status).toBe(201);
  return response.body.id;
}

async function vend(token: string, profile: string): Promise<Credentials> {
  const response = await api<{ credentials: Credentials }>('POST', '/credentials', { token, body: { profile } });
  expect(response.status).toBe(200);
  return response.body.credentials;
}

/** An STS client whose requests leave from `localAddress` (any 127/8 address reaches the local STS). */
function stsFrom(credentials: Credentials, localAddress: string): STSClient {
  return new STSClient({
    endpoint: stackInfo().stsEndpoint,
    region: 'us-east-1',
    maxAttempts: 1,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken },
    requestHandler: { httpAgent: new Agent({ localAddress }) },
  });
}

describe('recording use: the local loop', () => {
  it('joins a call made with vended credentials to its issuance, once per CloudTrail event', async () => {
    // Prepare
    const alice = `alice-${unique()}@example.com`;
    const credentials = await vend(await tokenFor(alice, ['engineering']), 'demo-readonly');
    await nextSecond();

    // Act: the SDK calls STS with the credentials, three times, from one address
    const sts = stsWith(credentials);
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    await sts.send(new GetCallerIdentityCommand({}));
    await sts.send(new GetAccessKeyInfoCommand({ AccessKeyId: credentials.accessKeyId }));

    // Assess
    expect(identity.Arn).toBe(`arn:aws:sts::000000000000:assumed-role/tvm-demo-readonly/${alice}`);
    const uses = await usesOf(credentials.accessKeyId, 3);
    expect(uses).toHaveLength(3);
    const [issuance] = await eventsFor({ accessKeyId: credentials.accessKeyId, type: 'credential.issued' });
    expect(uses.find((use) => use.eventName === 'GetCallerIdentity')).toMatchObject({
      type: 'credential.used',
      principal: alice,
      profile: 'demo-readonly',
      accessKeyId: credentials.accessKeyId,
      grantId: 'demo-readonly-engineering',
      eventName: 'GetCallerIdentity',
      eventSource: 'sts.amazonaws.com',
      awsRegion: 'us-east-1',
      sourceIPAddress: '127.0.0.1',
      recipientAccountId: '000000000000',
      roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-readonly',
      sessionArn: identity.Arn,
      sourceIdentity: alice,
      via: 'local',
      issuance: { eventId: issuance?.id, principal: alice, profile: 'demo-readonly', grantId: 'demo-readonly-engineering' },
    });
    expect(new Set(uses.map((use) => use.cloudTrailEventId)).size).toBe(3);
    expect(uses.map((use) => use.eventName).sort()).toEqual(['GetAccessKeyInfo', 'GetCallerIdentity', 'GetCallerIdentity']);

    // Benign: one key, one address, a known session: no alert names it
    await settle();
    for (const rule of ['source-ip-change', 'unknown-session', 'use-after-revocation', 'use-during-lockdown']) {
      expect((await alertsOf(rule)).filter((alert) => alert.accessKeyId === credentials.accessKeyId)).toEqual([]);
    }
  });

  it('raises unknown-session for a session of a target role that tvm did not issue', async () => {
    // Prepare: someone holding the vend role's own key assumes a target role behind tvm's back
    const direct = new STSClient({
      endpoint: stackInfo().stsEndpoint,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: { accessKeyId: LOCAL_TVM_CALLER.accessKeyId, secretAccessKey: LOCAL_TVM_CALLER.secretAccessKey },
    });
    const session = await direct.send(
      new AssumeRoleCommand({
        RoleArn: 'arn:aws:iam::000000000000:role/tvm-demo-readonly',
        RoleSessionName: `sneaky-${unique()}`,
        SourceIdentity: 'nobody-from-tvm',
      }),
    );
    const rogue = {
      accessKeyId: String(session.Credentials?.AccessKeyId),
      secretAccessKey: String(session.Credentials?.SecretAccessKey),
      sessionToken: String(session.Credentials?.SessionToken),
    };

    // Act
    await stsWith(rogue).send(new GetCallerIdentityCommand({}));

    // Assess
    const [use] = await usesOf(rogue.accessKeyId, 1);
    expect(use).toMatchObject({ issuance: null, principal: String(session.AssumedRoleUser?.Arn), sourceIdentity: 'nobody-from-tvm' });
    const alert = await alertFor('unknown-session', (candidate) => candidate.accessKeyId === rogue.accessKeyId);
    expect(alert.evidence).toContain(use?.id);
  });

  it('raises source-ip-change when one key is used from a second address, not for one address', async () => {
    // Prepare
    const bob = `bob-${unique()}@example.com`;
    const credentials = await vend(await tokenFor(bob, ['engineering']), 'demo-readonly');

    // Act
    await stsFrom(credentials, '127.0.0.1').send(new GetCallerIdentityCommand({}));
    await stsFrom(credentials, '127.0.0.2').send(new GetCallerIdentityCommand({}));

    // Assess
    const uses = await usesOf(credentials.accessKeyId, 2);
    expect(uses.map((use) => use.sourceIPAddress).sort()).toEqual(['127.0.0.1', '127.0.0.2']);
    const alert = await alertFor('source-ip-change', (candidate) => candidate.accessKeyId === credentials.accessKeyId);
    expect(alert).toMatchObject({ principal: bob, rule: 'source-ip-change' });
    expect([...alert.evidence].sort()).toEqual(uses.map((use) => use.id).sort());
  });
});

describe('handover, the key trace and who has access', () => {
  it('flags the contractor’s old key used after the handover, and traces it from issuance to alert', async () => {
    // Prepare: an owner who may delegate, a teammate they delegate to, a contractor engaged on it
    const profile = await newProfile('tvm-demo-deploy');
    const [owner, teammate, contractor] = ['owner', 'teammate', 'contractor'].map((name) => `${name}-${unique()}@example.com`) as [
      string,
      string,
      string,
    ];
    const [ownerToken, teammateToken, contractorToken] = (await Promise.all([owner, teammate, contractor].map((id) => tokenFor(id)))) as [
      string,
      string,
      string,
    ];
    const ownerGrant = await grant(profile, { type: 'user', id: owner }, { canDelegate: true });
    const delegated = await api<{ id: string }>('POST', '/grants', {
      token: ownerToken,
      body: { profile, subject: { type: 'user', id: teammate }, validUntil: hoursFromNow(2), parentGrantId: ownerGrant },
    });
    expect(delegated.status).toBe(201);
    const engagement = await api<{ id: string; grants: { id: string }[] }>('POST', '/engagements', {
      token: adminToken,
      body: { name: 'Use audit', owner, contractors: [contractor], profiles: [{ profile }], validUntil: hoursFromNow(4) },
    });
    expect(engagement.status).toBe(201);
    const contractorGrant = engagement.body.grants[0]?.id;

    const contractorKey = await vend(contractorToken, profile);
    const teammateKey = await vend(teammateToken, profile);
    await nextSecond();
    await stsWith(contractorKey).send(new GetCallerIdentityCommand({}));
    await usesOf(contractorKey.accessKeyId, 1);

    // Who has access before the handover: three grants (one delegated, with its chain), two live sessions
    const before = await api<AccessBody>('GET', `/audit/access?profile=${profile}`, { token: securityToken });
    expect(before.status).toBe(200);
    expect(before.body.grants.map((g) => g.grantId ?? g.id).sort()).toEqual([ownerGrant, delegated.body.id, contractorGrant].sort());
    const teammateEntry = before.body.grants.find((g) => (g.grantId ?? g.id) === delegated.body.id);
    expect(teammateEntry?.chain.map((link) => link.grantId)).toEqual([ownerGrant, delegated.body.id]);
    expect(before.body.sessions.map((s) => s.accessKeyId).sort()).toEqual([contractorKey.accessKeyId, teammateKey.accessKeyId].sort());
    const contractorSession = before.body.sessions.find((s) => s.accessKeyId === contractorKey.accessKeyId);
    expect(contractorSession?.lastUse).toMatchObject({ eventName: 'GetCallerIdentity' });
    // Benign: used before any revocation
    await settle();
    expect((await alertsOf('use-after-revocation')).filter((a) => a.accessKeyId === contractorKey.accessKeyId)).toEqual([]);

    // Act: hand over, then the contractor's old key is used again
    const handover = await api<{ revokedSessions: { accessKeyId: string }[] }>('POST', `/engagements/${engagement.body.id}/handover`, {
      token: ownerToken,
      body: {},
    });
    expect(handover.status).toBe(200);
    expect(handover.body.revokedSessions.map((s) => s.accessKeyId)).toEqual([contractorKey.accessKeyId]);
    await nextSecond();
    await expect(
      stsWith(contractorKey).send(new GetAccessKeyInfoCommand({ AccessKeyId: contractorKey.accessKeyId })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    await stsWith(teammateKey).send(new GetCallerIdentityCommand({}));

    // Assess: the alert
    const alert = await alertFor('use-after-revocation', (candidate) => candidate.accessKeyId === contractorKey.accessKeyId);
    expect(alert).toMatchObject({ principal: contractor, profile });
    const uses = await usesOf(contractorKey.accessKeyId, 2);
    const lateUse = uses.find((use) => use.eventName === 'GetAccessKeyInfo');
    expect(lateUse).toMatchObject({ errorCode: 'AccessDenied' });
    expect(alert.evidence).toContain(lateUse?.id);
    // Benign twin: the teammate's key, never revoked, used after the handover
    await usesOf(teammateKey.accessKeyId, 1);
    await settle();
    expect((await alertsOf('use-after-revocation')).filter((a) => a.accessKeyId === teammateKey.accessKeyId)).toEqual([]);

    // Assess: the trace of the key, in order
    const trace = await api<TraceBody>('GET', `/audit/keys/${contractorKey.accessKeyId}`, { token: securityToken });
    expect(trace.status).toBe(200);
    expect(trace.body.accessKeyId).toBe(contractorKey.accessKeyId);
    expect(trace.body.issuance).toMatchObject({ type: 'credential.issued', principal: contractor, profile, grantId: contractorGrant });
    expect(trace.body.uses.map((use) => use.eventName)).toEqual(['GetCallerIdentity', 'GetAccessKeyInfo']);
    expect(trace.body.revocations.length).toBeGreaterThanOrEqual(1);
    expect(trace.body.alerts.map((a) => a.rule)).toEqual(['use-after-revocation']);
    const timeline = [
      trace.body.issuance.at,
      trace.body.uses[0]?.eventTime,
      ...trace.body.revocations.map((r) => r.at),
      trace.body.uses[1]?.eventTime,
      trace.body.alerts[0]?.at,
    ].map((at) => Date.parse(String(at)));
    expect(timeline).toEqual([...timeline].sort((a, b) => a - b));

    // Assess: who has access after the handover
    const after = await api<AccessBody>('GET', `/audit/access?profile=${profile}`, { token: securityToken });
    const grantIds = after.body.grants.map((g) => g.grantId ?? g.id);
    expect(grantIds).not.toContain(contractorGrant);
    expect(grantIds).toEqual(expect.arrayContaining([ownerGrant, delegated.body.id]));
    expect(after.body.sessions.map((s) => s.accessKeyId)).toEqual([teammateKey.accessKeyId]);
  });
});

interface AccessBody {
  grants: { id?: string; grantId?: string; chain: { grantId: string }[] }[];
  sessions: { accessKeyId: string; lastUse: Record<string, unknown> | null }[];
}

interface TraceBody {
  accessKeyId: string;
  issuance: AuditEventBody;
  uses: AuditEventBody[];
  revocations: { at: string; kind: string }[];
  alerts: AlertBody[];
}

describe('lockdown alerts', () => {
  afterAll(async () => {
    // Never leave a lockdown behind for other tests (a second person lifts it).
    await api('DELETE', '/lockdown', { token: await tokenFor(`lifter-${unique()}@example.com`, SECURITY_GROUPS), body: { reason: 'test cleanup' } });
  });

  it('raises lockdown-breach-attempt for a refused vend and use-during-lockdown for an outsider’s live key', async () => {
    // Prepare: an outsider and an executive hold keys from before the lockdown
    const profile = await newProfile();
    const [outsider, executive, stranger] = ['outsider', 'exec', 'stranger'].map((name) => `${name}-${unique()}@example.com`) as [
      string,
      string,
      string,
    ];
    await grant(profile, { type: 'user', id: outsider });
    await grant(profile, { type: 'user', id: executive });
    const [outsiderToken, executiveToken, strangerToken] = (await Promise.all([outsider, executive, stranger].map((id) => tokenFor(id)))) as [
      string,
      string,
      string,
    ];
    const outsiderKey = await vend(outsiderToken, profile);
    const executiveKey = await vend(executiveToken, profile);

    // Act: lock the profile down to the executive, without cutting sessions
    const locked = await api('PUT', '/lockdown', {
      token: await tokenFor(`sec-${unique()}@example.com`, SECURITY_GROUPS),
      body: { profiles: [profile], allow: { principals: [executive] }, reason: 'incident 42' },
    });
    expect(locked.status).toBe(200);
    await nextSecond();
    expectError(await api('POST', '/credentials', { token: outsiderToken, body: { profile } }), 403, 'LOCKDOWN_ACTIVE');
    // (demo-deploy: every profile on the locked profile's role is locked with it.)
    expectError(await api('POST', '/credentials', { token: strangerToken, body: { profile: 'demo-deploy' } }), 403, 'NO_GRANT');
    await stsWith(outsiderKey).send(new GetCallerIdentityCommand({}));
    await stsWith(executiveKey).send(new GetCallerIdentityCommand({}));

    // Assess
    const breach = await alertFor('lockdown-breach-attempt', (alert) => alert.principal === outsider);
    expect(breach).toMatchObject({ profile });
    const during = await alertFor('use-during-lockdown', (alert) => alert.accessKeyId === outsiderKey.accessKeyId);
    expect(during).toMatchObject({ principal: outsider, profile });
    // Benign twins: the allowed executive's use, and a refusal that is not the lockdown's
    await usesOf(executiveKey.accessKeyId, 1);
    await settle();
    expect((await alertsOf('use-during-lockdown')).filter((a) => a.accessKeyId === executiveKey.accessKeyId)).toEqual([]);
    expect((await alertsOf('lockdown-breach-attempt')).filter((a) => a.principal === stranger)).toEqual([]);
  });
});

describe('denial-burst', () => {
  it('raises once for five refusals of one principal within the window, not for four', async () => {
    // Prepare
    const [prober, clumsy] = ['prober', 'clumsy'].map((name) => `${name}-${unique()}@example.com`) as [string, string];
    const [proberToken, clumsyToken] = await Promise.all([tokenFor(prober), tokenFor(clumsy)]);

    // Act
    for (let i = 0; i < 6; i++) {
      expectError(await api('POST', '/credentials', { token: proberToken, body: { profile: 'demo-deploy' } }), 403, 'NO_GRANT');
    }
    for (let i = 0; i < 4; i++) {
      expectError(await api('POST', '/credentials', { token: clumsyToken, body: { profile: 'demo-deploy' } }), 403, 'NO_GRANT');
    }

    // Assess
    const alert = await alertFor('denial-burst', (candidate) => candidate.principal === prober);
    expect(alert.evidence.length).toBeGreaterThanOrEqual(5);
    await settle();
    expect((await alertsOf('denial-burst')).filter((a) => a.principal === prober)).toHaveLength(1);
    expect((await alertsOf('denial-burst')).filter((a) => a.principal === clumsy)).toEqual([]);
  });
});

describe('security-team queries', () => {
  it('are for tvm-security and tvm-admin only', async () => {
    // Prepare
    const user = await tokenFor(`user-${unique()}@example.com`, ['engineering']);

    // Assess
    for (const path of ['/audit/keys/ASIAEXAMPLEEXAMPLE01', '/audit/access?profile=demo-readonly', '/audit/verify', '/alerts']) {
      expectError(await api('GET', path, { token: user }), 403, 'FORBIDDEN');
      expectError(await api('GET', path), 401, 'UNAUTHENTICATED');
    }
    expect((await api('GET', '/audit/access?profile=demo-readonly', { token: adminToken })).status).toBe(200);
  });

  it('serves every filter of /audit/events', async () => {
    // Prepare
    const carol = `carol-${unique()}@example.com`;
    const credentials = await vend(await tokenFor(carol, ['engineering']), 'demo-readonly');
    const from = new Date(Date.now() - 60_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();

    // Assess
    const byKey = await eventsFor({ accessKeyId: credentials.accessKeyId });
    expect(byKey.map((e) => e.type)).toEqual(['credential.issued']);
    expect((await eventsFor({ principal: carol, from, to })).map((e) => e.accessKeyId)).toEqual([credentials.accessKeyId]);
    expect((await eventsFor({ profile: 'demo-readonly', type: 'credential.issued', from, to })).map((e) => e.accessKeyId)).toContain(
      credentials.accessKeyId,
    );
    expect(await eventsFor({ principal: carol, from: '2020-01-01T00:00:00Z', to: '2020-01-02T00:00:00Z' })).toEqual([]);
    expectError(await api('GET', `/audit/events?from=${to}&to=${from}`, { token: securityToken }), 400, 'VALIDATION_FAILED');
    expectError(await api('GET', '/audit/events?accessKeyId=not-a-key', { token: securityToken }), 400, 'VALIDATION_FAILED');
  });

  it('verify catches an audit item edited directly in DynamoDB', async () => {
    // Prepare: a fresh issuance, and the trail as it stands
    const dave = `dave-${unique()}@example.com`;
    const credentials = await vend(await tokenFor(dave, ['engineering']), 'demo-readonly');
    const clean = await api<VerifyBody>('GET', '/audit/verify', { token: securityToken });
    expect(clean.status).toBe(200);
    expect(clean.body).toMatchObject({ ok: true, broken: [] });
    expect(clean.body.checked).toBeGreaterThan(0);

    const info = stackInfo();
    const documents = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: info.dynamodbEndpoint, region: info.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    );
    // The record as stored: keyed by its place in its chain, found by its principal's index.
    const found = await documents.send(
      new QueryCommand({
        TableName: info.tables.audit,
        IndexName: 'byPrincipal',
        KeyConditionExpression: 'XPK6 = :pk',
        ExpressionAttributeValues: { ':pk': `PRINCIPAL#${dave}` },
      }),
    );
    const item = found.Items?.[0] as { PK: string; SK: string; id: string; principal: string } | undefined;
    expect(item?.id).toBeDefined();

    try {
      // Act: someone with table access rewrites who got the credentials
      await documents.send(
        new UpdateCommand({
          TableName: info.tables.audit,
          Key: { PK: item?.PK, SK: item?.SK },
          UpdateExpression: 'SET principal = :someone',
          ExpressionAttributeValues: { ':someone': 'someone-else@example.com' },
        }),
      );
      const tampered = await api<VerifyBody>('GET', '/audit/verify', { token: securityToken });

      // Assess
      expect(tampered.status).toBe(200);
      expect(tampered.body.ok).toBe(false);
      expect(tampered.body.broken).toContainEqual(expect.objectContaining({ id: item?.id }));
    } finally {
      // Put it back, so the rest of the run sees an intact trail
      await documents.send(
        new UpdateCommand({
          TableName: info.tables.audit,
          Key: { PK: item?.PK, SK: item?.SK },
          UpdateExpression: 'SET principal = :original',
          ExpressionAttributeValues: { ':original': item?.principal },
        }),
      );
    }
    expect((await api<VerifyBody>('GET', '/audit/verify', { token: securityToken })).body.ok).toBe(true);
    expect((await documents.send(new GetCommand({ TableName: info.tables.audit, Key: { PK: item?.PK, SK: item?.SK } }))).Item?.principal).toBe(dave);
    expect(credentials.accessKeyId).toMatch(/^ASIA/);
    documents.destroy();
  });
});

interface VerifyBody {
  ok: boolean;
  checked: number;
  broken: { id: string; reason: string }[];
}
