// Console sign-in: the destination a caller may name (the attacks on it first), the
// login URL built from a sign-in token, the federation endpoint's getSigninToken over fetch (never
// with SessionDuration, never leaking the session), and the vend's 1-hour rule for console sessions.
import type { CredentialDeniedEvent, CredentialIssuedEvent } from '../../shared/domain/audit.js';
import { linkItem } from '../../shared/adapters/audit-chain.js';
import { auditItem, isIntactEventItem, toAuditEvent } from '../../shared/adapters/audit-keys.js';
import { FederationSigninTokenIssuer } from '../../shared/adapters/federation-signin-token-issuer.js';
import { consoleDestination, signInToConsole } from '../../shared/domain/console-sign-in.js';
import { CONSOLE_SESSION_SECONDS } from '../../shared/domain/duration.js';
import { DurationOutOfRangeError, FederationUnavailableError, ValidationError } from '../../shared/domain/errors.js';
import { vendRequestSchema } from '../../shared/domain/schemas.js';
import { vendCredentials, type VendDeps } from '../../shared/domain/vend-credentials.js';
import { FIXED_NOW, aGrant, aPrincipal, aProfile } from '../fixtures/builders.js';
import { FAKE_SIGNIN_TOKEN, FakeSigninTokenIssuer } from '../fixtures/fake-federation.js';
import { failureOf } from '../fixtures/failure.js';
import {
  FAKE_SECRET_ACCESS_KEY,
  FAKE_SESSION_TOKEN,
  FakeCredentialIssuer,
  InMemoryAuditLog,
  InMemoryDelegationStore,
  InMemoryRateLimiter,
  fixedClock,
  sequentialIds,
  someCredentials,
} from '../fixtures/in-memory.js';
import { InMemoryLockdownStore } from '../fixtures/in-memory-lockdown.js';

const AWS_FEDERATION = 'https://signin.aws.amazon.com/federation';
const AWS_CONSOLE = 'https://console.aws.amazon.com/';
const LOCAL_CONSOLE = 'http://127.0.0.1:3005/federation/console/';

/** What `act` throws; fails the test if it returns. */
function thrownBy(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw, but it returned');
}

const destinationIssue = (destination: unknown) => {
  const parsed = vendRequestSchema.safeParse({ profile: 'demo-readonly', destination });
  return parsed.success ? undefined : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
};

