// Step-up for restricted profiles (RFC 9470): credentials, a request or an approval on a profile
// marked `restricted` only after a recent, strong sign-in, as the verified token attests it.
import { StepUpRequiredError } from './errors.js';
import type { Principal, Profile } from './model.js';

/** RFC 8176 methods that count as strong unless an issuer says otherwise (config: strongAmr). */
export const DEFAULT_STRONG_AMR: readonly string[] = ['mfa', 'hwk', 'swk', 'otp'];
/** How recent the strong sign-in must be unless the profile says otherwise. */
const DEFAULT_MAX_AUTH_AGE_SECONDS = 900;
/** The oldest a profile may allow: a day. Past it, step-up would be a formality. */
export const MAX_AUTH_AGE_SECONDS = 86_400;

/**
 * Refuses (STEP_UP_REQUIRED) a caller on a restricted profile whose token does not show a strong
 * method (or acr) and an `auth_time` within the profile's maximum age. A standard profile passes.
 * An `auth_time` in the future by more than the verifier's clock skew is no proof of anything.
 */
export function assertSteppedUp(profile: Pick<Profile, 'name' | 'sensitivity' | 'stepUp'>, principal: Principal, now: Date): void {
  if (profile.sensitivity !== 'restricted') return;
  const maxAgeSeconds = profile.stepUp?.maxAuthAgeSeconds ?? DEFAULT_MAX_AUTH_AGE_SECONDS;
  const signIn = principal.signIn;
  const ageSeconds = signIn?.at === undefined ? undefined : now.getTime() / 1000 - signIn.at;
  const recent = ageSeconds !== undefined && ageSeconds <= maxAgeSeconds && ageSeconds >= -CLOCK_SKEW_SECONDS;
  if (signIn?.strong === true && recent) return;
  const why = signIn?.strong === true ? 'a more recent sign-in' : 'a sign-in with MFA';
  throw new StepUpRequiredError(`profile "${profile.name}" is restricted: it needs ${why} (within the last ${describe(maxAgeSeconds)})`, {
    details: { maxAgeSeconds, ...(signIn?.acrValues?.length ? { acrValues: signIn.acrValues } : {}) },
  });
}

/** What the token verifier tolerates for exp and nbf. */
const CLOCK_SKEW_SECONDS = 60;

function describe(seconds: number): string {
  if (seconds % 3600 === 0 && seconds >= 3600) return `${seconds / 3600} h`;
  if (seconds % 60 === 0 && seconds >= 60) return `${seconds / 60} min`;
  return `${seconds} s`;
}
