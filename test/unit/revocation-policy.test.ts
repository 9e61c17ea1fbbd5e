import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, ValidationError } from '../../shared/domain/errors.js';
import {
  MAX_ROLE_POLICY_CHARS,
  parseRevocationPolicy,
  planRevocationPolicy,
  type Revocation,
} from '../../shared/domain/revocation-policy.js';
import { FIXED_NOW } from '../fixtures/builders.js';
import { AWS_FIXTURES } from '../fixtures/aws-fixtures.js';

const MAX_SESSION_SECONDS = 3600;
/** AWS's documented "deny sessions issued before T" policy, the console's Revoke active sessions. */
const CONSOLE_REVOKE_FIXTURE = join(
  AWS_FIXTURES,
  'policies/policy-deny-older-sessions-tokenissuetime-iam-userguide.json',
);

/** Plans `added` onto an empty policy at FIXED_NOW (2026-06-01T12:00:00Z), overridable. */
function plan(added: Revocation[], overrides: Partial<Parameters<typeof planRevocationPolicy>[0]> = {}) {
  return planRevocationPolicy({
    existing: [],
    added,
    now: FIXED_NOW,
    maxSessionSeconds: MAX_SESSION_SECONDS,
    ...overrides,
  });
}

function statementsOf(document: string | undefined): Array<Record<string, unknown>> {
  if (document === undefined) throw new Error('expected a document');
  return (JSON.parse(document) as { Statement: Array<Record<string, unknown>> }).Statement;
}

function person(sourceIdentity: string, before: string): Revocation {
  return { kind: 'person', sourceIdentity, before };
}

describe('planRevocationPolicy: statements', () => {
  it('denies everything to one person for sessions issued before the cutoff', () => {
    // Prepare
    const added = [person('alice@example.com', '2026-06-01T11:59:00Z')];

    // Act
    const { document, fallback } = plan(added);

    // Assess
    expect(document).toBe(
      '{"Version":"2012-10-17","Statement":[{"Sid":"TvmPerson0","Effect":"Deny","Action":"*","Resource":"*",' +
        '"Condition":{"StringEquals":{"aws:SourceIdentity":["alice@example.com"]},' +
        '"DateLessThan":{"aws:TokenIssueTime":"2026-06-01T11:59:00Z"}}}]}',
    );
    expect(fallback).toBe(false);
  });

  it('denies a lockdown to every SourceIdentity not on the sorted, deduplicated allow list', () => {
    // Prepare
    const added: Revocation[] = [
      { kind: 'lockdown', allowedSourceIdentities: ['zoe', 'amy', 'zoe'], before: '2026-06-01T11:59:00Z' },
    ];

    // Act
    const { document, revocations } = plan(added);

    // Assess
    expect(statementsOf(document)).toEqual([
      {
        Sid: 'TvmLockdown0',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: {
          StringNotEquals: { 'aws:SourceIdentity': ['amy', 'zoe'] },
          DateLessThan: { 'aws:TokenIssueTime': '2026-06-01T11:59:00Z' },
        },
      },
    ]);
    expect(revocations).toEqual([
      { kind: 'lockdown', allowedSourceIdentities: ['amy', 'zoe'], before: '2026-06-01T11:59:00Z' },
    ]);
  });

  it('treats a lockdown that allows nobody as a role-wide cutoff', () => {
    // Prepare
    const added: Revocation[] = [{ kind: 'lockdown', allowedSourceIdentities: [], before: '2026-06-01T11:59:00Z' }];

    // Act
    const { revocations } = plan(added);

    // Assess
    expect(revocations).toEqual([{ kind: 'role-wide', before: '2026-06-01T11:59:00Z' }]);
  });

  it('writes a role-wide cutoff in the shape of AWS\'s "deny older sessions" policy', () => {
    // Prepare
    const fixture = JSON.parse(readFileSync(CONSOLE_REVOKE_FIXTURE, 'utf8')) as {
      Version: string;
      Statement: { Effect: string; Action: string; Resource: string; Condition: object };
    };
    const added: Revocation[] = [{ kind: 'role-wide', before: '2026-06-01T11:59:00Z' }];

    // Act
    const { document } = plan(added);

    // Assess
    const policy = JSON.parse(document ?? '') as { Version: string };
    const [statement, ...others] = statementsOf(document);
    expect(others).toEqual([]);
    expect(policy.Version).toBe(fixture.Version);
    expect(statement).toEqual({
      Sid: 'TvmRoleWide',
      Effect: fixture.Statement.Effect,
      Action: fixture.Statement.Action,
      Resource: fixture.Statement.Resource,
      Condition: { DateLessThan: { 'aws:TokenIssueTime': '2026-06-01T11:59:00Z' } },
    });
    // Same operators, keys and date format as AWS's example; only the time differs.
    const withoutTimes = (condition: unknown) =>
      JSON.stringify(condition).replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/g, 'T');
    expect(withoutTimes(statement?.Condition)).toBe(withoutTimes(fixture.Statement.Condition));
  });

  it('orders statements role-wide, lockdowns, then people, each by cutoff, whatever the input order', () => {
    // Prepare
    const revocations: Revocation[] = [
      person('bob', '2026-06-01T11:59:00Z'),
      { kind: 'lockdown', allowedSourceIdentities: ['amy'], before: '2026-06-01T11:58:30Z' },
      person('alice', '2026-06-01T11:58:40Z'),
      { kind: 'lockdown', allowedSourceIdentities: ['amy', 'bob'], before: '2026-06-01T11:58:20Z' },
      { kind: 'role-wide', before: '2026-06-01T11:58:00Z' },
    ];

    // Act
    const forward = plan(revocations);
    const backward = plan([...revocations].reverse());

    // Assess
    expect(statementsOf(forward.document).map((s) => s.Sid)).toEqual([
      'TvmRoleWide',
      'TvmLockdown0',
      'TvmLockdown1',
      'TvmPerson0',
      'TvmPerson1',
    ]);
    expect(statementsOf(forward.document)[1]?.Condition).toEqual({
      StringNotEquals: { 'aws:SourceIdentity': ['amy', 'bob'] },
      DateLessThan: { 'aws:TokenIssueTime': '2026-06-01T11:58:20Z' },
    });
    expect(backward.document).toBe(forward.document);
  });
});

