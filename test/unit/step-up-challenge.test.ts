// Reading the API's step-up challenge (RFC 9470), as the CLI and the console both do: the
// WWW-Authenticate grammar (quoted strings, commas and escapes inside them, several challenges,
// token68, missing or malformed parameters), the header before the body, and the body alone when a
// browser cannot see the header.
import {
  parseAuthChallenges,
  readStepUpChallenge,
  stepUpChallengeFromBody,
  stepUpChallengeFromHeader,
} from '../../shared/http/step-up-challenge.js';

const STEP_UP_HEADER =
  'Bearer error="insufficient_user_authentication", error_description="profile \\"prod\\" needs a recent sign-in, with MFA", max_age=900, acr_values="urn:example:mfa phr"';

// As the API writes it: the details beside code and message (error-mapping.ts).
const stepUpBody = (details: object | null = { maxAgeSeconds: 900 }) => ({
  error: { ...details, code: 'STEP_UP_REQUIRED', message: 'profile "prod" needs a recent sign-in with MFA.', requestId: 'r-1' },
});

describe('parseAuthChallenges', () => {
  it('reads a challenge whose quoted strings hold commas, spaces and escaped quotes', () => {
    // Act
    const challenges = parseAuthChallenges(STEP_UP_HEADER);

    // Assess
    expect(challenges).toEqual([
      {
        scheme: 'bearer',
        params: {
          error: 'insufficient_user_authentication',
          error_description: 'profile "prod" needs a recent sign-in, with MFA',
          max_age: '900',
          acr_values: 'urn:example:mfa phr',
        },
      },
    ]);
  });

  it('tells several challenges apart, token68 included, with names in any case and spaces around =', () => {
    // Act
    const challenges = parseAuthChallenges('Basic dXNlcjpwYXNz==, DPoP algs="ES256 PS256" , BEARER Realm = "tvm",error=invalid_token');

    // Assess
    expect(challenges).toEqual([
      { scheme: 'basic', params: {}, token68: 'dXNlcjpwYXNz==' },
      { scheme: 'dpop', params: { algs: 'ES256 PS256' } },
      { scheme: 'bearer', params: { realm: 'tvm', error: 'invalid_token' } },
    ]);
  });

  it('keeps the first value of a parameter named twice', () => {
    // Act
    const [challenge] = parseAuthChallenges('Bearer max_age=60, MAX_AGE=86400');

    // Assess
    expect(challenge?.params).toEqual({ max_age: '60' });
  });

  it.each([
    ['an unterminated quoted string', 'Bearer error="insufficient_user_authentication", error_description="never closed', { error: 'insufficient_user_authentication' }],
    ['a parameter without a value', 'Bearer error="insufficient_user_authentication", max_age=, acr_values="x"', { error: 'insufficient_user_authentication' }],
    ['a scheme alone', 'Bearer', {}],
  ])('stops at %s, keeping what it read before', (_what, header, params) => {
    // Act
    const challenges = parseAuthChallenges(header);

    // Assess
    expect(challenges).toEqual([{ scheme: 'bearer', params }]);
  });

  it('reads nothing from an empty or unreadable header', () => {
    // Act / Assess
    expect(parseAuthChallenges('')).toEqual([]);
    expect(parseAuthChallenges(' , ,')).toEqual([]);
    expect(parseAuthChallenges('"quoted"')).toEqual([]);
  });
});

