// Session durations. AssumeRole accepts 900 s up to the role's MaxSessionDuration, which is at most
// 12 h; the 36 h some documents mention applies only to GetSessionToken/GetFederationToken.
import { DurationOutOfRangeError } from './errors.js';

export const MIN_SESSION_SECONDS = 900;
export const MAX_SESSION_SECONDS = 43_200;
/** STS would default to 3,600; tvm asks for the shortest session unless told otherwise. */
export const DEFAULT_SESSION_SECONDS = 900;

export interface SessionLimits {
  readonly grant?: number;
  readonly profile: number;
  /** Seconds until the grant's validUntil. */
  readonly grantRemaining?: number;
}

/** The longest session these limits allow: min(grant, profile, 43,200, time left on the grant). */
export function sessionCeiling(limits: SessionLimits): number {
  const configured = Math.min(limits.grant ?? limits.profile, limits.profile, MAX_SESSION_SECONDS);
  const remaining = limits.grantRemaining === undefined ? Infinity : Math.max(0, Math.floor(limits.grantRemaining));
  return Math.min(configured, remaining);
}

/**
 * The duration to request from STS: `requested`, or the default, if it lies within
 * [900, min(grant limit, profile limit, 43,200, time left on the grant)] — a session never
 * outlives the grant it came from. `profileName` only makes the message clearer.
 */
export function resolveDuration(
  requested: number | undefined,
  limits: SessionLimits,
  profileName?: string,
): number {
  const configured = sessionCeiling({ grant: limits.grant, profile: limits.profile });
  const max = sessionCeiling(limits);
  const forProfile = profileName === undefined ? '' : ` for profile "${profileName}"`;
  if (!(max >= MIN_SESSION_SECONDS)) {
    throw new DurationOutOfRangeError(
      max < configured
        ? `no session duration is possible: the grant${forProfile} ends in ${max} seconds, less than the ` +
            `${MIN_SESSION_SECONDS}-second minimum`
        : `no session duration is possible${forProfile}: its maximum of ${max} seconds is below the ` +
            `${MIN_SESSION_SECONDS}-second minimum`,
      { details: { min: MIN_SESSION_SECONDS, max } },
    );
  }
  const duration = requested ?? DEFAULT_SESSION_SECONDS;
  if (!Number.isInteger(duration) || duration < MIN_SESSION_SECONDS || duration > max) {
    throw new DurationOutOfRangeError(
      `durationSeconds must be ${Number.isInteger(duration) ? '' : 'a whole number '}between ` +
        `${MIN_SESSION_SECONDS} and ${max}${forProfile}${max < configured ? ' (the grant ends sooner)' : ''}`,
      { details: { min: MIN_SESSION_SECONDS, max } },
    );
  }
  return duration;
}

/**
 * A console session. AWS's federation endpoint signs in a role session whose AssumeRole named
 * DurationSeconds only when an IAM user asked for it, which tvm's functions never are; so a console
 * session is assumed without one and lasts STS's default, one hour (also the most a role-chained
 * session, as all of tvm's are, may last). The grant and the profile must allow that hour.
 */
export const CONSOLE_SESSION_SECONDS = 3600;

export function resolveConsoleDuration(requested: number | undefined, limits: SessionLimits, profileName: string): number {
  const range = { details: { min: CONSOLE_SESSION_SECONDS, max: CONSOLE_SESSION_SECONDS } };
  if (requested !== undefined && requested !== CONSOLE_SESSION_SECONDS) {
    throw new DurationOutOfRangeError(
      `a console session lasts ${CONSOLE_SESSION_SECONDS} s, no more, no less: AWS signs tvm's sessions in only at STS's default duration`,
      range,
    );
  }
  const max = sessionCeiling(limits);
  if (max < CONSOLE_SESSION_SECONDS) {
    throw new DurationOutOfRangeError(
      `a console session lasts ${CONSOLE_SESSION_SECONDS} s, but your grant for profile "${profileName}" allows a session of ${max} s at most now`,
      range,
    );
  }
  return CONSOLE_SESSION_SECONDS;
}
