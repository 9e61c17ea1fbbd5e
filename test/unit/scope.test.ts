import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import { ScopeNotGrantedError, ScopeTooLargeError, ValidationError } from '../../shared/domain/errors.js';
import {
  MAX_SESSION_POLICY_LENGTH,
  buildSessionPolicy,
  patternCovers,
  policyHash,
  resolveSessionScope,
  scopeContains,
} from '../../shared/domain/scope.js';

let worker: Worker | undefined;
afterEach(async () => {
  await worker?.terminate();
  worker = undefined;
});

/** Calls one of scope.ts's exports in a worker thread (bundled by esbuild: a worker has no ts-jest). */
async function inWorker(name: string, args: readonly unknown[]): Promise<unknown> {
  const bundled = await build({ entryPoints: [fileURLToPath(new URL('../../shared/domain/scope.ts', import.meta.url))], bundle: true, format: 'cjs', platform: 'node', write: false });
  const code = `${bundled.outputFiles[0]!.text}
    const { parentPort, workerData } = require('node:worker_threads');
    parentPort.postMessage(module.exports[workerData.name](...workerData.args));`;
  worker = new Worker(`const module = { exports: {} }; const exports = module.exports; ${code}`, { eval: true, workerData: { name, args } });
  const running = worker;
  return new Promise((resolve, reject) => {
    running.once('message', resolve);
    running.once('error', reject);
    running.once('exit', (code) => reject(new Error(`the worker exited (${code}) without answering`)));
  });
}

/** What IAM matches: `*` any run, `?` one char, everything else literal. */
function iamRegex(pattern: string): RegExp {
  const body = [...pattern]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 's');
}

