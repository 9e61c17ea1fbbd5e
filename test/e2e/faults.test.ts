// STS faults end to end, through the local STS's fault switch on the shared stack: the status and
// code, bounded attempts, and no credentials without a durable issuance record. (DynamoDB Local
// stopped mid-run needs a stack of its own: test/stress/dynamodb-outage.stress.test.ts.)
import { randomBytes } from 'node:crypto';
import { toSourceIdentity } from '../../shared/domain/source-identity.js';
import { api, expectError, SECURITY_GROUPS, stackInfo, tokenFor } from './support/api.js';

interface VendBody {
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: string };
}

interface AuditEventBody {
  type: string;
  principal: string;
  code?: string;
  accessKeyId?: string;
}

const unique = () => randomBytes(4).toString('hex');
/** A fresh caller per test (in the seeded `engineering` group, granted demo-readonly), so quotas and records never mix. */
const aCaller = () => `faults-${unique()}@example.com`;

/**
 * Faults are scoped to the caller's AssumeRole (its SourceIdentity): the stack's own background
 * calls (cut-off orders, revoker sessions) neither use them up nor fail because of them.
 */
async function setStsFault(fault: { code: string; status: number; remaining?: number; sourceIdentity: string } | undefined): Promise<void> {
  const url = `${stackInfo().stsEndpoint}/_local/fault`;
  const response = fault
    ? await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fault) })
    : await fetch(url, { method: 'DELETE' });
  expect(response.status).toBe(204);
}

/** What is left of the fault: null once the caller's attempts used it up. */
async function faultLeft(): Promise<unknown> {
  const response = await fetch(`${stackInfo().stsEndpoint}/_local/fault`);
  expect(response.status).toBe(200);
  return response.json();
}

/** The sessions the local STS issued to `caller` (by SourceIdentity or session name), whatever else the stack assumed. */
async function sessionsOf(caller: string): Promise<number> {
  const response = await fetch(`${stackInfo().stsEndpoint}/_local/sessions`);
  const name = toSourceIdentity(caller);
  return ((await response.json()) as { sourceIdentity?: string; sessionName?: string }[]).filter(
    (session) => session.sourceIdentity === name || session.sessionName === name,
  ).length;
}

async function auditEvents(principal: string): Promise<AuditEventBody[]> {
  const token = await tokenFor('security@example.com', SECURITY_GROUPS);
  const response = await api<{ events: AuditEventBody[] }>('GET', `/audit/events?principal=${encodeURIComponent(principal)}&limit=100`, { token });
  expect(response.status).toBe(200);
  return response.body.events;
}

async function vendAs(principal: string) {
  const token = await tokenFor(principal, ['engineering']);
  return api<VendBody>('POST', '/credentials', { token, body: { profile: 'demo-readonly' } });
}

describe('STS faults through the local fault switch', () => {
  afterEach(async () => {
    await setStsFault(undefined);
  });

  it('Throttling once: retried, 200, exactly one session issued and one credential.issued', async () => {
    // Prepare
    const caller = aCaller();
    await setStsFault({ code: 'Throttling', status: 400, remaining: 1, sourceIdentity: toSourceIdentity(caller) });

    // Act
    const response = await vendAs(caller);

    // Assess: two attempts, the first throttled
    expect(response.status).toBe(200);
    expect(await faultLeft()).toBeNull();
    expect(await sessionsOf(caller)).toBe(1);
    const events = await auditEvents(caller);
    expect(events.filter((event) => event.type === 'credential.issued').map((event) => event.accessKeyId)).toEqual([
      response.body.credentials.accessKeyId,
    ]);
    expect(events.filter((event) => event.type === 'credential.denied')).toEqual([]);
  });

  it('Throttling on three attempts: 502 UPSTREAM_STS_ERROR (a fourth attempt would have succeeded), nothing issued', async () => {
    // Prepare
    const caller = aCaller();
    await setStsFault({ code: 'Throttling', status: 400, remaining: 3, sourceIdentity: toSourceIdentity(caller) });

    // Act
    const response = await vendAs(caller);

    // Assess: exactly three attempts, each throttled
    expect(expectError(response, 502, 'UPSTREAM_STS_ERROR')).toMatchObject({ stsCode: 'Throttling' });
    expect(await faultLeft()).toBeNull();
    expect(response.text).not.toMatch(/secretAccessKey|sessionToken/i);
    expect(await sessionsOf(caller)).toBe(0);
    const events = await auditEvents(caller);
    expect(events.map((event) => [event.type, event.code])).toEqual([['credential.denied', 'UPSTREAM_STS_ERROR']]);
  });

  it.each([
    ['AccessDenied', 403],
    ['RegionDisabledException', 403],
    ['MalformedPolicyDocument', 400],
  ])('%s: one attempt (a second would have succeeded), 502 UPSTREAM_STS_ERROR, a denial, nothing issued', async (code, status) => {
    // Prepare
    const caller = aCaller();
    await setStsFault({ code, status, remaining: 1, sourceIdentity: toSourceIdentity(caller) });

    // Act
    const response = await vendAs(caller);

    // Assess: exactly one attempt
    expect(expectError(response, 502, 'UPSTREAM_STS_ERROR')).toMatchObject({ stsCode: code });
    expect(await faultLeft()).toBeNull();
    expect(response.text).not.toMatch(/secretAccessKey|sessionToken/i);
    expect(await sessionsOf(caller)).toBe(0);
    const events = await auditEvents(caller);
    expect(events.map((event) => [event.type, event.code])).toEqual([['credential.denied', 'UPSTREAM_STS_ERROR']]);
  });

  it('PackedPolicyTooLarge: 400 SCOPE_TOO_LARGE, nothing issued', async () => {
    // Prepare
    const caller = aCaller();
    await setStsFault({ code: 'PackedPolicyTooLarge', status: 400, remaining: 1, sourceIdentity: toSourceIdentity(caller) });

    // Act
    const response = await vendAs(caller);

    // Assess
    expectError(response, 400, 'SCOPE_TOO_LARGE');
    expect(await faultLeft()).toBeNull();
    expect(await sessionsOf(caller)).toBe(0);
  });
});