describe('the destination of a console sign-in', () => {
  it.each([
    ['an absolute URL', 'https://evil.example.com/'],
    ['an absolute URL in capitals', 'HTTPS://evil.example.com'],
    ['a protocol-relative URL', '//evil.example.com/s3'],
    ['a protocol-relative URL after a backslash', '/\\evil.example.com'],
    ['two backslashes', '\\\\evil.example.com'],
    ['a javascript: URL', 'javascript:alert(document.cookie)'],
    ['a javascript: URL in mixed case', 'JaVaScRiPt:alert(1)'],
    ['a data: URL', 'data:text/html,<script>alert(1)</script>'],
    ['a scheme with no slashes', 'https:evil.example.com'],
    ['a NUL', 's3\u0000'],
    ['a line feed', 's3\n/evil'],
    ['a carriage return', 's3\r'],
    ['a tab', '\t//evil.example.com'],
    ['a DEL', 's3\u007f'],
    ['a C1 control', 's3\u0085'],
    ['a space', 's3 home'],
    ['a non-ASCII letter', 'ｓ3'],
    ['a zero-width space', '\u200b//evil.example.com'],
    ['a dot-dot segment', '../../_local/sessions'],
    ['a dot-dot segment further in', 's3/../../_local/sessions'],
    ['a percent-encoded dot-dot segment', '%2e%2e/%2E%2E/_local/sessions'],
    ['a half-encoded dot-dot segment', '.%2e/x'],
    ['an empty string', ''],
    ['513 characters', `s3/${'a'.repeat(510)}`],
    ['a number', 42],
  ])('refuses %s', (_label, destination) => {
    // Act
    const issue = destinationIssue(destination);

    // Assess
    expect(issue).toMatch(/^destination: /);
  });

  it.each([
    ['a service', 's3', `${AWS_CONSOLE}s3`],
    ['a path from the root', '/ec2/home', `${AWS_CONSOLE}ec2/home`],
    ['a region and a fragment with colons', 'ec2/home?region=eu-west-1#Instances:sort=desc:launchTime', `${AWS_CONSOLE}ec2/home?region=eu-west-1#Instances:sort=desc:launchTime`],
    ['percent-encoded characters', 's3/buckets/my%20bucket?region=us-east-1', `${AWS_CONSOLE}s3/buckets/my%20bucket?region=us-east-1`],
    ['a colon after the first slash', 'cloudwatch/home#dashboards:name=ops', `${AWS_CONSOLE}cloudwatch/home#dashboards:name=ops`],
    ['512 characters', `s3/${'a'.repeat(509)}`, `${AWS_CONSOLE}s3/${'a'.repeat(509)}`],
  ])('takes %s, under the console', (_label, destination, expected) => {
    // Act
    const issue = destinationIssue(destination);
    const url = consoleDestination(AWS_CONSOLE, destination);

    // Assess
    expect(issue).toBeUndefined();
    expect(url).toBe(expected);
  });

  it('is the console itself when none is named', () => {
    // Act, Assess
    expect(consoleDestination(AWS_CONSOLE)).toBe(AWS_CONSOLE);
  });

  it('stays under a console base that has a path (the local stack), whatever slashes it starts with', () => {
    // Act, Assess
    expect(consoleDestination(LOCAL_CONSOLE, '/ec2/home')).toBe(`${LOCAL_CONSOLE}ec2/home`);
    expect(consoleDestination(LOCAL_CONSOLE, 's3')).toBe(`${LOCAL_CONSOLE}s3`);
  });

  it.each(['//evil.example.com', 'javascript:alert(1)', 'https://evil.example.com/', '../../_local/sessions', '%2e%2e/_local/sessions', '/\\evil.example.com'])(
    'refuses %s even when the schema was not asked (another caller of the resolver)',
    (destination) => {
      // Act
      const error = thrownBy(() => consoleDestination(LOCAL_CONSOLE, destination));

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
    },
  );
});

describe('signInToConsole', () => {
  const deps = (signin = new FakeSigninTokenIssuer()) => ({ signin, federationEndpoint: AWS_FEDERATION, consoleUrl: AWS_CONSOLE });

  it("spends the session on a sign-in token and answers the federation endpoint's login URL for the destination", async () => {
    // Prepare
    const signin = new FakeSigninTokenIssuer();
    const credentials = someCredentials();

    // Act
    const answer = await signInToConsole(deps(signin), credentials, 'ec2/home?region=eu-west-1');

    // Assess
    expect(signin.sessions).toEqual([credentials.accessKeyId]);
    expect(answer.expiration).toBe(credentials.expiration);
    const url = new URL(answer.signinUrl);
    expect(`${url.origin}${url.pathname}`).toBe(AWS_FEDERATION);
    expect([...url.searchParams]).toEqual([
      ['Action', 'login'],
      ['Issuer', 'tvm'],
      ['Destination', `${AWS_CONSOLE}ec2/home?region=eu-west-1`],
      ['SigninToken', FAKE_SIGNIN_TOKEN],
    ]);
    expect(answer.signinUrl).not.toContain(FAKE_SECRET_ACCESS_KEY);
    expect(answer.signinUrl).not.toContain(encodeURIComponent(FAKE_SESSION_TOKEN));
  });

  it('passes a failure of the federation endpoint on as it is', async () => {
    // Prepare
    const signin = new FakeSigninTokenIssuer().failingWith();

    // Act
    const error = await failureOf(signInToConsole(deps(signin), someCredentials()));

    // Assess
    expect(error).toBeInstanceOf(FederationUnavailableError);
  });
});