function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('patternCovers', () => {
  describe('actions (case-insensitive)', () => {
    it.each([
      ['s3:Get*', 's3:GetObject', true],
      ['s3:Get*', 's3:Get*Acl', true],
      ['s3:Get*', 's3:Get*', true],
      ['s3:Get*', 's3:*', false],
      ['s3:Get*', 's3:Put*', false],
      ['s3:Get*', 's3:PutObject', false],
      ['s3:*', 's3:Get*', true],
      ['*', 'ec2:*', true],
      ['*', '*', true],
      ['s3:GetObject', 's3:GetObject', true],
      ['s3:GetObject', 's3:GetObject*', false],
      ['s3:GetObject', 's3:GetObjec?', false],
      ['s3:GetObject', 's3:*', false],
      ['s3:GetObjec?', 's3:GetObject', true],
      ['s3:GetObjec?', 's3:GetObjec?', true],
      ['s3:GetObjec?', 's3:GetObjec*', false],
      ['s3:Get??', 's3:GetAB', true],
      ['s3:Get??', 's3:GetA', false],
      ['s3:Get??', 's3:GetABC', false],
      ['s3:Get?*', 's3:Get*', false],
      ['s3:Get*?', 's3:Get*t', true],
      ['s3:*Object', 's3:Get*Object', true],
      ['s3:*Object', 's3:GetObject*', false],
      ['s3:GETOBJECT', 's3:getobject', true],
      ['S3:Get*', 's3:gETobjectACL', true],
    ])('%j covers %j: %s', (allowed, requested, expected) => {
      // Act
      const covered = patternCovers(allowed, requested, true);

      // Assess
      expect(covered).toBe(expected);
    });
  });

  describe('resources (case-sensitive)', () => {
    it.each([
      ['arn:aws:s3:::bucket/*', 'arn:aws:s3:::bucket/a/*', true],
      ['arn:aws:s3:::bucket/*', 'arn:aws:s3:::bucket/a/b.txt', true],
      ['arn:aws:s3:::bucket/a/*', 'arn:aws:s3:::bucket/*', false],
      ['arn:aws:s3:::bucket/*', 'arn:aws:s3:::bucket2/*', false],
      ['arn:aws:s3:::bucket/*', 'arn:aws:s3:::bucket', false],
      ['arn:aws:s3:::bucket*', 'arn:aws:s3:::bucket2/*', true],
      ['arn:aws:s3:::Bucket/*', 'arn:aws:s3:::bucket/x', false],
      ['arn:aws:s3:::bucket/X', 'arn:aws:s3:::bucket/x', false],
      ['arn:aws:s3:::bucket/?', 'arn:aws:s3:::bucket/x', true],
      ['arn:aws:dynamodb:*:123456789012:table/app-*', 'arn:aws:dynamodb:eu-west-1:123456789012:table/app-users', true],
      ['arn:aws:dynamodb:*:123456789012:table/app-*', 'arn:aws:dynamodb:eu-west-1:999999999999:table/app-users', false],
    ])('%j covers %j: %s', (allowed, requested, expected) => {
      // Act
      const covered = patternCovers(allowed, requested, false);

      // Assess
      expect(covered).toBe(expected);
    });
  });

  it('compares case only when asked to', () => {
    // Act
    const insensitive = patternCovers('S3:GetObject', 's3:getobject', true);
    const sensitive = patternCovers('S3:GetObject', 's3:getobject', false);

    // Assess
    expect(insensitive).toBe(true);
    expect(sensitive).toBe(false);
  });

  describe('IAM policy variables', () => {
    it.each([
      // A requested variable may resolve to anything, so only a pattern covering anything there covers it.
      ['arn:aws:s3:::b/*', 'arn:aws:s3:::b/${aws:username}/*', true],
      ['arn:aws:s3:::b/$*', 'arn:aws:s3:::b/${aws:username}', false],
      ['arn:aws:s3:::b/${*', 'arn:aws:s3:::b/${aws:username}', false],
      ['arn:aws:s3:::b/?', 'arn:aws:s3:::b/${*}', false],
      ['arn:aws:s3:::b/alice/*', 'arn:aws:s3:::b/${aws:username}/*', false],
      // An allowed variable covers only the very same pattern.
      ['arn:aws:s3:::b/${aws:username}/*', 'arn:aws:s3:::b/${aws:username}/*', true],
      ['arn:aws:s3:::b/${aws:username}/*', 'arn:aws:s3:::b/alice/x', false],
      ['arn:aws:s3:::b/a${*}', 'arn:aws:s3:::b/a${aws:username}', false],
      ['arn:aws:s3:::b/a${*}', 'arn:aws:s3:::b/abc', false],
    ])('%j covers %j: %s', (allowed, requested, expected) => {
      // Act
      const covered = patternCovers(allowed, requested, false);

      // Assess
      expect(covered).toBe(expected);
    });
  });

  it.each([
    ['?', '😀', false],
    ['??', '😀', false],
    ['*', '😀', true],
    ['😀', '😀', true],
    ['a?', 'aé', true],
  ])('lets "?" take a whole BMP char but never half a surrogate pair: %j covers %j: %s', (allowed, requested, expected) => {
    // Act
    const covered = patternCovers(allowed, requested, false);

    // Assess
    expect(covered).toBe(expected);
  });

  it('never says yes when some string matched by the requested pattern is not matched by the allowed one', () => {
    // Prepare: every string over {a,b} up to 6 chars, and random patterns over {a,b,*,?}.
    const strings = [''];
    for (let length = 1; length <= 6; length++) {
      for (const s of strings.filter((x) => x.length === length - 1)) strings.push(s + 'a', s + 'b');
    }
    const random = seededRandom(42);
    const symbols = ['a', 'b', '*', '?'];
    const randomPattern = (): string =>
      Array.from({ length: Math.floor(random() * 5) }, () => symbols[Math.floor(random() * symbols.length)]).join('');
    const wrongYes: string[] = [];
    let yesCount = 0;

    // Act
    for (let i = 0; i < 3000; i++) {
      const allowed = randomPattern();
      const requested = randomPattern();
      if (!patternCovers(allowed, requested, false)) continue;
      yesCount++;
      const allowedRe = iamRegex(allowed);
      const requestedRe = iamRegex(requested);
      const escaping = strings.find((s) => requestedRe.test(s) && !allowedRe.test(s));
      if (escaping !== undefined) wrongYes.push(`${allowed} ⊉ ${requested} (e.g. "${escaping}")`);
    }

    // Assess
    expect(wrongYes).toEqual([]);
    expect(yesCount).toBeGreaterThan(300);
  });

  it('decides exactly when the requested pattern has no wildcards', () => {
    // Prepare
    const random = seededRandom(7);
    const pick = (alphabet: string[], max: number): string =>
      Array.from({ length: Math.floor(random() * (max + 1)) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    const mismatches: string[] = [];

    // Act
    for (let i = 0; i < 3000; i++) {
      const allowed = pick(['a', 'b', '*', '?'], 5);
      const requested = pick(['a', 'b'], 6);
      if (patternCovers(allowed, requested, false) !== iamRegex(allowed).test(requested)) {
        mismatches.push(`${allowed} vs ${requested}`);
      }
    }

    // Assess
    expect(mismatches).toEqual([]);
  });

  it('answers for 2,048-char patterns full of wildcards, where a backtracking matcher would not return', async () => {
    // Prepare: on these a backtracking matcher takes exponential time. It runs in a worker, so the
    // test thread stays free and jest's timeout fails the test instead of the run hanging.
    const allowed = 'a*'.repeat(1023) + 'ab';
    const requested = 'a*'.repeat(1024);

    // Act
    const covered = await inWorker('patternCovers', [allowed, requested, false]);

    // Assess
    expect(covered).toBe(false);
  });

  it('refuses patterns longer than 2,048 chars without examining them', () => {
    // Prepare
    const long = 'a'.repeat(2049);

    // Act
    const covered = patternCovers('*', long, false);

    // Assess
    expect(covered).toBe(false);
  });
});

describe('scopeContains', () => {
  it('treats an undefined outer scope as unrestricted', () => {
    // Act
    const result = scopeContains(undefined, { actions: ['*'], resources: ['*'] });

    // Assess
    expect(result).toEqual({ ok: true });
  });

  it('treats an outer scope without actions as allowing any action', () => {
    // Prepare
    const outer = { resources: ['arn:aws:s3:::bucket/*'] };

    // Act
    const result = scopeContains(outer, { actions: ['*'], resources: ['arn:aws:s3:::bucket/x'] });

    // Assess
    expect(result).toEqual({ ok: true });
  });

  it('treats an outer scope without resources as allowing any resource', () => {
    // Prepare
    const outer = { actions: ['s3:*'] };

    // Act
    const result = scopeContains(outer, { actions: ['s3:GetObject'], resources: ['*'] });

    // Assess
    expect(result).toEqual({ ok: true });
  });

  it('treats a missing inner field as asking for everything', () => {
    // Prepare
    const outer = { actions: ['s3:*'], resources: ['arn:aws:s3:::bucket/*'] };

    // Act
    const noResources = scopeContains(outer, { actions: ['s3:GetObject'] });
    const noActions = scopeContains(outer, { resources: ['arn:aws:s3:::bucket/x'] });

    // Assess
    expect(noResources).toEqual({ ok: false, field: 'resources', item: '*' });
    expect(noActions).toEqual({ ok: false, field: 'actions', item: '*' });
  });

  it('needs every inner item covered by some outer item and names the first that is not', () => {
    // Prepare
    const outer = { actions: ['s3:Get*', 's3:List*'], resources: ['*'] };

    // Act
    const covered = scopeContains(outer, { actions: ['s3:GetObject', 's3:ListBucket'], resources: ['*'] });
    const notCovered = scopeContains(outer, {
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      resources: ['*'],
    });

    // Assess
    expect(covered).toEqual({ ok: true });
    expect(notCovered).toEqual({ ok: false, field: 'actions', item: 's3:PutObject' });
  });

  it('compares actions case-insensitively and resources case-sensitively', () => {
    // Prepare
    const outer = { actions: ['S3:GETOBJECT'], resources: ['arn:aws:s3:::Bucket/*'] };

    // Act
    const actionCase = scopeContains(outer, { actions: ['s3:getobject'], resources: ['arn:aws:s3:::Bucket/x'] });
    const resourceCase = scopeContains(outer, { actions: ['s3:getobject'], resources: ['arn:aws:s3:::bucket/x'] });

    // Assess
    expect(actionCase).toEqual({ ok: true });
    expect(resourceCase).toEqual({ ok: false, field: 'resources', item: 'arn:aws:s3:::bucket/x' });
  });
});

describe('resolveSessionScope', () => {
  it('gives no session scope when no scope is set anywhere', () => {
    // Act
    const emptyEverywhere = resolveSessionScope({ requested: {}, grant: {}, profile: {} });
    const absentEverywhere = resolveSessionScope({});

    // Assess
    expect(emptyEverywhere).toEqual({});
    expect(absentEverywhere).toEqual({});
  });

  it('takes each field from the request, else the grant, else the profile', () => {
    // Prepare
    const profile = { actions: ['s3:*'], resources: ['arn:aws:s3:::bucket/*'] };
    const grant = { actions: ['s3:Get*'] };
    const requested = { actions: ['s3:GetObject'] };

    // Act
    const fromRequest = resolveSessionScope({ requested, grant, profile });
    const fromGrant = resolveSessionScope({ grant, profile });
    const fromProfile = resolveSessionScope({ profile });

    // Assess
    expect(fromRequest.scope).toEqual({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bucket/*'] });
    expect(fromGrant.scope).toEqual({ actions: ['s3:Get*'], resources: ['arn:aws:s3:::bucket/*'] });
    expect(fromProfile.scope).toEqual({ actions: ['s3:*'], resources: ['arn:aws:s3:::bucket/*'] });
  });

  it('fills a field set nowhere with "*" when the other field is set', () => {
    // Act
    const onlyActions = resolveSessionScope({ requested: { actions: ['s3:GetObject'] } });
    const onlyResources = resolveSessionScope({ profile: { resources: ['arn:aws:s3:::bucket/*'] } });

    // Assess
    expect(onlyActions.scope).toEqual({ actions: ['s3:GetObject'], resources: ['*'] });
    expect(onlyResources.scope).toEqual({ actions: ['*'], resources: ['arn:aws:s3:::bucket/*'] });
  });

  it("refuses a requested action outside the grant's scope, naming it", () => {
    // Prepare
    const grant = { actions: ['s3:Get*'] };
    const requested = { actions: ['s3:GetObject', 's3:PutObject'] };

    // Act
    const act = (): unknown => resolveSessionScope({ requested, grant });

    // Assess
    expect(act).toThrow(ScopeNotGrantedError);
    expect(act).toThrow('action "s3:PutObject" is not within the grant\'s scope');
  });

  it("refuses a requested resource outside the profile's scope, naming it", () => {
    // Prepare
    const profile = { resources: ['arn:aws:s3:::bucket/*'] };
    const requested = { resources: ['arn:aws:s3:::bucket2/*'] };

    // Act
    const act = (): unknown => resolveSessionScope({ requested, profile });

    // Assess
    expect(act).toThrow(ScopeNotGrantedError);
    expect(act).toThrow('resource "arn:aws:s3:::bucket2/*" is not within the profile\'s scope');
  });

  it("refuses a grant that is wider than the profile when the request inherits the grant's scope", () => {
    // Prepare
    const profile = { actions: ['s3:Get*'] };
    const grant = { actions: ['s3:*'] };

    // Act
    const act = (): unknown => resolveSessionScope({ grant, profile });

    // Assess
    expect(act).toThrow('action "s3:*" is not within the profile\'s scope');
  });

  it('takes a field the request and the grant leave out from the profile', () => {
    // Prepare: resources are restricted by the profile only; the request narrows actions.
    const profile = { resources: ['arn:aws:s3:::bucket/*'] };
    const grant = { actions: ['s3:Get*'] };

    // Act
    const result = resolveSessionScope({ requested: { actions: ['s3:GetObject'] }, grant, profile });

    // Assess
    expect(result.scope).toEqual({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bucket/*'] });
  });

  it('refuses an explicitly requested "*" resource when the profile restricts resources', () => {
    // Prepare
    const profile = { resources: ['arn:aws:s3:::bucket/*'] };

    // Act
    const act = (): unknown => resolveSessionScope({ requested: { resources: ['*'] }, profile });

    // Assess
    expect(act).toThrow('resource "*" is not within the profile\'s scope');
  });

  it('removes duplicate items and keeps their order', () => {
    // Prepare
    const requested = { actions: ['s3:PutObject', 's3:GetObject', 's3:PutObject'], resources: ['b', 'a', 'b', 'a'] };

    // Act
    const result = resolveSessionScope({ requested });

    // Assess
    expect(result.scope).toEqual({ actions: ['s3:PutObject', 's3:GetObject'], resources: ['b', 'a'] });
  });

  it('refuses an empty list instead of building a policy STS would reject', () => {
    // Act
    const act = (): unknown => resolveSessionScope({ requested: { actions: [] } });

    // Assess
    expect(act).toThrow(ValidationError);
    expect(act).toThrow('actions must list at least one item');
  });
});

describe('buildSessionPolicy', () => {
  const emptyPolicyLength = buildSessionPolicy({ actions: ['s3:GetObject'], resources: [''] }).length;

  it('builds a minified Allow policy with the actions and resources in order', () => {
    // Act
    const policy = buildSessionPolicy({ actions: ['s3:GetObject', 's3:ListBucket'], resources: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'] });

    // Assess
    expect(policy).toBe(
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],' +
        '"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}',
    );
  });

  it('accepts a policy of exactly 2,048 chars', () => {
    // Prepare
    const resource = 'r'.repeat(MAX_SESSION_POLICY_LENGTH - emptyPolicyLength);

    // Act
    const policy = buildSessionPolicy({ actions: ['s3:GetObject'], resources: [resource] });

    // Assess
    expect(policy).toHaveLength(2048);
  });

  it('refuses a policy of 2,049 chars, stating its length and the limit', () => {
    // Prepare
    const resource = 'r'.repeat(MAX_SESSION_POLICY_LENGTH - emptyPolicyLength + 1);

    // Act
    const act = (): unknown => buildSessionPolicy({ actions: ['s3:GetObject'], resources: [resource] });

    // Assess
    expect(act).toThrow(ScopeTooLargeError);
    expect(act).toThrow(/2049.*2048/);
  });
});

describe('policyHash', () => {
  it('is the sha256 hex of the policy text', () => {
    // Act
    const hash = policyHash('abc');

    // Assess
    expect(hash).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
