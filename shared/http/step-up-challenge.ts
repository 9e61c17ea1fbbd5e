// Reading a step-up challenge (RFC 9470): the API refuses a restricted profile's vend, request or
// approval with `401 STEP_UP_REQUIRED` and `WWW-Authenticate: Bearer
// error="insufficient_user_authentication", max_age=…, acr_values="…"` when the caller's sign-in is
// too old or too weak. The header is what the RFC defines, so it is read first; the body's
// `details` fill in what it lacks (a browser on another origin sees no header the API did not
// expose). The CLI and the console both read it here; no imports, so the console's bundle can too.

/** What the API asks for before it answers: a sign-in no older than this, with one of these ACRs. */
export interface StepUpChallenge {
  /** RFC 9470 `max_age`: seconds since the sign-in; absent when the API named none. */
  readonly maxAgeSeconds?: number;
  /** RFC 9470 `acr_values`, in the API's order of preference; absent when it named none. */
  readonly acrValues?: readonly string[];
  /** The header's `error_description`, or the body's message. */
  readonly description?: string;
}

export const STEP_UP_REQUIRED = 'STEP_UP_REQUIRED';
const INSUFFICIENT_USER_AUTHENTICATION = 'insufficient_user_authentication';

/** One challenge of a WWW-Authenticate header: its scheme (lower case) and its parameters (names in lower case). */
export interface AuthChallenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
  readonly token68?: string;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const TOKEN68 = /[A-Za-z0-9._~+/-]+=*(?=[ \t]*(,|$))/y;
const SPACE = /[ \t]*/y;

/**
 * The challenges of a WWW-Authenticate header (RFC 9110 §11.6.1): `scheme token68` or `scheme
 * name=value, name="quoted, \"escaped\""`, several separated by commas. A parameter named twice keeps
 * its first value; anything unreadable ends the parse with what was read so far.
 */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let at = 0;
  const skip = (pattern: RegExp) => {
    pattern.lastIndex = at;
    const match = pattern.exec(header);
    if (match) at = pattern.lastIndex;
    return match?.[0];
  };
  const skipSeparators = () => {
    while (at < header.length && (header[at] === ',' || header[at] === ' ' || header[at] === '\t')) at++;
  };

  skipSeparators();
  while (at < header.length) {
    const scheme = skip(TOKEN);
    if (scheme === undefined) break;
    const params: Record<string, string> = {};
    let token68: string | undefined;
    if (skip(SPACE)) token68 = skip(TOKEN68);
    // Parameters until one is not `name=`: that name is the next challenge's scheme.
    while (token68 === undefined && at < header.length) {
      const before = at;
      skip(SPACE);
      if (header[at] === ',') at++;
      skip(SPACE);
      const name = skip(TOKEN);
      skip(SPACE);
      if (name === undefined || header[at] !== '=') {
        at = before;
        break;
      }
      at++;
      skip(SPACE);
      const value = header[at] === '"' ? quotedString() : skip(TOKEN);
      if (value === undefined) return [...challenges, { scheme: scheme.toLowerCase(), params }];
      params[name.toLowerCase()] ??= value;
    }
    challenges.push({ scheme: scheme.toLowerCase(), params, ...(token68 === undefined ? {} : { token68 }) });
    skipSeparators();
  }
  return challenges;

  /** A quoted-string's content, its escapes undone; undefined when it never closes. */
  function quotedString(): string | undefined {
    let value = '';
    for (let i = at + 1; i < header.length; i++) {
      const char = header[i] as string;
      if (char === '"') {
        at = i + 1;
        return value;
      }
      if (char === '\\') i++;
      value += header[i] ?? '';
    }
    return undefined;
  }
}

const MAX_AGE = /^\d{1,10}$/;
// ACR values go into a URL and into a command a person may copy: printable, and no quote of any kind.
const ACR_VALUE = /^[\x21-\x7e]{1,256}$/;
const QUOTES = /["'`\\]/;
const MAX_ACR_VALUES = 10;

/** The Bearer challenge asking for a stronger or fresher sign-in, if the header holds one. */
export function stepUpChallengeFromHeader(header: string | null | undefined): StepUpChallenge | undefined {
  if (!header) return undefined;
  const bearer = parseAuthChallenges(header).find((challenge) => challenge.scheme === 'bearer' && challenge.params.error === INSUFFICIENT_USER_AUTHENTICATION);
  if (bearer === undefined) return undefined;
  const { max_age: maxAge, acr_values: acrValues, error_description: description } = bearer.params;
  return challengeOf(maxAge !== undefined && MAX_AGE.test(maxAge) ? Number(maxAge) : undefined, acrValues?.split(' '), description);
}

/** The challenge in a `STEP_UP_REQUIRED` body, as the API writes it: `{error:{code, message, maxAgeSeconds, acrValues}}`. */
export function stepUpChallengeFromBody(body: unknown): StepUpChallenge | undefined {
  const error = (body as { error?: { code?: unknown; message?: unknown; maxAgeSeconds?: unknown; acrValues?: unknown } } | null | undefined)?.error;
  if (error?.code !== STEP_UP_REQUIRED) return undefined;
  const maxAge = Number.isSafeInteger(error.maxAgeSeconds) && (error.maxAgeSeconds as number) >= 0 ? (error.maxAgeSeconds as number) : undefined;
  const acrValues = Array.isArray(error.acrValues) ? error.acrValues.filter((value): value is string => typeof value === 'string') : undefined;
  return challengeOf(maxAge, acrValues, typeof error.message === 'string' ? error.message : undefined);
}

/** The API's step-up challenge: the header's parameters, else the body's; undefined when the answer is no step-up. */
export function readStepUpChallenge(header: string | null | undefined, body: unknown): StepUpChallenge | undefined {
  const fromHeader = stepUpChallengeFromHeader(header);
  const fromBody = stepUpChallengeFromBody(body);
  if (fromHeader === undefined || fromBody === undefined) return fromHeader ?? fromBody;
  return { ...fromBody, ...fromHeader };
}

function challengeOf(maxAgeSeconds: number | undefined, acrValues: readonly string[] | undefined, description: string | undefined): StepUpChallenge {
  const acrs = (acrValues ?? []).filter((value) => ACR_VALUE.test(value) && !QUOTES.test(value)).slice(0, MAX_ACR_VALUES);
  const said = description?.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim().slice(0, 500);
  return {
    ...(maxAgeSeconds === undefined ? {} : { maxAgeSeconds }),
    ...(acrs.length > 0 ? { acrValues: acrs } : {}),
    ...(said ? { description: said } : {}),
  };
}