describe('FederationSigninTokenIssuer', () => {
  interface Sent {
    readonly url: URL;
    readonly init: RequestInit | undefined;
  }
  const answering = (status: number, body: string, sent: Sent[] = []) =>
    (async (input: string | URL | Request, init?: RequestInit) => {
      sent.push({ url: new URL(String(input)), init });
      return new Response(body, { status });
    }) as typeof fetch;
  const credentials = someCredentials();

  it("asks getSigninToken with a GET carrying exactly the session's three fields, and no SessionDuration", async () => {
    // Prepare
    const sent: Sent[] = [];
    const issuer = new FederationSigninTokenIssuer(AWS_FEDERATION, { fetch: answering(200, JSON.stringify({ SigninToken: 'token-1' }), sent) });

    // Act
    const token = await issuer.getSigninToken(credentials);

    // Assess
    expect(token).toBe('token-1');
    expect(sent).toHaveLength(1);
    const [{ url, init }] = sent as [Sent];
    expect(`${url.origin}${url.pathname}`).toBe(AWS_FEDERATION);
    expect([...url.searchParams.keys()]).toEqual(['Action', 'Session']);
    expect(url.searchParams.get('Action')).toBe('getSigninToken');
    expect(JSON.parse(url.searchParams.get('Session') ?? '')).toEqual({
      sessionId: credentials.accessKeyId,
      sessionKey: FAKE_SECRET_ACCESS_KEY,
      sessionToken: FAKE_SESSION_TOKEN,
    });
    expect(init?.method ?? 'GET').toBe('GET');
    // A redirect is not the endpoint's answer: never followed with the session.
    expect(init?.redirect).toBe('error');
    expect(init?.signal).toBeInstanceOf(AbortSignal);
  });

  it.each([
    ['a refusal', 400, '{"message":"the session is invalid"}', /HTTP 400/],
    ['a server error', 500, 'oops', /HTTP 500/],
    ['a body that is not JSON', 200, '<html>maintenance</html>', /no sign-in token/],
    ['JSON without a token', 200, '{"Token":"x"}', /no sign-in token/],
    ['an empty token', 200, '{"SigninToken":""}', /no sign-in token/],
  ])('turns %s into FEDERATION_UNAVAILABLE', async (_label, status, body, message) => {
    // Prepare
    const issuer = new FederationSigninTokenIssuer(AWS_FEDERATION, { fetch: answering(status, body) });

    // Act
    const error = await failureOf(issuer.getSigninToken(credentials));

    // Assess
    expect(error).toBeInstanceOf(FederationUnavailableError);
    expect((error as Error).message).toMatch(message);
  });

  it('says why it could not reach the endpoint without ever carrying the session, in its message or a cause', async () => {
    // Prepare: a network failure whose own text holds the URL it was given, secrets and all
    const leaky = (async (input: string | URL | Request) => {
      throw new TypeError(`fetch failed for ${String(input)}`, { cause: Object.assign(new Error(`connect ECONNREFUSED ${String(input)}`), { code: 'ECONNREFUSED' }) });
    }) as typeof fetch;
    const issuer = new FederationSigninTokenIssuer(AWS_FEDERATION, { fetch: leaky });

    // Act
    const error = await failureOf(issuer.getSigninToken(credentials));

    // Assess
    expect(error).toBeInstanceOf(FederationUnavailableError);
    expect((error as Error).message).toContain('ECONNREFUSED');
    const everything = JSON.stringify(error, Object.getOwnPropertyNames(error)) + String((error as Error).cause) + (error as Error).message;
    for (const secret of [FAKE_SECRET_ACCESS_KEY, FAKE_SESSION_TOKEN, encodeURIComponent(FAKE_SECRET_ACCESS_KEY), encodeURIComponent(FAKE_SESSION_TOKEN)]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('gives up after its deadline', async () => {
    // Prepare: an endpoint that never answers
    const silent = ((_input: string | URL | Request, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)))) as typeof fetch;
    const issuer = new FederationSigninTokenIssuer(AWS_FEDERATION, { fetch: silent, timeoutMs: 20 });

    // Act
    const error = await failureOf(issuer.getSigninToken(credentials));

    // Assess
    expect(error).toBeInstanceOf(FederationUnavailableError);
    expect((error as Error).message).toMatch(/no answer within/);
  });
});

describe('a vend for the console', () => {
  function setUp(grantMaxSessionSeconds = 43_200) {
    const audit = new InMemoryAuditLog();
    const deps: VendDeps = {
      store: new InMemoryDelegationStore({ audit, profiles: [aProfile({ maxSessionSeconds: 43_200 })], grants: [aGrant({ maxSessionSeconds: grantMaxSessionSeconds })] }),
      lockdown: new InMemoryLockdownStore(audit),
      issuer: new FakeCredentialIssuer(),
      audit,
      limiter: new InMemoryRateLimiter(),
      clock: fixedClock(FIXED_NOW),
      ids: sequentialIds('evt'),
      warn: () => undefined,
    };
    return { deps, audit, issuer: deps.issuer as FakeCredentialIssuer };
  }
  const meta = { requestId: 'req-0001' };

  it('records the issuance with format "console"', async () => {
    // Prepare
    const { deps, audit } = setUp();

    // Act
    await vendCredentials(deps, aPrincipal(), { profile: aProfile().name }, meta, { format: 'console' });

    // Assess
    const [issued] = audit.events as [CredentialIssuedEvent];
    expect(issued).toMatchObject({ type: 'credential.issued', format: 'console', durationSeconds: CONSOLE_SESSION_SECONDS });
  });

  it('assumes the role without DurationSeconds (AWS signs such sessions in only at its default), for that hour', async () => {
    // Prepare
    const { deps, issuer } = setUp();

    // Act
    await vendCredentials(deps, aPrincipal(), { profile: aProfile().name, durationSeconds: CONSOLE_SESSION_SECONDS }, meta, { format: 'console' });
    await vendCredentials(deps, aPrincipal(), { profile: aProfile().name, durationSeconds: 1800 }, meta);

    // Assess: the console's request names none; a plain vend's does
    expect(issuer.requests.map((request) => request.durationSeconds)).toEqual([undefined, 1800]);
  });

  it('is hashed into the chain like every field: the item reads back intact, and a format taken off breaks it', async () => {
    // Prepare
    const { deps, audit } = setUp();
    await vendCredentials(deps, aPrincipal(), { profile: aProfile().name }, meta, { format: 'console' });
    const item = linkItem(auditItem(audit.events[0] as CredentialIssuedEvent, 0), undefined);

    // Act
    const { format: _format, ...stripped } = item;

    // Assess
    expect(isIntactEventItem(item)).toBe(true);
    expect(toAuditEvent(item)).toMatchObject({ type: 'credential.issued', format: 'console' });
    expect(isIntactEventItem(stripped)).toBe(false);
  });

  it('records no format for any other vend', async () => {
    // Prepare
    const { deps, audit } = setUp();

    // Act
    await vendCredentials(deps, aPrincipal(), { profile: aProfile().name }, meta);

    // Assess
    expect(audit.events[0]).not.toHaveProperty('format');
  });

  it.each([[CONSOLE_SESSION_SECONDS + 1], [1800]])('refuses any other duration (%i s), recorded, with nothing asked of STS, though the grant allows 12 h', async (durationSeconds) => {
    // Prepare
    const { deps, audit, issuer } = setUp();

    // Act
    const error = await failureOf(vendCredentials(deps, aPrincipal(), { profile: aProfile().name, durationSeconds }, meta, { format: 'console' }));

    // Assess
    expect(error).toBeInstanceOf(DurationOutOfRangeError);
    expect((error as Error).message).toMatch(/console session lasts 3600 s/);
    expect(issuer.requests).toEqual([]);
    expect(audit.events).toEqual([expect.objectContaining<Partial<CredentialDeniedEvent>>({ type: 'credential.denied', code: 'DURATION_OUT_OF_RANGE' })]);
  });

  it('is refused when the grant allows less than the hour, naming what it allows', async () => {
    // Prepare
    const { deps, issuer } = setUp(1800);

    // Act
    const error = await failureOf(vendCredentials(deps, aPrincipal(), { profile: aProfile().name }, meta, { format: 'console' }));

    // Assess
    expect(error).toBeInstanceOf(DurationOutOfRangeError);
    expect((error as Error).message).toMatch(/allows a session of 1800 s at most/);
    expect(issuer.requests).toEqual([]);
  });
});
