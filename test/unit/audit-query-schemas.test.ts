// The query and path schemas of the security-team routes: strict, and normalising times to the
// form stored events carry so the adapters can compare them as strings.
import {
  accessKeyIdSchema,
  accessQuerySchema,
  alertsQuerySchema,
  auditQuerySchema,
  keyTracePathSchema,
  verifyQuerySchema,
} from '../../shared/domain/schemas.js';
import { AUDIT_EVENT_TYPES } from '../../shared/domain/audit.js';

const CURSOR = '2026-06-01T11:30:00.000Z#abcDEF-_123';

describe('accessKeyIdSchema', () => {
  it.each([
    ['a temporary key', 'ASIAIOSFODNN7EXAMPLE'],
    ['a long-term key', 'AKIAI44QH8DHBEXAMPLE'],
    ['a 21-character key', 'AKIAQRSTUVWXYZEXAMPLE'],
    ['a key the local STS endpoint vends (ASIA + 16)', 'ASIA0123456789ABCDEF'],
    ['the shortest (16 characters)', 'ASIA0123456789AB'],
    ['the longest (128 characters)', `ASIA${'A'.repeat(124)}`],
  ])('accepts %s', (_label, key) => {
    expect(accessKeyIdSchema.safeParse(key).success).toBe(true);
  });

  it.each([
    ['lower case', 'asiaiosfodnn7example'],
    ['another prefix', 'AROAIOSFODNN7EXAMPLE'],
    ['15 characters', 'ASIA0123456789A'],
    ['129 characters', `ASIA${'A'.repeat(125)}`],
    ['a separator', 'ASIA0123456789AB/CD'],
    ['a wildcard', 'ASIA*'],
  ])('refuses %s', (_label, key) => {
    expect(accessKeyIdSchema.safeParse(key).success).toBe(false);
  });
});

describe('auditQuerySchema (GET /audit/events)', () => {
  it('accepts every filter together, normalising times to UTC with milliseconds', () => {
    // Act
    const parsed = auditQuerySchema.parse({
      principal: 'alice@example.com',
      profile: 'dev-readonly',
      type: 'credential.used',
      accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
      from: '2026-06-01T10:00:00Z',
      to: '2026-06-01T14:00:00+02:00',
      limit: '20',
      cursor: CURSOR,
    });

    // Assess
    expect(parsed).toEqual({
      principal: 'alice@example.com',
      profile: 'dev-readonly',
      type: 'credential.used',
      accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
      from: '2026-06-01T10:00:00.000Z',
      to: '2026-06-01T12:00:00.000Z',
      limit: 20,
      cursor: CURSOR,
    });
  });

  it('accepts a cursor whose id ends in a CloudTrail eventID or a dedupe key', () => {
    for (const cursor of ['2026-06-01T11:30:00.000Z#3b5d6f1e-8a1c-4f2e-9d3a-0b1c2d3e4f5a', '2026-06-01T11:30:00.000Z#use-after-revocation:ASIA0123456789ABCDEF']) {
      expect(auditQuerySchema.safeParse({ cursor }).success).toBe(true);
    }
  });

  it('accepts every audit event type and defaults the limit to 50', () => {
    for (const type of AUDIT_EVENT_TYPES) expect(auditQuerySchema.parse({ type })).toEqual({ type, limit: 50 });
  });

  it('accepts from equal to to', () => {
    expect(auditQuerySchema.safeParse({ from: '2026-06-01T10:00:00Z', to: '2026-06-01T10:00:00.000Z' }).success).toBe(true);
  });

  it.each([
    ['an unknown parameter', { principal: 'alice@example.com', shard: '1' }, 'unrecognized_keys', []],
    ['an unknown type', { type: 'credential.stolen' }, 'invalid_enum_value', ['type']],
    ['a malformed access key id', { accessKeyId: 'not-a-key' }, 'invalid_string', ['accessKeyId']],
    ['a malformed profile', { profile: '../etc' }, 'invalid_string', ['profile']],
    ['a from that is not a date-time', { from: 'yesterday' }, 'invalid_string', ['from']],
    ['a date without a time', { to: '2026-06-01' }, 'invalid_string', ['to']],
    ['from after to', { from: '2026-06-01T12:00:00.001Z', to: '2026-06-01T12:00:00Z' }, 'custom', ['from']],
    ['from after to across offsets', { from: '2026-06-01T11:00:00-02:00', to: '2026-06-01T12:00:00Z' }, 'custom', ['from']],
    ['a limit of 0', { limit: '0' }, 'too_small', ['limit']],
    ['a limit of 101', { limit: '101' }, 'too_big', ['limit']],
    ['a cursor this API did not return', { cursor: 'PRINCIPAL#alice' }, 'invalid_string', ['cursor']],
    ['a cursor with a space in its id', { cursor: '2026-06-01T11:30:00.000Z#a b' }, 'invalid_string', ['cursor']],
    ['a cursor with an impossible date', { cursor: '2026-13-45T11:30:00.000Z#abc' }, 'custom', ['cursor']],
  ])('refuses %s', (_label, query, code, path) => {
    // Act
    const result = auditQuerySchema.safeParse(query);

    // Assess
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ code, path });
  });
});

