// A real browser for the console's tests: Debian's Chromium (`apt-get install chromium`; .ci/run
// installs it), driven by playwright-core, whose own browser download is impossible here. Its major
// version must be the one playwright-core was built for, or the protocol may not match: checked
// first, with a message that says what to do. axe-core checks accessibility in the page.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const require = createRequire(import.meta.url);
/** playwright-core's folder (its package exports do not name its data files). */
const playwrightDir = () => dirname(require.resolve('playwright-core'));

/** Where Debian puts the browser itself (/usr/bin/chromium is a shell wrapper around it). */
const CANDIDATES = [process.env.TVM_CHROMIUM, '/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The Chromium major version playwright-core 1.64.1 speaks to. */
function expectedMajor(): number {
  const browsers = JSON.parse(readFileSync(join(playwrightDir(), 'browsers.json'), 'utf8')) as { browsers: { name: string; browserVersion: string }[] };
  return Number(browsers.browsers.find((browser) => browser.name === 'chromium')?.browserVersion.split('.')[0]);
}

/** The system Chromium's path, or a thrown error saying how to get the right one. */
export function systemChromium(): string {
  const path = CANDIDATES.find((candidate): candidate is string => candidate !== undefined && candidate !== '' && existsSync(candidate));
  const wanted = expectedMajor();
  if (path === undefined) {
    throw new Error(`no Chromium found: install Debian's (apt-get install -y chromium, version ${wanted}) or set TVM_CHROMIUM to a Chromium ${wanted} binary`);
  }
  const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).match(/(\d+)\.\d+\.\d+\.\d+/);
  const major = Number(version?.[1]);
  if (major !== wanted) {
    const playwright = (JSON.parse(readFileSync(join(playwrightDir(), 'package.json'), 'utf8')) as { version: string }).version;
    throw new Error(`${path} is Chromium ${version?.[0] ?? '?'}, but playwright-core ${playwright} drives Chromium ${wanted}: install that major version (apt-get install -y chromium) or set TVM_CHROMIUM`);
  }
  return path;
}

export async function launchBrowser(): Promise<Browser> {
  // The sandbox needs user namespaces, which CI's containers (running as root) do not give.
  return chromium.launch({ executablePath: systemChromium(), headless: true, args: ['--no-sandbox'] });
}

/** What the page said on its console as errors, and what it threw: a console test expects none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`${error.name}: ${error.message}`));
  return errors;
}

/** The WCAG 2.2 A and AA rules' violations on the page as it is now (axe-core, run in the page). */
export async function accessibilityViolations(page: Page): Promise<{ id: string; help: string; targets: string[] }[]> {
  const source = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol: the console's CSP (no inline script) is not weakened.
  await page.evaluate(source);
  return page.evaluate(`axe
    .run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
    .then((result) => result.violations.map((v) => ({ id: v.id, help: v.help, targets: v.nodes.map((node) => node.target.join(' ')) })))`);
}

/** Signs in through the dev issuer's form, starting from `url` (a deep link), and waits to be back there. */
export async function signInThroughForm(page: Page, url: string, user: string, groups: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Groups').fill(groups);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((current) => current.href === url);
}

export type { Browser, BrowserContext, Page };