describe('planRevocationPolicy: merging', () => {
  it('keeps only the latest cutoff when the same person is revoked twice', () => {
    // Prepare
    const existing = [person('alice', '2026-06-01T11:59:00Z')];
    const added = [person('alice', '2026-06-01T11:59:30Z'), person('alice', '2026-06-01T11:58:00Z')];

    // Act
    const { revocations, document } = plan(added, { existing });

    // Assess
    expect(revocations).toEqual([person('alice', '2026-06-01T11:59:30Z')]);
    expect(statementsOf(document)).toHaveLength(1);
  });

  it('puts two people revoked at the same time in one statement', () => {
    // Prepare
    const added = [person('carol', '2026-06-01T11:59:00Z'), person('bob', '2026-06-01T11:59:00Z')];

    // Act
    const { document } = plan(added);

    // Assess
    expect(statementsOf(document)).toEqual([
      {
        Sid: 'TvmPerson0',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: {
          StringEquals: { 'aws:SourceIdentity': ['bob', 'carol'] },
          DateLessThan: { 'aws:TokenIssueTime': '2026-06-01T11:59:00Z' },
        },
      },
    ]);
  });

  it('drops revocations that a later role-wide cutoff already covers', () => {
    // Prepare
    const existing: Revocation[] = [
      person('alice', '2026-06-01T11:58:00Z'),
      { kind: 'lockdown', allowedSourceIdentities: ['amy'], before: '2026-06-01T11:58:30Z' },
      { kind: 'role-wide', before: '2026-06-01T11:57:00Z' },
    ];
    const added: Revocation[] = [
      { kind: 'role-wide', before: '2026-06-01T11:59:00Z' },
      person('bob', '2026-06-01T11:59:30Z'),
    ];

    // Act
    const { revocations, pruned } = plan(added, { existing });

    // Assess
    expect(revocations).toEqual([
      { kind: 'role-wide', before: '2026-06-01T11:59:00Z' },
      person('bob', '2026-06-01T11:59:30Z'),
    ]);
    expect(pruned).toEqual([]);
  });
});