describe('keyTracePathSchema (GET /audit/keys/{accessKeyId})', () => {
  it('takes exactly the access key id', () => {
    expect(keyTracePathSchema.parse({ accessKeyId: 'ASIAIOSFODNN7EXAMPLE' })).toEqual({ accessKeyId: 'ASIAIOSFODNN7EXAMPLE' });
    expect(keyTracePathSchema.safeParse({ accessKeyId: 'ASIA%2F..' }).success).toBe(false);
    expect(keyTracePathSchema.safeParse({}).success).toBe(false);
  });
});

describe('accessQuerySchema (GET /audit/access)', () => {
  it('requires a well-formed profile and nothing else', () => {
    expect(accessQuerySchema.parse({ profile: 'dev-readonly' })).toEqual({ profile: 'dev-readonly' });
    expect(accessQuerySchema.safeParse({}).success).toBe(false);
    expect(accessQuerySchema.safeParse({ profile: 'Dev Readonly' }).success).toBe(false);
    expect(accessQuerySchema.safeParse({ profile: 'dev-readonly', at: '2026-06-01T00:00:00Z' }).success).toBe(false);
  });
});

describe('verifyQuerySchema (GET /audit/verify)', () => {
  it('takes an optional window, normalised', () => {
    expect(verifyQuerySchema.parse({})).toEqual({});
    expect(verifyQuerySchema.parse({ from: '2026-05-31T12:00:00Z', to: '2026-06-01T12:00:00Z' })).toEqual({
      from: '2026-05-31T12:00:00.000Z',
      to: '2026-06-01T12:00:00.000Z',
    });
  });

  it.each([
    ['from after to', { from: '2026-06-02T00:00:00Z', to: '2026-06-01T00:00:00Z' }],
    ['an unknown parameter', { shard: '2' }],
    ['a from that is not a date-time', { from: '1717200000' }],
  ])('refuses %s', (_label, query) => {
    expect(verifyQuerySchema.safeParse(query).success).toBe(false);
  });
});

describe('alertsQuerySchema (GET /alerts)', () => {
  it('takes since, rule, limit and cursor', () => {
    expect(alertsQuerySchema.parse({ since: '2026-06-01T00:00:00+01:00', rule: 'denial-burst', limit: '5', cursor: CURSOR })).toEqual({
      since: '2026-05-31T23:00:00.000Z',
      rule: 'denial-burst',
      limit: 5,
      cursor: CURSOR,
    });
    expect(alertsQuerySchema.parse({})).toEqual({ limit: 50 });
  });

  it.each([
    ['an unknown rule', { rule: 'port-scan' }],
    ['an unknown parameter', { severity: 'critical' }],
    ['a since that is not a date-time', { since: '7d' }],
  ])('refuses %s', (_label, query) => {
    expect(alertsQuerySchema.safeParse(query).success).toBe(false);
  });
});
