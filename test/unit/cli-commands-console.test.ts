// `tvm console <profile>` in-process with a fake fetch and a fake browser: the request it sends,
// that it opens the sign-in URL (printing it only when asked or when no browser opens), and that a
// browser is never handed anything but a web page.
import { browserCommand } from '../../cli/browser.js';
import { EXIT } from '../../cli/errors.js';
import { apiRefusal, runTvm, TEST_TOKEN } from '../fixtures/cli-in-process.js';

const SIGNIN_URL = 'https://signin.aws.amazon.com/federation?Action=login&Issuer=tvm&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3&SigninToken=token-1';
const SIGN_IN = { signinUrl: SIGNIN_URL, expiration: '2026-06-01T13:00:00.000Z' };

/** A browser that records what it was asked to open, and opens it or not. */
function aBrowser(opens = true) {
  const opened: string[] = [];
  return { opened, openUrl: async (url: string) => (opened.push(url), opens) };
}

describe('tvm console', () => {
  it('asks POST /credentials?format=console with the profile and options, and opens the sign-in URL without printing it', async () => {
    // Prepare
    const browser = aBrowser();

    // Act
    const run = await runTvm(
      ['console', 'demo-deploy', '--destination', '/ec2/home?region=eu-west-1', '--reason', 'check the fleet'],
      [{ body: SIGN_IN }],
      { openUrl: browser.openUrl },
    );

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(run.requests).toEqual([
      {
        method: 'POST',
        path: '/credentials',
        query: { format: 'console' },
        body: { profile: 'demo-deploy', reason: 'check the fleet', destination: '/ec2/home?region=eu-west-1' },
        authorization: `Bearer ${TEST_TOKEN}`,
      },
    ]);
    expect(browser.opened).toEqual([SIGNIN_URL]);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('tvm: opened the AWS console as demo-deploy in your browser (session until 2026-06-01T13:00:00.000Z)\n');
  });

  it('sends only the profile when given nothing else', async () => {
    // Act
    const run = await runTvm(['console', 'demo-readonly'], [{ body: SIGN_IN }], { openUrl: aBrowser().openUrl });

    // Assess
    expect(run.requests[0]?.body).toEqual({ profile: 'demo-readonly' });
  });

  it('prints the URL and opens nothing with --print', async () => {
    // Prepare
    const browser = aBrowser();

    // Act
    const run = await runTvm(['console', 'demo-readonly', '--print'], [{ body: SIGN_IN }], { openUrl: browser.openUrl });

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toBe(`${SIGNIN_URL}\n`);
    expect(browser.opened).toEqual([]);
  });

  it('prints the answer as JSON with --json, opening nothing', async () => {
    // Prepare
    const browser = aBrowser();

    // Act
    const run = await runTvm(['console', 'demo-readonly', '--json'], [{ body: SIGN_IN }], { openUrl: browser.openUrl });

    // Assess
    expect(JSON.parse(run.stdout)).toEqual(SIGN_IN);
    expect(browser.opened).toEqual([]);
  });

  it('prints the URL, saying why, when no browser opens', async () => {
    // Act
    const run = await runTvm(['console', 'demo-readonly'], [{ body: SIGN_IN }], { openUrl: aBrowser(false).openUrl });

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toBe(`${SIGNIN_URL}\n`);
    expect(run.stderr).toMatch(/^tvm: could not open a browser/);
  });

  it.each([
    ['a file: URL', 'file:///etc/passwd'],
    ['a custom protocol handler', 'ms-settings:privacy'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['plain http to another machine', 'http://signin.example.com/federation?Action=login'],
    ['an option for the opener', '--help'],
    ['no URL at all', undefined],
  ])('never hands the browser %s from the API (exit 5)', async (_label, signinUrl) => {
    // Prepare
    const browser = aBrowser();

    // Act
    const run = await runTvm(['console', 'demo-readonly'], [{ body: { signinUrl, expiration: SIGN_IN.expiration } }], { openUrl: browser.openUrl });

    // Assess
    expect(run.code).toBe(EXIT.server);
    expect(run.stderr).toBe('tvm: BAD_RESPONSE: POST /credentials?format=console answered without a usable sign-in URL\n');
    expect(browser.opened).toEqual([]);
    expect(run.stdout).toBe('');
  });

  it("opens the local stack's plain-http sign-in URL on this machine", async () => {
    // Prepare
    const browser = aBrowser();
    const local = 'http://127.0.0.1:3005/federation?Action=login&SigninToken=t';

    // Act
    const run = await runTvm(['console', 'demo-readonly'], [{ body: { signinUrl: local, expiration: SIGN_IN.expiration } }], { openUrl: browser.openUrl });

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(browser.opened).toEqual([local]);
  });

  it.each([
    ['a destination that is a URL', ['--destination', 'https://evil.example.com/']],
    ['a protocol-relative destination', ['--destination', '//evil.example.com']],
    // A console session lasts STS's default hour: there is nothing to choose.
    ['a duration', ['--duration', '3600']],
  ])('refuses %s before asking the API (exit 2)', async (_label, options) => {
    // Act
    const run = await runTvm(['console', 'demo-readonly', ...options], [], { openUrl: aBrowser().openUrl });

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.requests).toEqual([]);
  });

  it("passes the API's refusal on with its code (exit 4)", async () => {
    // Act
    const run = await runTvm(['console', 'demo-readonly'], [apiRefusal(403, 'LOCKDOWN_ACTIVE', 'profile "demo-readonly" is locked down')], {
      openUrl: aBrowser().openUrl,
    });

    // Assess
    expect(run.code).toBe(EXIT.refused);
    expect(run.stderr).toBe('tvm: LOCKDOWN_ACTIVE: profile "demo-readonly" is locked down\n');
  });

  it('has --help', async () => {
    // Act
    const run = await runTvm(['console', '--help']);

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toMatch(/^Usage: tvm console \[options\] <profile>/);
  });
});

describe('browserCommand', () => {
  const url = 'https://signin.aws.amazon.com/federation?Action=login&Destination=x&SigninToken=t';

  it.each([
    ['linux', 'xdg-open', [url]],
    ['freebsd', 'xdg-open', [url]],
    ['darwin', 'open', [url]],
    // Not cmd.exe's `start`: cmd would read each `&` in the URL as a command separator.
    ['win32', 'rundll32', ['url.dll,FileProtocolHandler', url]],
  ] as const)('on %s runs %s with the URL as one argument, no shell', (platform, command, args) => {
    // Act, Assess
    expect(browserCommand(platform, url)).toEqual([command, args]);
  });
});
