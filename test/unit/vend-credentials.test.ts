// vendCredentials with in-memory ports: what is asked of STS, what is recorded, and that nothing
// leaves without its audit record.
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import type { CredentialDeniedEvent, CredentialIssuedEvent } from '../../shared/domain/audit.js';
import {
  AuditUnavailableError,
  CutOffPendingError,
  DurationOutOfRangeError,
  EngagementHandedOverError,
  GrantExpiredError,
  LockdownActiveError,
  NoGrantError,
  NotFoundError,
  RateLimitedError,
  ScopeNotGrantedError,
  ScopeTooLargeError,
  StoreUnavailableError,
  TvmError,
  UpstreamStsError,
} from '../../shared/domain/errors.js';
import { revokeGrant } from '../../shared/domain/manage-grants.js';
import type { Grant, Lockdown, Profile, RequestMeta } from '../../shared/domain/model.js';
import type { VendRequest } from '../../shared/domain/schemas.js';
import { isValidSessionName, toSourceIdentity } from '../../shared/domain/source-identity.js';
import { vendCredentials, type VendDeps } from '../../shared/domain/vend-credentials.js';
import { DEFAULT_PROFILE_NAME, FIXED_NOW, aGrant, aPrincipal, aProfile } from '../fixtures/builders.js';
import {
  FAKE_SECRET_ACCESS_KEY,
  FAKE_SESSION_TOKEN,
  FakeCredentialIssuer,
  InMemoryAuditLog,
  InMemoryDelegationStore,
  InMemoryRateLimiter,
  fixedClock,
  inMemoryCutOff,
  sequentialIds,
  someCredentials,
} from '../fixtures/in-memory.js';
import { failureOf } from '../fixtures/failure.js';
import { aLockdown, InMemoryLockdownStore } from '../fixtures/in-memory-lockdown.js';

const META: RequestMeta = { requestId: 'req-0001', sourceIp: '203.0.113.7', userAgent: 'tvm-cli/0.1.0' };
const NOW_ISO = FIXED_NOW.toISOString();
/** The first id sequentialIds('evt') hands out: the audit event's unique part. */
const FIRST_EVENT_ID = `${NOW_ISO}#evt-00000001`;
const EXTERNAL_ID = 'ext-id-0f1e2d3c4b5a';
// STS's Tag.Value pattern and length.
const STS_TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

interface Warning {
  readonly message: string;
  readonly data: Record<string, unknown>;
}

function setUp(options: { profiles?: Profile[]; grants?: Grant[]; lockdown?: Lockdown; limiter?: InMemoryRateLimiter } = {}) {
  const audit = new InMemoryAuditLog();
  const lockdown = new InMemoryLockdownStore(audit, options.lockdown);
  const store = new InMemoryDelegationStore({
    audit,
    profiles: options.profiles ?? [aProfile()],
    grants: options.grants ?? [aGrant()],
  });
  const issuer = new FakeCredentialIssuer();
  const warnings: Warning[] = [];
  const clock = fixedClock(FIXED_NOW);
  const ids = sequentialIds('evt');
  const limiter = options.limiter ?? new InMemoryRateLimiter();
  const deps: VendDeps = {
    store,
    lockdown,
    issuer,
    audit,
    limiter,
    clock,
    ids,
    warn: (message, data) => {
      warnings.push({ message, data });
    },
  };
  return { deps, audit, store, issuer, warnings, clock, ids, lockdown, limiter };
}

