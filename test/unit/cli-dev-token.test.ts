// `tvm dev-token --amr` and `--auth-time`: how the token says its holder signed in (RFC 8176 `amr`)
// and when (`auth_time`), what a restricted profile's step-up rule reads. Bad values are usage errors
// before any token is minted; the minted claims are test/integration/dev-issuer.test.ts's.
import { InvalidArgumentError } from 'commander';
import { parseAmr, parseAuthTime } from '../../cli/commands/dev-token.js';
import { EXIT } from '../../cli/errors.js';
import { runTvm } from '../fixtures/cli-in-process.js';

const NOW = new Date('2026-12-05T10:00:00.000Z');
const NOW_SECONDS = NOW.getTime() / 1000;

describe('--amr', () => {
  it.each([
    ['pwd', ['pwd']],
    ['pwd,mfa', ['pwd', 'mfa']],
    [' pwd , hwk ', ['pwd', 'hwk']],
    ['mfa,mfa,otp', ['mfa', 'otp']],
  ])('takes %j as %j', (value, methods) => {
    // Act / Assess
    expect(parseAmr(value)).toEqual(methods);
  });

  it.each(['', 'pwd,', 'MFA', 'pwd mfa', 'p"wd', 'x'.repeat(33), Array.from({ length: 17 }, (_, i) => `m${i}`).join(',')])('refuses %j', (value) => {
    // Act / Assess
    expect(() => parseAmr(value)).toThrow(InvalidArgumentError);
  });
});

describe('--auth-time', () => {
  it.each([
    ['-30s', NOW_SECONDS - 30],
    ['-5m', NOW_SECONDS - 300],
    ['-2h', NOW_SECONDS - 7200],
    ['-0s', NOW_SECONDS],
    ['now', NOW_SECONDS],
    ['2026-12-05T09:45:00Z', NOW_SECONDS - 900],
    ['2026-12-05T10:40:00+01:00', NOW_SECONDS - 1200],
    ['2026-12-01', Date.parse('2026-12-01T00:00:00Z') / 1000],
  ])('takes %j as that many epoch seconds', (value, seconds) => {
    // Act / Assess
    expect(parseAuthTime(value, NOW)).toBe(seconds);
  });

  it.each([
    ['a time to come', '+5m'],
    ['a moment after now', '2026-12-05T10:00:01Z'],
    ['days (only s, m, h)', '-1d'],
    ['a bare number', '300'],
    ['a unit alone', '-m'],
    ['words', 'five minutes ago'],
    ['an ISO time without its offset', '2026-12-05T09:45:00'],
    ['a date that does not exist', '2026-02-30'],
  ])('refuses %s (%j)', (_what, value) => {
    // Act / Assess
    expect(() => parseAuthTime(value, NOW)).toThrow(InvalidArgumentError);
  });

  it('says why a time to come is refused', () => {
    // Act / Assess
    expect(() => parseAuthTime('2027-01-01T00:00:00Z', NOW)).toThrow('a sign-in cannot be later than now (2027-01-01T00:00:00Z is).');
  });
});

describe('tvm dev-token', () => {
  it.each([
    ['--auth-time', 'yesterday'],
    ['--amr', 'pwd;mfa'],
  ])('refuses %s %s as a usage error (exit 2), printing no token and reading no stack', async (flag, value) => {
    // Act
    const run = await runTvm(['dev-token', '--sub', 'alice', flag, value]);

    // Assess
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: EXIT.usage, stdout: '' });
    expect(run.stderr).toMatch(new RegExp(`^tvm: USAGE: option '${flag} <\\w+>' argument '${value}' is invalid\\. expected `));
  });
});
