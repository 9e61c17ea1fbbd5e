// The vend quota end to end: the real vend function under serverless-offline counting in DynamoDB
// Local. Each test vends as principals of its own: the stack is shared with every e2e file.
import { randomBytes } from 'node:crypto';
import { api, expectError, SECURITY_GROUPS, tokenFor, type ApiResponse } from './support/api.js';

/** What the stack was started with (serverless.yml passes TVM_VEND_RATE_PER_MINUTE on; default 30). */
const LIMIT = Number(process.env.TVM_VEND_RATE_PER_MINUTE ?? '30');
const MINUTE = 60_000;
/** Vends in flight at once: quick, without swamping serverless-offline. */
const PARALLEL = 6;

const unique = () => randomBytes(4).toString('hex');
const minuteOf = (ms: number) => Math.floor(ms / MINUTE);

interface AuditEventBody {
  type: string;
  principal: string;
  code?: string;
}

async function vend(token: string): Promise<ApiResponse> {
  return api('POST', '/credentials', { token, body: { profile: 'demo-readonly' } });
}

/** `count` vends, PARALLEL at a time; their statuses. */
async function vendTimes(token: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let done = 0; done < count; done += PARALLEL) {
    const batch = await Promise.all(Array.from({ length: Math.min(PARALLEL, count - done) }, () => vend(token)));
    statuses.push(...batch.map((response) => response.status));
  }
  return statuses;
}

interface UsedUp {
  readonly principal: string;
  readonly statuses: number[];
  readonly refused: ApiResponse;
  /** When the refusal arrived (the test's clock is the stack's: one machine). */
  readonly refusedAt: number;
  /** Three more attempts after the refusal, in the same minute. */
  readonly retries: ApiResponse[];
}

/**
 * A fresh principal (granted demo-readonly through the seeded `engineering` grant) vends LIMIT
 * times, then once more, then three times at once. Windows are fixed minutes, so a run that
 * straddles a minute boundary proves nothing: it is run again with another principal (the second
 * run starts in a fresh minute).
 */
async function useUpQuota(): Promise<UsedUp> {
  for (let attempt = 1; ; attempt++) {
    const principal = `rate-${unique()}@example.com`;
    const token = await tokenFor(principal, ['engineering']);
    const startedAt = Date.now();
    const statuses = await vendTimes(token, LIMIT);
    const refused = await vend(token);
    const refusedAt = Date.now();
    const retries = await Promise.all([vend(token), vend(token), vend(token)]);
    if (minuteOf(startedAt) === minuteOf(Date.now()) || attempt === 2) return { principal, statuses, refused, refusedAt, retries };
  }
}

async function auditEvents(principal: string): Promise<AuditEventBody[]> {
  const token = await tokenFor(`rate-auditor-${unique()}@example.com`, SECURITY_GROUPS);
  const response = await api<{ events: AuditEventBody[] }>('GET', `/audit/events?principal=${encodeURIComponent(principal)}&limit=100`, { token });
  expect(response.status).toBe(200);
  return response.body.events;
}

describe('per-principal vend quota', () => {
  let usedUp: UsedUp;

  beforeAll(async () => {
    usedUp = await useUpQuota();
  }, 60_000);

  it(`allows ${LIMIT} vends in a minute, then answers 429 RATE_LIMITED with Retry-After`, () => {
    // Assess
    expect(usedUp.statuses).toEqual(Array.from({ length: LIMIT }, () => 200));
    const error = expectError(usedUp.refused, 429, 'RATE_LIMITED');
    const retryAfter = usedUp.refused.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(error.retryAfterSeconds).toBe(Number(retryAfter));
    // The wait runs to the end of the refusing minute (a second either way for the round trip).
    const secondsLeft = (MINUTE - (usedUp.refusedAt % MINUTE)) / 1000;
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    expect(Math.abs(Number(retryAfter) - secondsLeft)).toBeLessThanOrEqual(2);
    expect(usedUp.refused.text).not.toMatch(/ASIA[A-Z0-9]{16}/);
  });

  it('records one credential.denied RATE_LIMITED per minute, however often the caller retries', async () => {
    // Act
    const events = await auditEvents(usedUp.principal);

    // Assess
    for (const response of usedUp.retries) expectError(response, 429, 'RATE_LIMITED');
    expect(events.filter((event) => event.type === 'credential.issued')).toHaveLength(LIMIT);
    expect(events.filter((event) => event.type === 'credential.denied')).toEqual([
      expect.objectContaining({ type: 'credential.denied', code: 'RATE_LIMITED', principal: usedUp.principal }),
    ]);
  });

  it("does not limit another principal for one principal's flood", async () => {
    // Prepare
    const other = await tokenFor(`rate-other-${unique()}@example.com`, ['engineering']);

    // Act
    const response = await vend(other);

    // Assess
    expect(response.status).toBe(200);
  });
});