describe('planRevocationPolicy: grants', () => {
  const grant = (grantId: string, before: string): Revocation => ({ kind: 'grant', grantId, before });

  // A revoked grant mints no session after its cut-off, so denying its tag longer denies nothing
  // real: grants revoked within one hour share one statement, cut off at the end of that hour.
  it('puts grants revoked within one hour in one statement, cut off at the end of the hour', () => {
    // Prepare
    const added = [grant('grant-bbbb', '2026-06-01T11:05:00Z'), grant('grant-aaaa', '2026-06-01T11:59:59.500Z')];

    // Act
    const { document, revocations } = plan(added);

    // Assess
    expect(statementsOf(document)).toEqual([
      {
        Sid: 'TvmGrant0',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: {
          StringEquals: { 'aws:PrincipalTag/tvm:grant': ['grant-aaaa', 'grant-bbbb'] },
          DateLessThan: { 'aws:TokenIssueTime': '2026-06-01T12:00:00Z' },
        },
      },
    ]);
    expect(parseRevocationPolicy(document)).toEqual(revocations);
  });

  // The attack: a delegator creates grants and revokes them one at a time, each at its own second.
  // One statement per second would pass the role's 10,240 characters after ~50 of them and force
  // the role-wide fallback: every session on the role cut, the allowed ones' too.
  it('keeps 200 grants revoked a second apart within the budget, with no role-wide fallback', () => {
    // Prepare
    const added = Array.from({ length: 200 }, (_, i) =>
      grant(`grant-${String(i).padStart(16, '0')}`, new Date(FIXED_NOW.getTime() - 3_600_000 + i * 1000).toISOString()),
    );

    // Act
    const { fallback, document } = plan(added, { maxSessionSeconds: 43_200 });

    // Assess
    expect(fallback).toBe(false);
    expect(statementsOf(document).length).toBeLessThanOrEqual(2);
  });
});

describe('planRevocationPolicy: cutoff times', () => {
  it('rounds a cutoff with milliseconds up to the next whole second', () => {
    // Prepare
    const added = [person('alice', '2026-06-01T11:59:00.001Z')];

    // Act
    const { revocations } = plan(added);

    // Assess
    expect(revocations).toEqual([person('alice', '2026-06-01T11:59:01Z')]);
  });

  it('keeps a whole-second cutoff as it is, even written with zero milliseconds', () => {
    // Prepare
    const added = [person('alice', '2026-06-01T11:59:00.000Z')];

    // Act
    const { revocations } = plan(added);

    // Assess
    expect(revocations).toEqual([person('alice', '2026-06-01T11:59:00Z')]);
  });

  it('writes a cutoff given with an offset in UTC', () => {
    // Prepare
    const added = [person('alice', '2026-06-01T13:59:00.5+02:00')];

    // Act
    const { revocations } = plan(added);

    // Assess
    expect(revocations).toEqual([person('alice', '2026-06-01T11:59:01Z')]);
  });

  it.each(['yesterday', '2026-02-30T00:00:00Z', '2026-06-01', ''])('refuses the revocation time %j', (before) => {
    // Prepare
    const added = [person('alice', before)];

    // Act
    const act = () => plan(added);

    // Assess
    expect(act).toThrow(ValidationError);
  });
});

describe('planRevocationPolicy: pruning', () => {
  it('prunes a revocation once before + maxSessionSeconds has been reached', () => {
    // Prepare
    const existing = [person('alice', '2026-06-01T11:00:00Z')];

    // Act
    const { document, revocations, pruned } = plan([], { existing, now: new Date('2026-06-01T12:00:00Z') });

    // Assess
    expect(pruned).toEqual(existing);
    expect(revocations).toEqual([]);
    expect(document).toBeUndefined();
  });

  it('keeps a revocation one second before every session it targets has expired', () => {
    // Prepare
    const existing = [person('alice', '2026-06-01T11:00:00Z')];

    // Act
    const { revocations, pruned } = plan([], { existing, now: new Date('2026-06-01T11:59:59Z') });

    // Assess
    expect(revocations).toEqual(existing);
    expect(pruned).toEqual([]);
  });

  it('measures expiry with the role\'s maxSessionSeconds', () => {
    // Prepare
    const existing = [person('alice', '2026-06-01T00:00:01Z')];

    // Act
    const { revocations } = plan([], { existing, maxSessionSeconds: 43_200 });

    // Assess
    expect(revocations).toEqual(existing);
  });

  it('returns no document when there is nothing to revoke', () => {
    // Prepare
    const nothing: Revocation[] = [];

    // Act
    const result = plan(nothing);

    // Assess
    expect(result).toEqual({ document: undefined, revocations: [], pruned: [], fallback: false });
  });
});

