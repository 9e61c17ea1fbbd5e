// Session durations. AssumeRole accepts 900 s up to the role's MaxSessionDuration, which is at most
// 12 h; the 36 h some documents mention applies only to GetSessionToken/GetFederationToken.
import { DurationOutOfRangeError } from './errors.js';

export const MIN_SESSION_SECONDS = 900;
export const MAX_SESSION_SECONDS = 43_200;
/** STS would default to 3,600; tvm asks for the shortest session unless told otherwise. */
export const DEFAULT_SESSION_SECONDS = 900;

/**
 * The duration to request from STS: `requested`, or the default, if it lies within
 * [900, min(grant limit, profile limit, 43,200)]. `profileName` only makes the message clearer.
 */
export function resolveDuration(
  requested: number | undefined,
  limits: { grant?: number; profile: number },
  profileName?: string,
): number {
  const max = Math.min(limits.grant ?? limits.profile, limits.profile, MAX_SESSION_SECONDS);
  const forProfile = profileName === undefined ? '' : ` for profile "${profileName}"`;
  if (!(max >= MIN_SESSION_SECONDS)) {
    // The grant or profile is misconfigured: no duration STS accepts fits under its limit.
    throw new DurationOutOfRangeError(
      `no session duration is possible${forProfile}: its maximum of ${max} seconds is below the ` +
        `${MIN_SESSION_SECONDS}-second minimum`,
      { details: { min: MIN_SESSION_SECONDS, max } },
    );
  }
  const duration = requested ?? DEFAULT_SESSION_SECONDS;
  if (!Number.isInteger(duration) || duration < MIN_SESSION_SECONDS || duration > max) {
    throw new DurationOutOfRangeError(
      `durationSeconds must be ${Number.isInteger(duration) ? '' : 'a whole number '}between ` +
        `${MIN_SESSION_SECONDS} and ${max}${forProfile}`,
      { details: { min: MIN_SESSION_SECONDS, max } },
    );
  }
  return duration;
}