function aVendRequest(overrides: Partial<VendRequest> = {}): VendRequest {
  return { profile: DEFAULT_PROFILE_NAME, ...overrides };
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

describe('vendCredentials', () => {
  describe('when the caller holds a usable grant', () => {
    it('returns the credentials with the profile, role, session and grant they were issued under, and the cut-off epoch it read', async () => {
      // Prepare
      const { deps, lockdown } = setUp();
      lockdown.cutOffEpoch = 7;

      // Act
      const result = await vendCredentials(deps, aPrincipal(), aVendRequest(), META);

      // Assess
      expect(result).toEqual({
        credentials: someCredentials(),
        profile: DEFAULT_PROFILE_NAME,
        roleArn: 'arn:aws:iam::123456789012:role/dev-readonly',
        sessionName: 'alice@example.com',
        sourceIdentity: 'alice@example.com',
        grantId: 'grant-0001',
        requestId: 'req-0001',
        cutOffEpoch: 7,
      });
    });

    it('calls STS exactly once and writes exactly one audit event', async () => {
      // Prepare
      const { deps, issuer, audit } = setUp();

      // Act
      await vendCredentials(deps, aPrincipal(), aVendRequest(), META);

      // Assess
      expect(issuer.calls).toBe(1);
      expect(audit.attempts).toHaveLength(1);
      expect(audit.events).toHaveLength(1);
    });

    it('records one credential.issued event with every field, the policy as its sha256', async () => {
      // Prepare
      const profile = aProfile({ scope: { actions: ['s3:Get*', 's3:List*'], resources: ['arn:aws:s3:::dev-*'] } });
      const { deps, audit, issuer } = setUp({ profiles: [profile] });
      const request = aVendRequest({ durationSeconds: 1800, reason: 'JIRA-123 debugging', scope: { actions: ['s3:GetObject'] } });

      // Act
      await vendCredentials(deps, aPrincipal(), request, META);

      // Assess
      const policySent = issuer.onlyRequest().policy;
      expect(policySent).toBeDefined();
      const expected: CredentialIssuedEvent = {
        id: FIRST_EVENT_ID,
        type: 'credential.issued',
        at: NOW_ISO,
        principal: 'alice@example.com',
        requestId: 'req-0001',
        sourceIp: '203.0.113.7',
        userAgent: 'tvm-cli/0.1.0',
        profile: DEFAULT_PROFILE_NAME,
        roleArn: 'arn:aws:iam::123456789012:role/dev-readonly',
        grantId: 'grant-0001',
        accessKeyId: 'ASIAFAKEACCESSKEY001',
        expiration: '2026-06-01T12:15:00.000Z',
        sessionName: 'alice@example.com',
        sourceIdentity: 'alice@example.com',
        assumedRoleArn: 'arn:aws:sts::123456789012:assumed-role/dev-readonly/alice@example.com',
        durationSeconds: 1800,
        policyHash: sha256(policySent as string),
        groups: aPrincipal().groups,
        reason: 'JIRA-123 debugging',
      };
      expect(audit.events).toEqual([expected]);
    });

    it('records no policyHash when no session policy was sent', async () => {
      // Prepare
      const { deps, audit } = setUp();

      // Act
      await vendCredentials(deps, aPrincipal(), aVendRequest(), META);

      // Assess
      const [issued] = audit.eventsOfType('credential.issued');
      expect(issued).toBeDefined();
      expect(issued).not.toHaveProperty('policyHash');
    });

    it('never records the secret access key or the session token', async () => {
      // Prepare
      const profile = aProfile({ externalId: EXTERNAL_ID, scope: { actions: ['s3:*'] } });
      const { deps, audit, warnings } = setUp({ profiles: [profile] });

      // Act
      await vendCredentials(deps, aPrincipal(), aVendRequest({ reason: 'routine' }), META);

      // Assess
      const recorded = JSON.stringify([audit.attempts, warnings]);
      expect(recorded).toContain('ASIAFAKEACCESSKEY001');
      expect(recorded).not.toContain(FAKE_SECRET_ACCESS_KEY);
      expect(recorded).not.toContain(FAKE_SESSION_TOKEN);
      expect(recorded).not.toContain(EXTERNAL_ID);
    });
  });

  describe('the AssumeRole request', () => {
    it('carries the role, the derived session name and SourceIdentity, the default duration and the tags', async () => {
      // Prepare
      const { deps, issuer } = setUp();

      // Act
      await vendCredentials(deps, aPrincipal(), aVendRequest(), META);

      // Assess
      const request = issuer.onlyRequest();
      expect(request).toEqual({
        roleArn: 'arn:aws:iam::123456789012:role/dev-readonly',
        sessionName: 'alice@example.com',
        sourceIdentity: 'alice@example.com',
        durationSeconds: 900,
        tags: [
          { key: 'tvm:grant', value: 'grant-0001' },
          { key: 'tvm:request', value: 'req-0001' },
          { key: 'tvm:lockdown', value: 'none' },
          { key: 'tvm:principal', value: 'alice@example.com' },
        ],
      });
      expect(request).not.toHaveProperty('policy');
      expect(request).not.toHaveProperty('externalId');
    });

    it('derives the session name and SourceIdentity from the principal id alone', async () => {
      // Prepare
      const { deps, issuer } = setUp({
        grants: [aGrant({ id: 'grant-mine' }), aGrant({ id: 'grant-group', subject: { type: 'group', id: 'oncall' } })],
      });

      // Act: same principal id, everything else different.
      await vendCredentials(deps, aPrincipal({ groups: ['developers'] }), aVendRequest(), META);
      await vendCredentials(
        deps,
        aPrincipal({ groups: ['oncall', 'admins'], issuer: 'https://other-idp.example.com' }),
        aVendRequest({ durationSeconds: 1200, reason: 'session name: mallory' }),
        { requestId: 'req-0002', sourceIp: '198.51.100.1', userAgent: 'sessionName=mallory' },
      );

      // Assess
      const [first, second] = issuer.requests;
      expect(first?.sessionName).toBe(toSourceIdentity('alice@example.com'));
      expect(second?.sessionName).toBe(first?.sessionName);
      expect(second?.sourceIdentity).toBe(first?.sourceIdentity);
      expect(first?.sourceIdentity).toBe(first?.sessionName);
    });

    it('sends the ExternalId when the profile has one', async () => {
      // Prepare
      const { deps, issuer } = setUp({ profiles: [aProfile({ externalId: EXTERNAL_ID })] });

      // Act
      await vendCredentials(deps, aPrincipal(), aVendRequest(), META);

      // Assess
      expect(issuer.onlyRequest().externalId).toBe(EXTERNAL_ID);
    });

    it('sends the requested duration when it is within the grant and the profile', async () => {
      // Prepare
      const { deps, issuer } = setUp({ grants: [aGrant({ maxSessionSeconds: 1800 })] });

      // Act
      await vendCredentials(deps, aPrincipal(), aVendRequest({ durationSeconds: 1800 }), META);

      // Assess
      expect(issuer.onlyRequest().durationSeconds).toBe(1800);
    });

    it('sends the requested scope as the session policy', async () => {
      // Prepare
      const profile = aProfile({ scope: { actions: ['s3:*'], resources: ['arn:aws:s3:::dev-*'] } });
      const { deps, issuer } = setUp({ profiles: [profile] });

      // Act
      await vendCredentials(
        deps,
        aPrincipal(),
        aVendRequest({ scope: { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::dev-logs/*'] } }),
        META,
      );

      // Assess
      const policy = issuer.onlyRequest().policy;
      expect(JSON.parse(policy as string)).toEqual({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::dev-logs/*'] }],
      });
    });

    it("sends the grant's scope when the request has none", async () => {
      // Prepare
      const { deps, issuer } = setUp({ grants: [aGrant({ scope: { actions: ['ec2:Describe*'] } })] });

      // Act
      await vendCredentials(deps, aPrincipal(), aVendRequest(), META);

      // Assess
      expect(JSON.parse(issuer.onlyRequest().policy as string)).toEqual({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['ec2:Describe*'], Resource: ['*'] }],
      });
    });
  });

  describe('fails closed when the audit trail cannot record the issuance', () => {
    it('throws AuditUnavailableError and returns no credentials, although STS issued them', async () => {
      // Prepare
      const { deps, audit, issuer, warnings } = setUp();
      audit.failAppends = true;

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(AuditUnavailableError);
      expect(issuer.calls).toBe(1);
      expect(audit.events).toEqual([]);
      // Only the issuance was attempted: an audit failure is not also recorded as a denial.
      expect(audit.attempts.map((event) => event.type)).toEqual(['credential.issued']);
      expect(warnings).toEqual([]);
      // Nothing secret rides along on the error either.
      const thrown = inspect(error, { depth: 10, showHidden: true });
      expect(thrown).not.toContain(FAKE_SECRET_ACCESS_KEY);
      expect(thrown).not.toContain(FAKE_SESSION_TOKEN);
      expect(JSON.stringify(audit.attempts)).not.toContain(FAKE_SECRET_ACCESS_KEY);
      expect(JSON.stringify(audit.attempts)).not.toContain(FAKE_SESSION_TOKEN);
    });
  });

  describe('refusals', () => {
    const restrictedProfile = aProfile({ scope: { actions: ['s3:Get*'], resources: ['arn:aws:s3:::dev-*'] } });
    // 30 resources of ~100 characters: a valid request whose policy exceeds STS's 2,048 characters.
    const manyResources = Array.from(
      { length: 30 },
      (_, i) => `arn:aws:s3:::bucket-${String(i).padStart(2, '0')}/${'x'.repeat(80)}`,
    );

    it.each<{
      label: string;
      code: string;
      error: new (...args: never[]) => TvmError;
      profiles?: Profile[];
      grants?: Grant[];
      request?: Partial<VendRequest>;
      stsError?: TvmError;
      stsCalls: number;
      /** Refused after a grant was chosen: the denial names it. */
      afterGrant?: boolean;
    }>([
      { label: 'no grant at all', code: 'NO_GRANT', error: NoGrantError, grants: [], stsCalls: 0 },
      {
        label: "only someone else's grant",
        code: 'NO_GRANT',
        error: NoGrantError,
        grants: [aGrant({ subject: { type: 'user', id: 'bob@example.com' } })],
        stsCalls: 0,
      },
      {
        label: 'the grant has expired',
        code: 'GRANT_EXPIRED',
        error: GrantExpiredError,
        grants: [aGrant({ validUntil: '2026-05-31T12:00:00.000Z' })],
        stsCalls: 0,
      },
      {
        label: 'no such profile',
        code: 'NOT_FOUND',
        error: NotFoundError,
        request: { profile: 'no-such-profile' },
        stsCalls: 0,
      },
      {
        label: "above the profile's maximum",
        afterGrant: true,
        code: 'DURATION_OUT_OF_RANGE',
        error: DurationOutOfRangeError,
        request: { durationSeconds: 7200 },
        stsCalls: 0,
      },
      {
        label: 'below the AssumeRole minimum',
        afterGrant: true,
        code: 'DURATION_OUT_OF_RANGE',
        error: DurationOutOfRangeError,
        request: { durationSeconds: 600 },
        stsCalls: 0,
      },
      {
        label: "above the grant's maximum",
        afterGrant: true,
        code: 'DURATION_OUT_OF_RANGE',
        error: DurationOutOfRangeError,
        grants: [aGrant({ maxSessionSeconds: 1200 })],
        request: { durationSeconds: 1800 },
        stsCalls: 0,
      },
      {
        label: "an action outside the profile's scope",
        afterGrant: true,
        code: 'SCOPE_NOT_GRANTED',
        error: ScopeNotGrantedError,
        profiles: [restrictedProfile],
        request: { scope: { actions: ['s3:PutObject'] } },
        stsCalls: 0,
      },
      {
        label: "a resource outside the grant's scope",
        afterGrant: true,
        code: 'SCOPE_NOT_GRANTED',
        error: ScopeNotGrantedError,
        grants: [aGrant({ scope: { resources: ['arn:aws:s3:::dev-logs/*'] } })],
        request: { scope: { resources: ['arn:aws:s3:::prod-logs/*'] } },
        stsCalls: 0,
      },
      {
        label: 'a policy over 2,048 characters',
        afterGrant: true,
        code: 'SCOPE_TOO_LARGE',
        error: ScopeTooLargeError,
        request: { scope: { resources: manyResources } },
        stsCalls: 0,
      },
      {
        label: 'STS refused',
        afterGrant: true,
        code: 'UPSTREAM_STS_ERROR',
        error: UpstreamStsError,
        stsError: new UpstreamStsError('STS AssumeRole failed (AccessDenied)', { details: { stsCode: 'AccessDenied' } }),
        stsCalls: 1,
      },
      {
        label: 'STS found the packed policy too large',
        afterGrant: true,
        code: 'SCOPE_TOO_LARGE',
        error: ScopeTooLargeError,
        stsError: new ScopeTooLargeError('the session policy is too large for STS: packed size 104%'),
        stsCalls: 1,
      },
    ])('$code when $label: throws, records one credential.denied, makes $stsCalls STS call(s)', async (refusal) => {
      // Prepare
      const { deps, audit, issuer } = setUp({
        ...(refusal.profiles ? { profiles: refusal.profiles } : {}),
        ...(refusal.grants ? { grants: refusal.grants } : {}),
      });
      if (refusal.stsError) issuer.failWith(refusal.stsError);
      const request = aVendRequest(refusal.request);

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), request, META));

      // Assess
      expect(error).toBeInstanceOf(refusal.error);
      expect(issuer.calls).toBe(refusal.stsCalls);
      const expected: CredentialDeniedEvent = {
        id: FIRST_EVENT_ID,
        type: 'credential.denied',
        at: NOW_ISO,
        principal: 'alice@example.com',
        requestId: 'req-0001',
        sourceIp: '203.0.113.7',
        userAgent: 'tvm-cli/0.1.0',
        profile: request.profile,
        code: refusal.code,
        message: (error as TvmError).message,
        ...(refusal.afterGrant ? { grantId: 'grant-0001' } : {}),
      };
      expect(audit.events).toEqual([expected]);
    });

    it('records the reason given with a refused request', async () => {
      // Prepare
      const { deps, audit } = setUp({ grants: [] });

      // Act
      await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest({ reason: 'INC-42' }), META));

      // Assess
      expect(audit.eventsOfType('credential.denied')).toEqual([
        expect.objectContaining({ code: 'NO_GRANT', reason: 'INC-42' }),
      ]);
    });

    it('falls back to another usable grant when the best-ranked one cannot serve the request', async () => {
      // Prepare: the longest-session grant ends in 10 minutes; another lasts, with a shorter limit
      const ending = aGrant({ id: 'grant-ending', maxSessionSeconds: 3600, validUntil: new Date(FIXED_NOW.getTime() + 600_000).toISOString() });
      const lasting = aGrant({ id: 'grant-lasting', maxSessionSeconds: 1800 });
      const narrow = aGrant({ id: 'grant-narrow', maxSessionSeconds: 1800, scope: { actions: ['s3:GetObject'] } });
      const { deps, issuer } = setUp({ grants: [ending, narrow, lasting] });

      // Act
      const result = await vendCredentials(
        deps,
        aPrincipal(),
        aVendRequest({ durationSeconds: 1200, scope: { actions: ['s3:PutObject'] } }),
        META,
      );

      // Assess
      expect(result.grantId).toBe('grant-lasting');
      expect(issuer.onlyRequest().durationSeconds).toBe(1200);
    });

    it("refuses with the best-ranked grant's reason when no grant can serve the request", async () => {
      // Prepare
      const { deps, audit } = setUp({
        grants: [aGrant({ id: 'grant-a', maxSessionSeconds: 1800 }), aGrant({ id: 'grant-b', maxSessionSeconds: 1200 })],
      });

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest({ durationSeconds: 3000 }), META));

      // Assess
      expect(error).toBeInstanceOf(DurationOutOfRangeError);
      expect((error as Error).message).toContain('between 900 and 1800');
      expect(audit.events).toEqual([expect.objectContaining({ code: 'DURATION_OUT_OF_RANGE', grantId: 'grant-a' })]);
    });

    it('refuses a caller outside the allow list of an active lockdown, before STS, and records it', async () => {
      // Prepare
      const { deps, issuer, audit } = setUp({ lockdown: aLockdown() });

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal({ groups: ['engineering'] }), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(LockdownActiveError);
      expect(issuer.calls).toBe(0);
      expect(audit.events).toEqual([expect.objectContaining({ type: 'credential.denied', code: 'LOCKDOWN_ACTIVE' })]);
    });

    it('still vends to an allowed caller within their grants during a lockdown', async () => {
      // Prepare
      const { deps } = setUp({ lockdown: aLockdown() });

      // Act
      const result = await vendCredentials(deps, aPrincipal({ groups: ['top-brass'] }), aVendRequest(), META);

      // Assess
      expect(result.grantId).toBe('grant-0001');
    });

    // The attack: another profile on the locked profile's role, under any name (or any case and
    // path in its ARN), must not get an outsider a session of that role.
    it.each([
      ['the same role ARN', 'arn:aws:iam::123456789012:role/dev-readonly'],
      ['the role in another case and with a path', 'arn:aws:iam::123456789012:role/team/DEV-ReadOnly'],
    ])('refuses an outsider on an alias profile naming the locked role by %s, and records it', async (_label, roleArn) => {
      // Prepare: prod-admin is locked; the caller's grant is on an alias of its role
      const alias = aProfile({ name: 'harmless-alias', roleArn, generation: 'alias-gen' });
      const { deps, issuer, audit } = setUp({
        profiles: [alias],
        grants: [aGrant({ profile: alias.name, profileGeneration: alias.generation })],
        lockdown: aLockdown({ profiles: ['prod-admin'], roles: ['arn:aws:iam::123456789012:role/dev-readonly'] }),
      });

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal({ groups: ['engineering'] }), aVendRequest({ profile: alias.name }), META));

      // Assess
      expect(error).toBeInstanceOf(LockdownActiveError);
      expect(issuer.calls).toBe(0);
      expect(audit.events).toEqual([expect.objectContaining({ type: 'credential.denied', code: 'LOCKDOWN_ACTIVE', profile: alias.name })]);
    });

    it("tags an allowed caller's session during a lockdown with its version, so the lockdown's cut-off spares it", async () => {
      // Prepare
      const { deps, issuer, audit } = setUp({ lockdown: aLockdown({ version: 7 }) });

      // Act
      await vendCredentials(deps, aPrincipal({ groups: ['top-brass'] }), aVendRequest(), META);

      // Assess
      expect(issuer.requests[0]?.tags).toContainEqual({ key: 'tvm:lockdown', value: '7' });
      expect(audit.events).toEqual([expect.objectContaining({ type: 'credential.issued', lockdownExemption: '7' })]);
    });

    // The attack: someone who may tag roles tags one `tvm:lockdown=<next version>`. aws:PrincipalTag
    // includes the role's own tags, so a session without a tag of that key would be spared by the
    // next lockdown. A session tag overrides a role tag of the same key: every session carries one.
    it("tags every session outside an exemption tvm:lockdown=none, so a role's own tag cannot exempt it", async () => {
      // Prepare
      const { deps, issuer, audit } = setUp({ lockdown: aLockdown({ profiles: ['prod-admin'], roles: ['arn:aws:iam::123456789012:role/prod'] }) });

      // Act
      await vendCredentials(deps, aPrincipal({ groups: ['top-brass'] }), aVendRequest(), META);

      // Assess
      expect(issuer.requests[0]?.tags.filter((tag) => tag.key === 'tvm:lockdown')).toEqual([{ key: 'tvm:lockdown', value: 'none' }]);
      expect(audit.events[0]).not.toHaveProperty('lockdownExemption');
    });

    it('ignores a lockdown on other profiles, and a lifted one', async () => {
      // Prepare
      const other = setUp({ lockdown: aLockdown({ profiles: ['prod-admin'] }) });
      const lifted = setUp({ lockdown: aLockdown({ active: false }) });

      // Act
      const results = await Promise.all([
        vendCredentials(other.deps, aPrincipal(), aVendRequest(), META),
        vendCredentials(lifted.deps, aPrincipal(), aVendRequest(), META),
      ]);

      // Assess
      expect(results.map((r) => r.grantId)).toEqual(['grant-0001', 'grant-0001']);
    });

    it('tells a contractor whose access ended with a handover: ENGAGEMENT_HANDED_OVER', async () => {
      // Prepare
      const { deps } = setUp({
        grants: [aGrant({ status: 'revoked', engagementId: 'eng-1', revokedReason: 'engagement-handed-over' })],
      });

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(EngagementHandedOverError);
      expect((error as Error).message).toContain('eng-1');
    });

    it("ignores grants made for an earlier, deleted profile of the same name", async () => {
      // Prepare
      const { deps, issuer } = setUp({ grants: [aGrant({ profileGeneration: 'generation-of-a-deleted-profile' })] });

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(NoGrantError);
      expect(issuer.calls).toBe(0);
    });

    it('never vends a session that outlives its grant', async () => {
      // Prepare: the grant ends 1,000 s from now
      const { deps, issuer } = setUp({
        grants: [aGrant({ validUntil: new Date(FIXED_NOW.getTime() + 1_000_000).toISOString() })],
      });

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest({ durationSeconds: 1800 }), META));
      await vendCredentials(deps, aPrincipal(), aVendRequest({ durationSeconds: 1000 }), META);

      // Assess
      expect(error).toBeInstanceOf(DurationOutOfRangeError);
      expect((error as Error).message).toContain('between 900 and 1000');
      expect(issuer.onlyRequest().durationSeconds).toBe(1000);
    });

    it('records an unexpected failure as INTERNAL', async () => {
      // Prepare
      const { deps, audit, issuer } = setUp();
      issuer.failWith(new TypeError('boom'));

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(TypeError);
      expect(audit.events).toEqual([
        expect.objectContaining({ type: 'credential.denied', code: 'INTERNAL', message: 'internal error', grantId: 'grant-0001' }),
      ]);
    });

    it('records STORE_UNAVAILABLE and does not call STS when the store cannot be read', async () => {
      // Prepare
      const { deps, audit, issuer, store } = setUp();
      store.unavailable = true;

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(issuer.calls).toBe(0);
      expect(audit.events).toEqual([expect.objectContaining({ type: 'credential.denied', code: 'STORE_UNAVAILABLE' })]);
    });

    it('still throws the original error, and warns, when the denial cannot be recorded', async () => {
      // Prepare
      const { deps, audit, issuer, warnings } = setUp({ grants: [] });
      audit.failAppends = true;

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(NoGrantError);
      expect(issuer.calls).toBe(0);
      expect(audit.events).toEqual([]);
      expect(warnings).toEqual([
        {
          message: 'denial could not be recorded',
          data: { code: 'NO_GRANT', profile: DEFAULT_PROFILE_NAME, error: expect.any(AuditUnavailableError) },
        },
      ]);
    });

    it('still throws the STS error, and warns, when the denial after an STS failure cannot be recorded', async () => {
      // Prepare
      const { deps, audit, issuer, warnings } = setUp();
      issuer.failWith(new UpstreamStsError('STS AssumeRole failed (Throttling)', { details: { stsCode: 'Throttling' } }));
      audit.failAppends = true;

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(UpstreamStsError);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.data).toMatchObject({ code: 'UPSTREAM_STS_ERROR' });
    });
  });

  describe('step-up for restricted profiles (RFC 9470)', () => {
    const RESTRICTED = aProfile({ sensitivity: 'restricted' });
    const NOW_S = FIXED_NOW.getTime() / 1000;

    it('refuses a password-only sign-in with STEP_UP_REQUIRED, asks STS nothing and records the denial', async () => {
      // Prepare
      const { deps, audit, issuer } = setUp({ profiles: [RESTRICTED] });
      const passwordOnly = aPrincipal({ signIn: { methods: ['pwd'], at: NOW_S - 30, strong: false } });

      // Act
      const error = await failureOf(vendCredentials(deps, passwordOnly, aVendRequest(), META));

      // Assess
      expect(error).toMatchObject({ code: 'STEP_UP_REQUIRED', details: { maxAgeSeconds: 900 } });
      expect(issuer.calls).toBe(0);
      expect(audit.events).toEqual([expect.objectContaining({ type: 'credential.denied', code: 'STEP_UP_REQUIRED', grantId: 'grant-0001' })]);
    });

    it('refuses an MFA sign-in older than the profile allows', async () => {
      // Prepare
      const { deps, issuer } = setUp({ profiles: [{ ...RESTRICTED, stepUp: { maxAuthAgeSeconds: 300 } }] });
      const stale = aPrincipal({ signIn: { methods: ['mfa'], at: NOW_S - 301, strong: true } });

      // Act
      const error = await failureOf(vendCredentials(deps, stale, aVendRequest(), META));

      // Assess
      expect(error).toMatchObject({ code: 'STEP_UP_REQUIRED', details: { maxAgeSeconds: 300 } });
      expect(issuer.calls).toBe(0);
    });

    it('vends after a fresh MFA sign-in, and the issuance records how and when the person signed in', async () => {
      // Prepare
      const { deps, audit } = setUp({ profiles: [RESTRICTED] });
      const fresh = aPrincipal({ signIn: { methods: ['pwd', 'mfa'], at: NOW_S - 60, strong: true } });

      // Act
      await vendCredentials(deps, fresh, aVendRequest(), META);

      // Assess
      expect(audit.events[0]).toMatchObject({ type: 'credential.issued', amr: ['pwd', 'mfa'], authTime: new Date((NOW_S - 60) * 1000).toISOString() });
    });

    it('leaves a standard profile alone: no step-up asked, no sign-in recorded', async () => {
      // Prepare
      const { deps, audit } = setUp();

      // Act
      await vendCredentials(deps, aPrincipal({ signIn: { methods: ['pwd'], strong: false } }), aVendRequest(), META);

      // Assess
      expect(audit.events[0]?.type).toBe('credential.issued');
      expect(audit.events[0]).not.toHaveProperty('amr');
    });

    it('asks no step-up of a caller without a grant: the refusal is NO_GRANT', async () => {
      // Prepare
      const { deps } = setUp({ profiles: [RESTRICTED], grants: [] });

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toMatchObject({ code: 'NO_GRANT' });
    });
  });

  describe('revocation', () => {
    it('refuses a revoked grant with NO_GRANT', async () => {
      // Prepare
      const { deps, issuer } = setUp({
        grants: [aGrant({ status: 'revoked', revokedAt: '2026-05-01T00:00:00.000Z', revokedBy: 'admin@example.com' })],
      });

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(NoGrantError);
      expect(issuer.calls).toBe(0);
    });

    it('refuses the very next vend after the grant is revoked', async () => {
      // Prepare
      const { deps, store, issuer, clock, ids, audit } = setUp();
      await vendCredentials(deps, aPrincipal(), aVendRequest(), META);
      await revokeGrant(
        { ...inMemoryCutOff(audit, clock, ids), store, clock, ids, adminGroup: 'tvm-admin' },
        aPrincipal({ id: 'admin@example.com', groups: ['tvm-admin'] }),
        'grant-0001',
        { requestId: 'req-revoke' },
      );

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), { requestId: 'req-0002' }));

      // Assess
      expect(error).toBeInstanceOf(NoGrantError);
      expect(issuer.calls).toBe(1);
    });
  });

  describe('cut-offs decided moments ago (their revocations still reach sessions minted now)', () => {
    const ROLE = 'arn:aws:iam::123456789012:role/dev-readonly';
    const inAMinute = new Date(FIXED_NOW.getTime() + 60_000).toISOString();

    it('leaves out a grant one revoked even when the read of the grants predates it (a revocation racing the vend)', async () => {
      // Prepare: the grants read still shows grant-0001 active; the cut-off that revoked it is in the lockdown read
      const { deps, lockdown, issuer, audit } = setUp({ grants: [aGrant(), aGrant({ id: 'grant-0002', validUntil: '2026-12-01T00:00:00.000Z' })] });
      lockdown.cutOffs.push({ roles: [ROLE], revocations: [{ kind: 'grant', grantId: 'grant-0002', before: inAMinute }] });
      const onlyRevoked = setUp({ grants: [aGrant()] });
      onlyRevoked.lockdown.cutOffs.push({ roles: [ROLE.replace('dev-readonly', 'DEV-READONLY')], revocations: [{ kind: 'grant', grantId: 'grant-0001', before: inAMinute }] });

      // Act
      const vended = await vendCredentials(deps, aPrincipal(), aVendRequest(), META);
      const refused = await failureOf(vendCredentials(onlyRevoked.deps, aPrincipal(), aVendRequest(), META));

      // Assess: the other grant (grant-0002 would have ranked first: it ends sooner); none left → NO_GRANT
      expect(vended.grantId).toBe('grant-0001');
      expect(issuer.calls).toBe(1);
      expect(audit.events.map((e) => e.type)).toEqual(['credential.issued']);
      expect(refused).toBeInstanceOf(NoGrantError);
      expect(onlyRevoked.issuer.calls).toBe(0);
    });

    it.each([
      ['the person cut off', { kind: 'person' as const, sourceIdentity: 'alice@example.com', before: '' }],
      ['a lockdown that does not spare them', { kind: 'lockdown' as const, allowedSourceIdentities: ['boss@example.com'], before: '' }],
      ['a role-wide fallback', { kind: 'role-wide' as const, before: '' }],
    ])('refuses a session %s would deny from the moment it exists: 409 CUT_OFF_PENDING, when to ask again, recorded, STS never called', async (_name, revocation) => {
      // Prepare
      const { deps, lockdown, issuer, audit } = setUp();
      lockdown.cutOffs.push({ roles: [ROLE], revocations: [{ ...revocation, before: inAMinute }] });

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(CutOffPendingError);
      expect((error as TvmError).details).toEqual({ retryAfterSeconds: 61 });
      expect((error as TvmError).message).toMatch(/issued before 2026-06-01T12:01:00.000Z.*try again in 61 s/);
      expect(issuer.calls).toBe(0);
      expect(audit.events).toEqual([expect.objectContaining({ type: 'credential.denied', code: 'CUT_OFF_PENDING', grantId: 'grant-0001' })]);
    });

    it('still refuses just after its `before`: IAM rounds a cutoff up to the whole second (12:00:00.300 denies until 12:00:01)', async () => {
      // Prepare: now is 12:00:00.000; the cutoff was 11:59:59.300, which IAM enforces until 12:00:00
      const { deps, lockdown, issuer } = setUp();
      lockdown.cutOffs.push({ roles: [ROLE], revocations: [{ kind: 'role-wide', before: new Date(FIXED_NOW.getTime() - 700).toISOString() }] });

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(CutOffPendingError);
      expect((error as TvmError).details).toEqual({ retryAfterSeconds: 1 });
      expect(issuer.calls).toBe(0);
    });

    it('vends as before once the cut-off no longer reaches new sessions, to someone it spares, and on another role', async () => {
      // Prepare
      const later = setUp();
      later.lockdown.cutOffs.push({ roles: [ROLE], revocations: [{ kind: 'role-wide', before: new Date(FIXED_NOW.getTime() - 2_000).toISOString() }] });
      const spared = setUp();
      spared.lockdown.cutOffs.push({ roles: [ROLE], revocations: [{ kind: 'person', sourceIdentity: 'mallory@example.com', before: inAMinute }] });
      const exempt = setUp();
      exempt.lockdown.cutOffs.push({ roles: [ROLE], revocations: [{ kind: 'lockdown', allowedSourceIdentities: ['alice@example.com'], before: inAMinute }] });
      const otherRole = setUp();
      otherRole.lockdown.cutOffs.push({ roles: ['arn:aws:iam::123456789012:role/prod-admin'], revocations: [{ kind: 'role-wide', before: inAMinute }] });

      // Act
      const results = await Promise.all([later, spared, exempt, otherRole].map(({ deps }) => vendCredentials(deps, aPrincipal(), aVendRequest(), META)));

      // Assess
      expect(results.map((r) => r.grantId)).toEqual(['grant-0001', 'grant-0001', 'grant-0001', 'grant-0001']);
    });
  });

  describe("the caller's grants, read", () => {
    /** The store, with every read it answers recorded. */
    function spyOnReads(store: InMemoryDelegationStore) {
      const reads: string[] = [];
      const spied = Object.assign(Object.create(store) as InMemoryDelegationStore, {
        getProfileWithGrants: (...args: Parameters<typeof store.getProfileWithGrants>) => {
          reads.push(`active at ${args[2].toISOString()}`);
          return store.getProfileWithGrants(...args);
        },
        getEndedGrants: (...args: Parameters<typeof store.getEndedGrants>) => {
          reads.push(`ended at ${args[2].toISOString()}`);
          return store.getEndedGrants(...args);
        },
      });
      return { spied, reads };
    }

    it("are the caller's active grants from now on: a vend that finds one reads nothing else", async () => {
      // Prepare
      const { deps, store } = setUp({
        grants: [aGrant(), aGrant({ id: 'grant-expired', validUntil: '2026-05-01T00:00:00.000Z' }), aGrant({ id: 'grant-revoked', status: 'revoked' })],
      });
      const { spied, reads } = spyOnReads(store);

      // Act
      const result = await vendCredentials({ ...deps, store: spied }, aPrincipal(), aVendRequest(), META);

      // Assess
      expect(result.grantId).toBe('grant-0001');
      expect(reads).toEqual([`active at ${NOW_ISO}`]);
    });

    it('explain a refusal with one more read, only then: GRANT_EXPIRED with when the last grant expired', async () => {
      // Prepare
      const { deps, store, issuer } = setUp({
        grants: [
          aGrant({ id: 'grant-a', validUntil: '2026-05-01T00:00:00.000Z' }),
          aGrant({ id: 'grant-b', subject: { type: 'group', id: 'developers' }, validUntil: '2026-05-20T00:00:00.000Z' }),
        ],
      });
      const { spied, reads } = spyOnReads(store);

      // Act
      const error = await failureOf(vendCredentials({ ...deps, store: spied }, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(GrantExpiredError);
      expect((error as Error).message).toContain('2026-05-20T00:00:00.000Z');
      expect(reads).toEqual([`active at ${NOW_ISO}`, `ended at ${NOW_ISO}`]);
      expect(issuer.calls).toBe(0);
    });

    it('tell a handed-over contractor so only until the grant would have ended: afterwards NO_GRANT', async () => {
      // Prepare
      const { deps } = setUp({
        grants: [
          aGrant({ status: 'revoked', engagementId: 'eng-1', revokedReason: 'engagement-handed-over', validUntil: '2026-05-31T00:00:00.000Z' }),
        ],
      });

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(NoGrantError);
    });

    it('still refuse, with NO_GRANT, when the explanation cannot be read, and warn', async () => {
      // Prepare
      const { deps, store, issuer, audit, warnings } = setUp({ grants: [aGrant({ validUntil: '2026-05-01T00:00:00.000Z' })] });
      const failing = Object.assign(Object.create(store) as InMemoryDelegationStore, {
        getEndedGrants: () => Promise.reject(new StoreUnavailableError('the delegations table could not be read')),
      });

      // Act
      const error = await failureOf(vendCredentials({ ...deps, store: failing }, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(NoGrantError);
      expect(issuer.calls).toBe(0);
      expect(audit.events).toEqual([expect.objectContaining({ type: 'credential.denied', code: 'NO_GRANT' })]);
      expect(warnings.map((w) => w.message)).toEqual(['the reason for a refusal could not be read']);
    });
  });

  describe('group grants', () => {
    it("vends under a grant held by one of the caller's groups", async () => {
      // Prepare
      const { deps, issuer, audit } = setUp({
        grants: [aGrant({ id: 'grant-devs', subject: { type: 'group', id: 'developers' } })],
      });

      // Act
      const result = await vendCredentials(deps, aPrincipal({ groups: ['developers'] }), aVendRequest(), META);

      // Assess
      expect(result.grantId).toBe('grant-devs');
      expect(issuer.onlyRequest().tags).toContainEqual({ key: 'tvm:grant', value: 'grant-devs' });
      expect(audit.eventsOfType('credential.issued')).toEqual([expect.objectContaining({ grantId: 'grant-devs' })]);
    });

    it('refuses a caller outside the group', async () => {
      // Prepare
      const { deps, issuer } = setUp({
        grants: [aGrant({ id: 'grant-devs', subject: { type: 'group', id: 'developers' } })],
      });

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal({ groups: ['marketing'] }), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(NoGrantError);
      expect(issuer.calls).toBe(0);
    });

    it('does not take a user grant for a group of the same name', async () => {
      // Prepare: a user called "developers" holds the grant; alice is only in the group.
      const { deps } = setUp({ grants: [aGrant({ subject: { type: 'user', id: 'developers' } })] });

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal({ groups: ['developers'] }), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(NoGrantError);
    });
  });

  describe('hostile principal ids', () => {
    it.each([
      ['a path traversal', 'alice/../bob'],
      ['unicode', 'zoë-ünïcødé-名前-🚀'],
      ['300 characters', 'a'.repeat(300)],
      ['an aws: prefix', 'aws:admin'],
      ['spaces and quotes', `alice "the admin" O'Brien`],
      ['equals signs', 'a=41=42'],
    ])('gives %s a valid, distinct SourceIdentity and safe tags', async (_label, principalId) => {
      // Prepare
      const principal = aPrincipal({ id: principalId });
      const { deps, issuer } = setUp({ grants: [aGrant({ subject: { type: 'user', id: principalId } })] });

      // Act
      await vendCredentials(deps, principal, aVendRequest(), META);

      // Assess
      const request = issuer.onlyRequest();
      expect(isValidSessionName(request.sourceIdentity)).toBe(true);
      expect(request.sourceIdentity).toMatch(/^[A-Za-z0-9_+=,.@-]{2,64}$/);
      expect(request.sourceIdentity.toLowerCase().startsWith('aws:')).toBe(false);
      expect(request.sessionName).toBe(request.sourceIdentity);
      expect(request.sourceIdentity).not.toBe(toSourceIdentity('alice@example.com'));
      for (const tag of request.tags) expect(tag.value).toMatch(STS_TAG_VALUE);
      const principalTag = request.tags.find((tag) => tag.key === 'tvm:principal');
      if (principalTag) expect(principalTag.value).toBe(principalId);
    });

    it('gives two principals that differ only in unsafe characters different SourceIdentities', async () => {
      // Prepare
      const ids = ['alice/bob', 'alice:bob', 'alice bob', 'alice=2Fbob'];
      const { deps, issuer } = setUp({ grants: ids.map((id, i) => aGrant({ id: `grant-${i}`, subject: { type: 'user', id } })) });

      // Act
      for (const id of ids) await vendCredentials(deps, aPrincipal({ id }), aVendRequest(), META);

      // Assess
      const identities = issuer.requests.map((request) => request.sourceIdentity);
      expect(new Set(identities).size).toBe(ids.length);
    });
  });

  describe('rate limit', () => {
    /** `count` vends one after the other, each settled: what each answered (a result or an error). */
    async function vendTimes(deps: VendDeps, count: number, principal = aPrincipal()): Promise<unknown[]> {
      const outcomes: unknown[] = [];
      for (let i = 0; i < count; i++) {
        outcomes.push(await vendCredentials(deps, principal, aVendRequest(), { requestId: `req-${i}` }).catch((error: unknown) => error));
      }
      return outcomes;
    }

    it('counts the vend against the caller in the same round trip as its two reads', async () => {
      // Prepare: every port call lands in one list; the count does not answer until released.
      const { deps, store, lockdown, limiter } = setUp();
      const order: string[] = [];
      let release: () => void = () => undefined;
      const countHeld = new Promise<void>((resolve) => (release = resolve));
      const spied: VendDeps = {
        ...deps,
        limiter: {
          take: async (principal, now) => {
            order.push(`limiter:${principal}`);
            await countHeld;
            return limiter.take(principal, now);
          },
        },
        store: Object.assign(Object.create(store) as typeof store, {
          getProfileWithGrants: (...args: Parameters<typeof store.getProfileWithGrants>) => (order.push('store'), store.getProfileWithGrants(...args)),
        }),
        lockdown: { getLockdownAndCutOffs: (now: Date) => (order.push('lockdown'), lockdown.getLockdownAndCutOffs(now)) },
      };

      // Act
      const vend = vendCredentials(spied, aPrincipal(), aVendRequest(), META);
      await new Promise((resolve) => setImmediate(resolve));
      const askedWhileCounting = [...order].sort();
      release();
      await vend;

      // Assess
      expect(askedWhileCounting).toEqual(['limiter:alice@example.com', 'lockdown', 'store']);
    });

    it('refuses the 31st vend in a minute with RATE_LIMITED and the seconds until the minute ends', async () => {
      // Prepare: 15 s into the minute
      const { deps, issuer, clock } = setUp();
      clock.advance(15_000);
      await vendTimes(deps, 30);

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(RateLimitedError);
      expect((error as RateLimitedError).code).toBe('RATE_LIMITED');
      expect((error as RateLimitedError).details).toEqual({ retryAfterSeconds: 45 });
      expect(issuer.calls).toBe(30);
    });

    it('answers a limited caller RATE_LIMITED, even when the reads fail, and calls STS for nothing', async () => {
      // Prepare: a limit of 1, used up; then the store and lockdown fail.
      const { deps, store, lockdown, issuer } = setUp({ limiter: new InMemoryRateLimiter(1) });
      await vendCredentials(deps, aPrincipal(), aVendRequest(), META);
      store.unavailable = true;
      lockdown.unavailable = true;

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(RateLimitedError);
      expect(issuer.calls).toBe(1);
    });

    it('records only the first refusal of a window, so a flood cannot flood the audit trail', async () => {
      // Prepare
      const { deps, audit } = setUp();

      // Act
      const outcomes = await vendTimes(deps, 40);

      // Assess
      expect(outcomes.filter((outcome) => outcome instanceof RateLimitedError)).toHaveLength(10);
      expect(audit.eventsOfType('credential.issued')).toHaveLength(30);
      expect(audit.eventsOfType('credential.denied')).toEqual([
        expect.objectContaining({
          type: 'credential.denied',
          code: 'RATE_LIMITED',
          principal: 'alice@example.com',
          profile: DEFAULT_PROFILE_NAME,
          requestId: 'req-30',
        }),
      ]);
    });

    it('allows the caller again in the next minute, and records its first refusal there too', async () => {
      // Prepare: the quota used up and refused once, 59.9 s into the minute
      const { deps, audit, clock } = setUp();
      clock.advance(59_900);
      await vendTimes(deps, 31);
      clock.advance(100);

      // Act
      const next = await vendTimes(deps, 31);

      // Assess
      expect(next.slice(0, 30).every((outcome) => !(outcome instanceof Error))).toBe(true);
      expect(next[30]).toBeInstanceOf(RateLimitedError);
      expect((next[30] as RateLimitedError).details).toEqual({ retryAfterSeconds: 60 });
      expect(audit.eventsOfType('credential.denied').map((event) => event.code)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
    });

    it('rounds Retry-After up, so retrying after it never lands in the refusing window', async () => {
      // Prepare: 59.9 s into the minute, the quota used up
      const { deps, clock } = setUp({ limiter: new InMemoryRateLimiter(1) });
      clock.advance(59_900);
      await vendTimes(deps, 1);

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));

      // Assess
      expect((error as RateLimitedError).details).toEqual({ retryAfterSeconds: 1 });
    });

    it('counts refused vends too: probing for grants uses up the quota', async () => {
      // Prepare: no grant at all
      const { deps, audit } = setUp({ grants: [] });

      // Act
      const outcomes = await vendTimes(deps, 31);

      // Assess
      expect(outcomes.slice(0, 30).every((outcome) => outcome instanceof NoGrantError)).toBe(true);
      expect(outcomes[30]).toBeInstanceOf(RateLimitedError);
      expect(audit.eventsOfType('credential.denied').at(-1)).toMatchObject({ code: 'RATE_LIMITED' });
    });

    it("counts per principal: one caller's flood does not limit another", async () => {
      // Prepare: alice used up her quota
      const { deps, issuer } = setUp({
        grants: [aGrant(), aGrant({ id: 'grant-bob', subject: { type: 'user', id: 'bob@example.com' } })],
      });
      await vendTimes(deps, 31);

      // Act
      const result = await vendCredentials(deps, aPrincipal({ id: 'bob@example.com' }), aVendRequest(), META);

      // Assess
      expect(result.grantId).toBe('grant-bob');
      expect(issuer.calls).toBe(31);
    });

    it('fails closed: refuses with STORE_UNAVAILABLE, calling no STS, when the quota cannot be counted', async () => {
      // Prepare
      const limiter = new InMemoryRateLimiter().failWith(new StoreUnavailableError('the vend quota could not be counted'));
      const { deps, issuer, audit } = setUp({ limiter });

      // Act
      const error = await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));

      // Assess
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(issuer.calls).toBe(0);
      expect(audit.events).toEqual([expect.objectContaining({ type: 'credential.denied', code: 'STORE_UNAVAILABLE' })]);
    });
  });

  it('uses the injected clock to judge grant validity', async () => {
    // Prepare: the grant starts one second after "now".
    const { deps, clock, issuer } = setUp({ grants: [aGrant({ validFrom: '2026-06-01T12:00:01.000Z' })] });
    await failureOf(vendCredentials(deps, aPrincipal(), aVendRequest(), META));
    clock.advance(1000);

    // Act
    const result = await vendCredentials(deps, aPrincipal(), aVendRequest(), META);

    // Assess
    expect(result.grantId).toBe('grant-0001');
    expect(issuer.calls).toBe(1);
  });
});