describe('planRevocationPolicy: size', () => {
  /** One person per second, so none can share a statement. */
  function distinctPeople(count: number): Revocation[] {
    return Array.from({ length: count }, (_, i) =>
      person(
        `person-${String(i).padStart(3, '0')}@example.com`,
        new Date(Date.parse('2026-06-01T11:30:00Z') + i * 1000).toISOString(),
      ),
    );
  }

  it('falls back to one role-wide cutoff at the latest time when the statements exceed 10,240 characters', () => {
    // Prepare
    const added = distinctPeople(80);

    // Act
    const { document, revocations, fallback } = plan(added);

    // Assess
    expect(fallback).toBe(true);
    expect(revocations).toEqual([{ kind: 'role-wide', before: '2026-06-01T11:31:19Z' }]);
    expect(document).toBe(
      '{"Version":"2012-10-17","Statement":[{"Sid":"TvmRoleWide","Effect":"Deny","Action":"*","Resource":"*",' +
        '"Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-06-01T11:31:19Z"}}}]}',
    );
    expect(document?.length).toBeLessThanOrEqual(MAX_ROLE_POLICY_CHARS);
  });

  it('keeps every statement while the document fits exactly, and falls back one character below', () => {
    // Prepare
    const added = distinctPeople(5);
    const fullLength = plan(added).document?.length ?? 0;

    // Act
    const fits = plan(added, { maxDocumentChars: fullLength });
    const tooBig = plan(added, { maxDocumentChars: fullLength - 1 });

    // Assess
    expect(fits.fallback).toBe(false);
    expect(fits.revocations).toHaveLength(5);
    expect(tooBig.fallback).toBe(true);
    expect(tooBig.revocations).toEqual([{ kind: 'role-wide', before: '2026-06-01T11:30:04Z' }]);
  });

  it('refuses when even one role-wide statement does not fit the budget', () => {
    // Prepare
    const added = distinctPeople(2);

    // Act
    const act = () => plan(added, { maxDocumentChars: 100 });

    // Assess
    expect(act).toThrow(ConflictError);
  });
});

describe('planRevocationPolicy: validation', () => {
  it.each(['a', 'x'.repeat(65), 'has space', 'quote"}', 'colon:aws', 'é-accent'])(
    'refuses the SourceIdentity %j instead of writing a malformed policy',
    (sourceIdentity) => {
      // Prepare
      const added = [person(sourceIdentity, '2026-06-01T11:59:00Z')];

      // Act
      const act = () => plan(added);

      // Assess
      expect(act).toThrow(ValidationError);
    },
  );

  it('refuses an invalid SourceIdentity on a lockdown allow list', () => {
    // Prepare
    const added: Revocation[] = [
      { kind: 'lockdown', allowedSourceIdentities: ['amy', 'b b'], before: '2026-06-01T11:59:00Z' },
    ];

    // Act
    const act = () => plan(added);

    // Assess
    expect(act).toThrow(ValidationError);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses maxSessionSeconds %p', (maxSessionSeconds) => {
    // Prepare
    const added = [person('alice', '2026-06-01T11:59:00Z')];

    // Act
    const act = () => plan(added, { maxSessionSeconds });

    // Assess
    expect(act).toThrow(ValidationError);
  });
});

