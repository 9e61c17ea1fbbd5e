// Step-up for restricted profiles (RFC 9470): a restricted profile is only for a caller whose
// verified token shows a strong sign-in (amr, or acr) within the profile's maximum age. Each case
// is a way in that must stay shut, or a caller who must get through.
import { StepUpRequiredError } from '../../shared/domain/errors.js';
import type { Principal, SignIn } from '../../shared/domain/model.js';
import { assertSteppedUp } from '../../shared/domain/step-up-rules.js';
import { aPrincipal, aProfile } from '../fixtures/builders.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const NOW_S = NOW.getTime() / 1000;
const RESTRICTED = aProfile({ name: 'prod-admin', sensitivity: 'restricted' });
const STANDARD = aProfile({ name: 'dev-readonly', sensitivity: 'standard' });

const signedIn = (signIn: SignIn): Principal => aPrincipal({ signIn });
const mfaAgo = (seconds: number): Principal => signedIn({ methods: ['pwd', 'mfa'], at: NOW_S - seconds, strong: true });

function refusal(run: () => void): StepUpRequiredError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof StepUpRequiredError) return error;
    throw error;
  }
}

describe('assertSteppedUp', () => {
  it.each<[string, Principal]>([
    ['a token that says nothing of the sign-in (no amr, no auth_time)', aPrincipal()],
    ['a password alone (amr ["pwd"])', signedIn({ methods: ['pwd'], at: NOW_S - 10, strong: false })],
    ['MFA without auth_time', signedIn({ methods: ['mfa'], strong: true })],
    ['MFA 16 minutes ago (the default maximum is 15)', mfaAgo(16 * 60)],
    ['an auth_time in the future beyond the clock skew', mfaAgo(-3600)],
  ])('refuses %s on a restricted profile', (_, principal) => {
    // Act
    const refused = refusal(() => assertSteppedUp(RESTRICTED, principal, NOW));

    // Assess
    expect(refused?.code).toBe('STEP_UP_REQUIRED');
    expect(refused?.details).toEqual({ maxAgeSeconds: 900 });
    expect(refused?.message).toMatch(/^profile "prod-admin" is restricted: it needs a (sign-in with MFA|more recent sign-in) \(within the last 15 min\)$/);
  });

  it('lets a caller through who signed in with MFA within the maximum age, up to its very second', () => {
    // Act
    const results = [mfaAgo(0), mfaAgo(899), mfaAgo(900), mfaAgo(-30)].map((principal) => refusal(() => assertSteppedUp(RESTRICTED, principal, NOW)));

    // Assess
    expect(results).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("applies the profile's own maximum age", () => {
    // Prepare
    const strict = { ...RESTRICTED, stepUp: { maxAuthAgeSeconds: 60 } };

    // Act
    const recent = refusal(() => assertSteppedUp(strict, mfaAgo(60), NOW));
    const older = refusal(() => assertSteppedUp(strict, mfaAgo(61), NOW));

    // Assess
    expect(recent).toBeUndefined();
    expect(older?.details).toEqual({ maxAgeSeconds: 60 });
    expect(older?.message).toBe('profile "prod-admin" is restricted: it needs a more recent sign-in (within the last 1 min)');
  });

  it('takes a strong acr (strong as the issuer judged it) and asks for its acr_values', () => {
    // Prepare
    const viaAcr = signedIn({ methods: [], acr: 'phrh', at: NOW_S - 5, strong: true, acrValues: ['phrh'] });
    const weakAcr = signedIn({ methods: [], acr: 'phr', at: NOW_S - 5, strong: false, acrValues: ['phrh'] });

    // Act
    const passed = refusal(() => assertSteppedUp(RESTRICTED, viaAcr, NOW));
    const refused = refusal(() => assertSteppedUp(RESTRICTED, weakAcr, NOW));

    // Assess
    expect(passed).toBeUndefined();
    expect(refused?.details).toEqual({ maxAgeSeconds: 900, acrValues: ['phrh'] });
  });

  it('leaves standard profiles alone, whatever the token says', () => {
    // Act
    const results = [aPrincipal(), mfaAgo(86_400), signedIn({ methods: ['pwd'], strong: false })].map((principal) =>
      refusal(() => assertSteppedUp(STANDARD, principal, NOW)),
    );

    // Assess
    expect(results).toEqual([undefined, undefined, undefined]);
  });
});
