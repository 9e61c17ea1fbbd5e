// POST /credentials?format=console through the real handler (test/fixtures/handler-harness.ts): a
// vend like any other (refusals recorded, the lockdown), answered with a sign-in URL instead of
// credentials; a destination that is not a console path never reaches STS.
import { jest } from '@jest/globals';
import type { CredentialIssuedEvent } from '../../shared/domain/audit.js';
import {
  AWS_CONSOLE_URL,
  FEDERATION_ENDPOINT,
  LOCKED_PROFILE,
  OPEN_PROFILE,
  call,
  currentFederation,
  resetWorld,
  tokenOf,
  type World,
} from '../fixtures/handler-harness.js';
import { FAKE_SIGNIN_TOKEN } from '../fixtures/fake-federation.js';
import { FAKE_SECRET_ACCESS_KEY, FAKE_SESSION_TOKEN } from '../fixtures/in-memory.js';

let world: World;
afterEach(() => {
  jest.restoreAllMocks();
});

beforeEach(async () => {
  // Keep the logger's JSON lines out of the test output.
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  world = await resetWorld();
});

/** POST /credentials as the plain user, with `query` and `body` (the profile filled in). */
const vend = (query: Record<string, string>, body: Record<string, unknown> = {}) =>
  call('POST /credentials', {
    headers: { authorization: `Bearer ${tokenOf('user')}`, 'content-type': 'application/json' },
    query,
    body: JSON.stringify({ profile: OPEN_PROFILE, ...body }),
  });

const newEvents = (before: number) => world.audit.events.slice(before);

describe('POST /credentials?format=console', () => {
  it('vends, records the issuance as "console", and answers only the sign-in URL and when it expires', async () => {
    // Prepare
    const before = world.audit.events.length;

    // Act
    const answer = await vend({ format: 'console' }, { destination: '/ec2/home?region=eu-west-1', reason: 'look at the instances' });

    // Assess
    expect(answer.status).toBe(200);
    const body = answer.body as { signinUrl: string; expiration: string };
    expect(Object.keys(body).sort()).toEqual(['expiration', 'signinUrl']);
    const url = new URL(body.signinUrl);
    expect(`${url.origin}${url.pathname}`).toBe(FEDERATION_ENDPOINT);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      Action: 'login',
      Issuer: 'tvm',
      Destination: `${AWS_CONSOLE_URL}ec2/home?region=eu-west-1`,
      SigninToken: FAKE_SIGNIN_TOKEN,
    });
    const [issued, ...others] = newEvents(before) as [CredentialIssuedEvent];
    expect(others).toEqual([]);
    expect(issued).toMatchObject({ type: 'credential.issued', format: 'console', profile: OPEN_PROFILE, reason: 'look at the instances' });
    expect(body.expiration).toBe(issued.expiration);
    expect(currentFederation().sessions).toEqual([issued.accessKeyId]);
    expect(answer.rawBody).not.toContain(FAKE_SECRET_ACCESS_KEY);
    expect(answer.rawBody).not.toContain(FAKE_SESSION_TOKEN);
    expect(answer.rawBody).not.toContain(issued.accessKeyId);
  });

  it.each([
    ['a URL of its own', 'https://evil.example.com/'],
    ['a protocol-relative URL', '//evil.example.com'],
    ['a backslash trick', '/\\evil.example.com'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a control character', 's3\r\nLocation: https://evil.example.com'],
  ])('refuses %s as the destination before anything is vended', async (_label, destination) => {
    // Prepare
    const before = world.audit.events.length;

    // Act
    const answer = await vend({ format: 'console' }, { destination });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', message: expect.stringMatching(/^body\.destination: /) } });
    expect(world.issuer.requests).toEqual([]);
    expect(currentFederation().sessions).toEqual([]);
    expect(newEvents(before)).toEqual([]);
  });

  it('refuses a destination on any other vend: it would be silently ignored', async () => {
    // Act
    const answer = await vend({}, { destination: 's3' });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', message: 'body.destination: only with ?format=console' } });
    expect(world.issuer.requests).toEqual([]);
  });

  it('refuses more than an hour: 400 DURATION_OUT_OF_RANGE, recorded, nothing asked of STS', async () => {
    // Prepare
    const before = world.audit.events.length;

    // Act
    const answer = await vend({ format: 'console' }, { durationSeconds: 7200 });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: 'DURATION_OUT_OF_RANGE' } });
    expect(world.issuer.requests).toEqual([]);
    expect(newEvents(before)).toEqual([expect.objectContaining({ type: 'credential.denied', code: 'DURATION_OUT_OF_RANGE' })]);
  });

  it('is refused by a lockdown like any vend: 403 LOCKDOWN_ACTIVE, recorded, no sign-in token asked', async () => {
    // Prepare
    const before = world.audit.events.length;

    // Act
    const answer = await call('POST /credentials', {
      headers: { authorization: `Bearer ${tokenOf('user')}`, 'content-type': 'application/json' },
      query: { format: 'console' },
      body: JSON.stringify({ profile: LOCKED_PROFILE }),
    });

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ error: { code: 'LOCKDOWN_ACTIVE' } });
    expect(newEvents(before)).toEqual([expect.objectContaining({ type: 'credential.denied', code: 'LOCKDOWN_ACTIVE' })]);
    expect(currentFederation().sessions).toEqual([]);
  });

  it('answers 502 FEDERATION_UNAVAILABLE when the federation endpoint fails, the issuance recorded and no credentials returned', async () => {
    // Prepare
    currentFederation().failingWith();
    const before = world.audit.events.length;

    // Act
    const answer = await vend({ format: 'console' });

    // Assess
    expect(answer.status).toBe(502);
    expect(answer.body).toMatchObject({ error: { code: 'FEDERATION_UNAVAILABLE' } });
    expect(newEvents(before)).toEqual([expect.objectContaining({ type: 'credential.issued', format: 'console' })]);
    expect(answer.rawBody).not.toContain(FAKE_SECRET_ACCESS_KEY);
    expect(answer.rawBody).not.toContain(FAKE_SESSION_TOKEN);
  });

  it('refuses a format it does not know', async () => {
    // Act
    const answer = await vend({ format: 'browser' });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', message: expect.stringMatching(/^query\.format: /) } });
  });
});
