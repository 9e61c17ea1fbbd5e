// What tvm says when the API wants a fresher or stronger sign-in before it answers (RFC 9470
// step-up, `401 STEP_UP_REQUIRED`): one line naming what to do, which depends on where the token
// came from, and exit code 3 (EXIT.auth) as for any token the API will not take as it is.
import type { StepUpChallenge } from '../shared/http/step-up-challenge.js';
import { CliError, EXIT } from './errors.js';
import type { TokenSource } from './settings.js';

export class StepUpRequiredError extends CliError {
  constructor(
    /** The API's sentence alone; `message` adds what to do. */
    readonly reason: string,
    readonly challenge: StepUpChallenge,
    remedy: string,
  ) {
    super(`${reason}; ${remedy}`, EXIT.auth, 'STEP_UP_REQUIRED');
    this.name = 'StepUpRequiredError';
  }
}

/** 900 → "15 min", 3600 → "1 h", 45 → "45 s". */
export function formatAge(seconds: number): string {
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** " (within the last 15 min)", or " (a new sign-in)" for max_age=0, or nothing when no age was named. */
export function withinAge(challenge: StepUpChallenge): string {
  if (challenge.maxAgeSeconds === undefined) return '';
  return challenge.maxAgeSeconds === 0 ? ' (a new sign-in)' : ` (within the last ${formatAge(challenge.maxAgeSeconds)})`;
}

/**
 * The `tvm login` that satisfies the challenge. Without a max_age it asks for a new sign-in
 * (max_age=0): an identity provider would otherwise hand back the old one from its session cookie.
 */
export function loginCommandFor(challenge: StepUpChallenge): string {
  const acr = challenge.acrValues === undefined ? '' : ` --acr-values '${challenge.acrValues.join(' ')}'`;
  return `tvm login --max-age ${challenge.maxAgeSeconds ?? 0}${acr}`;
}

/** What to do, for a token from `source`. */
function remedy(challenge: StepUpChallenge, source: TokenSource | undefined): string {
  const when = withinAge(challenge);
  switch (source) {
    case 'environment':
      return `TVM_TOKEN holds an older or weaker sign-in: set it to a token from a sign-in with MFA${when}; locally, tvm dev-token --sub <you> --amr pwd,mfa`;
    case 'token-command':
      return `the token_command's token is from an older or weaker sign-in: sign in with MFA at your identity provider${when}, then run this again`;
    default:
      return `sign in again with MFA${when}: run \`${loginCommandFor(challenge)}\``;
  }
}

/** The refusal as one line: the API's sentence, then what to do. */
export function stepUpRequired(apiMessage: string | undefined, challenge: StepUpChallenge, source: TokenSource | undefined): StepUpRequiredError {
  const said = (apiMessage ?? challenge.description ?? 'this needs a more recent sign-in, with MFA').replace(/[.\s]+$/, '');
  return new StepUpRequiredError(said, challenge, remedy(challenge, source));
}