describe('stepUpChallengeFromHeader', () => {
  it('takes max_age, acr_values and the description from the Bearer challenge that asks for a step-up', () => {
    // Act
    const challenge = stepUpChallengeFromHeader(`Basic realm="x", ${STEP_UP_HEADER}`);

    // Assess
    expect(challenge).toEqual({ maxAgeSeconds: 900, acrValues: ['urn:example:mfa', 'phr'], description: 'profile "prod" needs a recent sign-in, with MFA' });
  });

  it('takes max_age=0 (a new sign-in) and leaves out what the challenge does not name', () => {
    // Act / Assess
    expect(stepUpChallengeFromHeader('Bearer error="insufficient_user_authentication", max_age=0')).toEqual({ maxAgeSeconds: 0 });
    expect(stepUpChallengeFromHeader('Bearer error=insufficient_user_authentication')).toEqual({});
  });

  it.each([
    ['another error', 'Bearer error="invalid_token", max_age=900'],
    ['another scheme', 'DPoP error="insufficient_user_authentication", max_age=900'],
    ['no header', undefined],
  ])('is no step-up for %s', (_what, header) => {
    // Act / Assess
    expect(stepUpChallengeFromHeader(header)).toBeUndefined();
  });

  it('drops a max_age that is not a whole number, and ACR values with quotes or control characters (they reach URLs and commands to copy)', () => {
    // Act
    const challenge = stepUpChallengeFromHeader(
      'Bearer error="insufficient_user_authentication", max_age="-5", acr_values="good \'; rm -rf ~; echo \' ok\\\\x", error_description="line\nbreak"',
    );

    // Assess
    expect(challenge).toEqual({ acrValues: ['good', 'rm', '-rf', '~;', 'echo'], description: 'line break' });
  });
});

describe('stepUpChallengeFromBody', () => {
  it('reads details.maxAgeSeconds and details.acrValues of a STEP_UP_REQUIRED body', () => {
    // Act
    const challenge = stepUpChallengeFromBody(stepUpBody({ maxAgeSeconds: 300, acrValues: ['urn:example:mfa'] }));

    // Assess
    expect(challenge).toEqual({ maxAgeSeconds: 300, acrValues: ['urn:example:mfa'], description: 'profile "prod" needs a recent sign-in with MFA.' });
  });

  it('is no step-up for another code, or no body', () => {
    // Act / Assess
    expect(stepUpChallengeFromBody({ error: { code: 'UNAUTHENTICATED', message: 'expired' } })).toBeUndefined();
    expect(stepUpChallengeFromBody(undefined)).toBeUndefined();
    expect(stepUpChallengeFromBody(null)).toBeUndefined();
  });

  it('ignores details of the wrong type', () => {
    // Act / Assess
    expect(stepUpChallengeFromBody(stepUpBody({ maxAgeSeconds: -1, acrValues: 'urn:example:mfa' }))).toEqual({ description: 'profile "prod" needs a recent sign-in with MFA.' });
    expect(stepUpChallengeFromBody(stepUpBody(null))).toEqual({ description: 'profile "prod" needs a recent sign-in with MFA.' });
  });
});

describe('readStepUpChallenge', () => {
  it("prefers the header's parameters to the body's", () => {
    // Act
    const challenge = readStepUpChallenge('Bearer error="insufficient_user_authentication", max_age=60', stepUpBody({ maxAgeSeconds: 900, acrValues: ['phr'] }));

    // Assess
    expect(challenge).toEqual({ maxAgeSeconds: 60, acrValues: ['phr'], description: 'profile "prod" needs a recent sign-in with MFA.' });
  });

  it('falls back to the body when the header is out of sight (a browser on another origin)', () => {
    // Act / Assess
    expect(readStepUpChallenge(null, stepUpBody())).toEqual({ maxAgeSeconds: 900, description: 'profile "prod" needs a recent sign-in with MFA.' });
  });

  it('reads a challenge from the header alone, whatever the body', () => {
    // Act / Assess
    expect(readStepUpChallenge(STEP_UP_HEADER, 'not json')).toMatchObject({ maxAgeSeconds: 900 });
  });

  it('is no step-up for any other refusal', () => {
    // Act / Assess
    expect(readStepUpChallenge('Bearer error="invalid_token"', { error: { code: 'UNAUTHENTICATED', message: 'expired' } })).toBeUndefined();
  });
});
