// A step-up (RFC 9470): the API refused an action with STEP_UP_REQUIRED because this tab's sign-in
// is too old or too weak for a restricted profile. The person is sent back to the issuer with the
// challenge's max_age and acr_values, and the action is replayed once when they are back. What the
// replay needs (the action and who asked, never a token) waits in sessionStorage for the round trip.
import { useEffect, useState } from 'preact/hooks';
import type { StepUpChallenge } from '../../shared/http/step-up-challenge.js';
import { StepUpRequiredError } from './api.js';
import { currentSession, signIn } from './auth.js';
import { here } from './router.js';

/** The actions the API may refuse for a step-up, as much of each as replaying it needs. */
export type StepUpAction =
  | { readonly kind: 'console-sign-in'; readonly profile: string }
  | { readonly kind: 'ask'; readonly body: Readonly<Record<string, unknown>> }
  | { readonly kind: 'decide'; readonly id: string; readonly step: 'approve' | 'deny' | 'cancel' | 'revoke'; readonly body: Readonly<Record<string, unknown>> };

type ActionOf<K extends StepUpAction['kind']> = Extract<StepUpAction, { kind: K }>;

const KEY = 'tvm.stepUp';
/** A step-up not back within this is forgotten: the person has moved on. */
const REPLAY_WITHIN_MS = 10 * 60_000;

interface Pending {
  readonly action: StepUpAction;
  /** Who asked: the action is replayed only for them. */
  readonly principal: string;
  readonly at: number;
}

/** Keeps `action` and sends the browser to the issuer for the sign-in `challenge` asks for, back to this page. */
async function stepUp(action: StepUpAction, challenge: StepUpChallenge): Promise<never> {
  const pending: Pending = { action, principal: currentSession()?.principal ?? '', at: Date.now() };
  sessionStorage.setItem(KEY, JSON.stringify(pending));
  // No max_age named: a new sign-in, not the one the issuer's session cookie remembers.
  return signIn(here(), { maxAgeSeconds: challenge.maxAgeSeconds ?? 0, ...(challenge.acrValues ? { acrValues: challenge.acrValues } : {}) });
}

/** The action kept for `kind` (and `matches`), taken out; any kept action that can no longer be replayed is dropped. */
function takeReplay<K extends StepUpAction['kind']>(kind: K, matches: (action: ActionOf<K>) => boolean): ActionOf<K> | undefined {
  let pending: Pending | undefined;
  try {
    pending = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Pending | undefined;
  } catch {
    pending = undefined;
  }
  if (!pending) return undefined;
  // Signed in as someone else, or too late: the action was theirs, or the moment has passed.
  const stale = pending.principal !== currentSession()?.principal || !(Date.now() - pending.at < REPLAY_WITHIN_MS);
  const mine = pending.action?.kind === kind && matches(pending.action as ActionOf<K>);
  if (stale || mine) sessionStorage.removeItem(KEY);
  return !stale && mine ? (pending.action as ActionOf<K>) : undefined;
}

const age = (seconds: number) => (seconds % 3600 === 0 && seconds > 0 ? `${seconds / 3600} h` : seconds % 60 === 0 && seconds > 0 ? `${seconds / 60} min` : `${seconds} s`);

export interface StepUp<A extends StepUpAction> {
  /** What to tell the person while the browser goes to the issuer; undefined otherwise. */
  readonly message: string | undefined;
  /** The issuer could not be reached to sign in again. */
  readonly failure: Error | undefined;
  /** For a failed action: true when it was a step-up refusal, now being met (never for a replay: that would loop). */
  begin(error: unknown, action: A, replayed: boolean): boolean;
}

/** Replays this page's kept `kind` action once it is back from a step-up, and begins new step-ups. */
export function useStepUp<K extends StepUpAction['kind']>(
  kind: K,
  replay: (action: ActionOf<K>) => void,
  matches: (action: ActionOf<K>) => boolean = () => true,
  deps: readonly unknown[] = [],
): StepUp<ActionOf<K>> {
  const [message, setMessage] = useState<string | undefined>();
  const [failure, setFailure] = useState<Error | undefined>();
  useEffect(() => {
    const action = takeReplay(kind, matches);
    if (action) replay(action);
  }, deps);
  return {
    message,
    failure,
    begin(error, action, replayed) {
      if (!(error instanceof StepUpRequiredError) || replayed) return false;
      const { maxAgeSeconds } = error.challenge;
      const within = maxAgeSeconds === undefined || maxAgeSeconds === 0 ? '' : ` (within the last ${age(maxAgeSeconds)})`;
      setFailure(undefined);
      setMessage(`This needs a recent sign-in with MFA${within}: taking you to sign in again, then it is done for you…`);
      stepUp(action, error.challenge).catch((problem: unknown) => {
        sessionStorage.removeItem(KEY);
        setMessage(undefined);
        setFailure(problem instanceof Error ? problem : new Error(String(problem)));
      });
      return true;
    },
  };
}
