// Scope containment and session policies. A session policy can only narrow the role's own
// permissions, so tvm's job is to make sure what a caller asks for is within what the grant and the
// profile allow, and to express it in a policy small enough for STS.
import { createHash } from 'node:crypto';
import { ScopeNotGrantedError, ScopeTooLargeError, ValidationError } from './errors.js';
import type { Scope } from './model.js';

/** STS rejects a session policy whose plaintext exceeds 2,048 characters (AssumeRole `Policy`). */
export const MAX_SESSION_POLICY_LENGTH = 2048;
/** No pattern can be longer than the policy that carries it; longer ones are refused unexamined. */
export const MAX_PATTERN_LENGTH = MAX_SESSION_POLICY_LENGTH;

const STAR = '*'.charCodeAt(0);
const QUESTION = '?'.charCodeAt(0);

export type ScopeField = 'actions' | 'resources';

/** A scope with both fields filled in: what goes into a session policy. */
export interface SessionScope {
  actions: string[];
  resources: string[];
}

export type ScopeContainment = { ok: true } | { ok: false; field: ScopeField; item: string };

/**
 * Is every string matched by IAM pattern `requested` also matched by `allowed`?
 *
 * Sound but not complete: a `true` is always right, a rare `false` may be wrong (the caller is then
 * refused, which fails closed). `allowed`'s `*` may absorb any run of `requested` (literals, `?`
 * and `*`); `allowed`'s `?` absorbs exactly one requested literal or `?`; a literal matches only the
 * same literal. Two extra precautions keep it sound:
 * - IAM policy variables (`${aws:username}`, `${*}`): in `requested` one may resolve to any string,
 *   so it is treated as `*`; an `allowed` pattern that contains one covers only itself.
 * - `?` never absorbs half of a surrogate pair, whether IAM counts code points or code units.
 * Case-insensitive comparison folds ASCII letters only (IAM action names are ASCII).
 */
export function patternCovers(allowed: string, requested: string, caseInsensitive: boolean): boolean {
  if (allowed.length > MAX_PATTERN_LENGTH || requested.length > MAX_PATTERN_LENGTH) return false;
  const a = caseInsensitive ? foldAsciiCase(allowed) : allowed;
  const r = caseInsensitive ? foldAsciiCase(requested) : requested;
  if (a.includes('${')) return a === r;
  return coversByDp(a, replacePolicyVariables(r));
}

/**
 * Does `outer` allow everything `inner` asks for? An undefined `outer`, or an `outer` field left
 * out, allows anything. An `inner` field left out asks for everything (`['*']`), so callers fill in
 * inner fields before checking. Actions compare case-insensitively, resources case-sensitively.
 */
export function scopeContains(outer: Scope | undefined, inner: Scope): ScopeContainment {
  if (outer === undefined) return { ok: true };
  for (const field of ['actions', 'resources'] as const) {
    const allowedItems = outer[field];
    if (allowedItems === undefined) continue;
    const caseInsensitive = field === 'actions';
    for (const item of inner[field] ?? ['*']) {
      if (!allowedItems.some((allowed) => patternCovers(allowed, item, caseInsensitive))) {
        return { ok: false, field, item };
      }
    }
  }
  return { ok: true };
}

/**
 * The scope of a new session, checked against the grant and the profile.
 * 1. Per field, the effective list is the request's, else the grant's, else the profile's.
 * 2. Neither field set anywhere → no session policy: the role's own permissions apply.
 * 3. A field set nowhere while the other is set becomes `['*']` (the role's own limit).
 * 4. Its policy must fit STS's 2,048 characters (checked first: it also bounds the containment work).
 * 5. The result must be within the grant's scope and the profile's scope, else ScopeNotGrantedError.
 */
export function resolveSessionScope(sources: { requested?: Scope; grant?: Scope; profile?: Scope }): {
  scope?: SessionScope;
  /** The minified session policy for `scope`. */
  policy?: string;
} {
  const { requested, grant, profile } = sources;
  const actions = requested?.actions ?? grant?.actions ?? profile?.actions;
  const resources = requested?.resources ?? grant?.resources ?? profile?.resources;
  if (actions === undefined && resources === undefined) return {};

  const scope: SessionScope = {
    actions: dedupe(actions ?? ['*']),
    resources: dedupe(resources ?? ['*']),
  };
  for (const field of ['actions', 'resources'] as const) {
    // An empty list would make STS reject the policy as malformed; say so in tvm's own words.
    if (scope[field].length === 0) throw new ValidationError(`${field} must list at least one item`);
  }
  const policy = buildSessionPolicy(scope);
  assertContained(grant, scope, "the grant's scope");
  assertContained(profile, scope, "the profile's scope");
  return { scope, policy };
}

/** The minified session policy for `scope`; ScopeTooLargeError when STS would refuse its size. */
export function buildSessionPolicy(scope: { readonly actions: readonly string[]; readonly resources: readonly string[] }): string {
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: [...scope.actions], Resource: [...scope.resources] }],
  });
  if (policy.length > MAX_SESSION_POLICY_LENGTH) {
    throw new ScopeTooLargeError(
      `the session policy is ${policy.length} characters long; STS allows at most ${MAX_SESSION_POLICY_LENGTH}`,
      { details: { length: policy.length, limit: MAX_SESSION_POLICY_LENGTH } },
    );
  }
  return policy;
}

/** sha256 hex of a session policy: what the audit log records instead of the policy itself. */
export function policyHash(policy: string): string {
  return createHash('sha256').update(policy, 'utf8').digest('hex');
}

function assertContained(outer: Scope | undefined, inner: SessionScope, outerName: string): void {
  const result = scopeContains(outer, inner);
  if (result.ok) return;
  const noun = result.field === 'actions' ? 'action' : 'resource';
  throw new ScopeNotGrantedError(`${noun} "${result.item}" is not within ${outerName}`, {
    details: { field: result.field, item: result.item },
  });
}

function dedupe(items: readonly string[]): string[] {
  return [...new Set(items)];
}

function foldAsciiCase(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** `${…}` (or an unterminated `${…`) may become any string once IAM resolves it: treat it as `*`. */
function replacePolicyVariables(pattern: string): string {
  return pattern.replace(/\$\{[^}]*(\}|$)/g, '*');
}

function isSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdfff;
}

/**
 * covers[i][j] = allowed[i..] covers requested[j..], filled from the ends backwards keeping one row,
 * so work is O(n·m) and memory O(m).
 */
function coversByDp(allowed: string, requested: string): boolean {
  const n = allowed.length;
  const m = requested.length;
  let next = new Uint8Array(m + 1); // row i + 1
  next[m] = 1; // empty allowed covers only empty requested
  for (let i = n - 1; i >= 0; i--) {
    const row = new Uint8Array(m + 1);
    const a = allowed.charCodeAt(i);
    for (let j = m; j >= 0; j--) {
      const r = j < m ? requested.charCodeAt(j) : -1;
      let covered: boolean;
      if (a === STAR) {
        // `*` absorbs nothing more (move on in allowed) or one more requested char of any kind.
        covered = next[j] === 1 || (j < m && row[j + 1] === 1);
      } else if (a === QUESTION) {
        covered = j < m && r !== STAR && !isSurrogate(r) && next[j + 1] === 1;
      } else {
        covered = j < m && r === a && next[j + 1] === 1;
      }
      row[j] = covered ? 1 : 0;
    }
    next = row;
  }
  return next[0] === 1;
}