describe('parseRevocationPolicy', () => {
  const mixed: Revocation[] = [
    { kind: 'role-wide', before: '2026-06-01T11:58:00Z' },
    { kind: 'lockdown', allowedSourceIdentities: ['amy', 'a,b'], before: '2026-06-01T11:58:30Z' },
    person('alice', '2026-06-01T11:59:00Z'),
    person('bob', '2026-06-01T11:59:00Z'),
    person('carol', '2026-06-01T11:59:30.250Z'),
  ];

  it('reads back exactly the revocations a plan wrote', () => {
    // Prepare
    const planned = plan(mixed);

    // Act
    const parsed = parseRevocationPolicy(planned.document);

    // Assess
    expect(parsed).toEqual(planned.revocations);
    expect(parsed).toHaveLength(5);
  });

  it('yields the identical document when the parsed state is planned again with nothing added', () => {
    // Prepare
    const first = plan(mixed);

    // Act
    const second = plan([], { existing: parseRevocationPolicy(first.document) });

    // Assess
    expect(second.document).toBe(first.document);
    expect(second.pruned).toEqual([]);
  });

  it('returns nothing for a role without the policy', () => {
    // Prepare
    const document = undefined;

    // Act
    const parsed = parseRevocationPolicy(document);

    // Assess
    expect(parsed).toEqual([]);
  });

  it('accepts a single statement object and a lone SourceIdentity string, as IAM allows', () => {
    // Prepare
    const document = JSON.stringify({
      Version: '2012-10-17',
      Statement: {
        Sid: 'TvmPerson7',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: {
          StringEquals: { 'aws:SourceIdentity': 'alice' },
          DateLessThan: { 'aws:TokenIssueTime': '2026-06-01T11:59:00Z' },
        },
      },
    });

    // Act
    const parsed = parseRevocationPolicy(document);

    // Assess
    expect(parsed).toEqual([person('alice', '2026-06-01T11:59:00Z')]);
  });

  it('refuses a policy holding someone else\'s statement instead of dropping it', () => {
    // Prepare
    const ours = statementsOf(plan([person('alice', '2026-06-01T11:59:00Z')]).document);
    const foreign = { Sid: 'SecurityTeamDenyS3', Effect: 'Deny', Action: 's3:*', Resource: '*' };
    const document = JSON.stringify({ Version: '2012-10-17', Statement: [...ours, foreign] });

    // Act
    const act = () => parseRevocationPolicy(document);

    // Assess
    expect(act).toThrow(ConflictError);
    expect(act).toThrow(/statement 1 /);
  });

  it('refuses the console\'s own role-wide policy, which tvm did not write', () => {
    // Prepare
    const document = readFileSync(CONSOLE_REVOKE_FIXTURE, 'utf8');

    // Act
    const act = () => parseRevocationPolicy(document);

    // Assess
    expect(act).toThrow(ConflictError);
  });

  it.each([
    ['an extra key', { NotAction: 'iam:*' }],
    ['an Allow', { Effect: 'Allow' }],
    ['a narrower Action', { Action: 's3:*' }],
    ['a Sid of another kind', { Sid: 'TvmLockdown0' }],
    [
      'an extra condition',
      {
        Condition: {
          StringEquals: { 'aws:SourceIdentity': ['alice'] },
          DateLessThan: { 'aws:TokenIssueTime': '2026-06-01T11:59:00Z' },
          Bool: { 'aws:MultiFactorAuthPresent': 'false' },
        },
      },
    ],
    [
      'a time with milliseconds',
      {
        Condition: {
          StringEquals: { 'aws:SourceIdentity': ['alice'] },
          DateLessThan: { 'aws:TokenIssueTime': '2026-06-01T11:59:00.000Z' },
        },
      },
    ],
  ])('refuses a tvm-looking statement with %s', (_, change) => {
    // Prepare
    const [statement] = statementsOf(plan([person('alice', '2026-06-01T11:59:00Z')]).document);
    const document = JSON.stringify({ Version: '2012-10-17', Statement: [{ ...statement, ...change }] });

    // Act
    const act = () => parseRevocationPolicy(document);

    // Assess
    expect(act).toThrow(ConflictError);
  });

  it('refuses a role-wide statement with an extra key', () => {
    // Prepare
    const [statement] = statementsOf(plan([{ kind: 'role-wide', before: '2026-06-01T11:59:00Z' }]).document);
    const tampered = { ...statement, NotResource: 'arn:aws:s3:::x' };
    const document = JSON.stringify({ Version: '2012-10-17', Statement: [tampered] });

    // Act
    const act = () => parseRevocationPolicy(document);

    // Assess
    expect(act).toThrow(ConflictError);
  });

  it.each(['not json', '{"Version":"2008-10-17","Statement":[]}', '{"Version":"2012-10-17"}'])(
    'refuses the document %j',
    (document) => {
      // Prepare (the document)

      // Act
      const act = () => parseRevocationPolicy(document);

      // Assess
      expect(act).toThrow(ConflictError);
    },
  );
});
