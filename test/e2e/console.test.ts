// The web console in a real browser (Debian's Chromium through playwright-core) against
// the e2e stack: sign-in through the dev issuer's form (authorization code + PKCE), deep links that
// survive it, tokens kept out of localStorage and the address bar, no console errors, and no
// axe-core violations (WCAG 2.2 A/AA) in light and dark.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { GetAccessKeyInfoCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { ADMIN_GROUPS, api, SECURITY_GROUPS, stackInfo, stsWith, tokenFor } from './support/api.js';
import { accessibilityViolations, launchBrowser, signInThroughForm, watchErrors, type Browser, type Page } from './support/browser.js';

const unique = () => randomBytes(4).toString('hex');

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

describe('signing in', () => {
  it('takes a user through the dev issuer to the page they asked for, showing who the API says they are', async () => {
    // Prepare
    const context = await browser.newContext({ colorScheme: 'light' });
    const page = await context.newPage();
    const errors = watchErrors(page);
    const user = `alice-${unique()}@example.com`;
    const deepLink = `${stackInfo().consoleUrl}me`;

    // Act
    await signInThroughForm(page, deepLink, user, 'engineering');

    // Assess
    await expect(page.getByTestId('principal').textContent()).resolves.toBe(user);
    expect(page.url()).toBe(deepLink);
    const storage = (await page.evaluate('({ local: JSON.stringify(localStorage), session: Object.keys(sessionStorage) })')) as { local: string; session: string[] };
    expect(storage.local).not.toMatch(/eyJ/); // no JWT in localStorage
    expect(storage.session).toEqual(['tvm.token']);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('stays signed out after Sign out, until asked to sign in again', async () => {
    // Prepare
    const tab = await tabAs(`sol-${unique()}@example.com`, [], 'me');
    await tab.page.getByTestId('principal').waitFor();

    // Act
    await tab.page.getByRole('button', { name: 'Sign out' }).click();

    // Assess
    await tab.page.getByRole('heading', { name: 'Signed out' }).waitFor();
    expect(new URL(tab.page.url()).origin).toBe(new URL(stackInfo().consoleUrl).origin);
    expect(await tab.page.evaluate('sessionStorage.getItem("tvm.token")')).toBeNull();
    await tab.page.getByRole('button', { name: 'Sign in' }).click();
    await tab.page.getByLabel('User').waitFor();
    await tab.close();
  });

  it('refuses a callback it did not start (state does not match), and says so', async () => {
    // Prepare
    const context = await browser.newContext();
    const page = await context.newPage();

    // Act
    await page.goto(`${stackInfo().consoleUrl}callback?code=stolen&state=forged`);

    // Assess
    await expect(page.getByRole('alert').textContent()).resolves.toContain('state does not match');
    expect(page.url()).toBe(`${stackInfo().consoleUrl}callback`);
    await context.close();
  });
});

/** A signed-in tab for `user` in `groups`, at `path` under the console, watching for errors. */
async function tabAs(user: string, groups: string[], path: string, colorScheme: 'light' | 'dark' = 'light'): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
  const context = await browser.newContext({ colorScheme });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await signInThroughForm(page, `${stackInfo().consoleUrl}${path}`, user, groups.join(', '));
  return { page, errors, close: () => context.close() };
}

/** Waits until every use so far went through recordUse (the local CloudTrail bridge). */
async function settle(): Promise<void> {
  expect((await fetch(`${stackInfo().loopControlUrl}/drain`, { method: 'POST' })).status).toBe(204);
}

describe('the security team', () => {
  it("opens a key just vended by deep link, and sees who it was issued to and the call it made", async () => {
    // Prepare: a key vended to an engineer and used once
    const user = `eve-${unique()}@example.com`;
    const vended = await api<{ credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string } }>('POST', '/credentials', {
      token: await tokenFor(user, ['engineering']),
      body: { profile: 'demo-readonly', durationSeconds: 900 },
    });
    expect(vended.status).toBe(200);
    const { credentials } = vended.body;
    await stsWith(credentials).send(new GetCallerIdentityCommand({}));
    await settle();

    // Act
    const tab = await tabAs(`sec-${unique()}@example.com`, SECURITY_GROUPS, `keys/${credentials.accessKeyId}`);

    // Assess
    await tab.page.getByTestId('key-principal').waitFor();
    await expect(tab.page.getByTestId('key-principal').textContent()).resolves.toBe(user);
    await expect(tab.page.getByRole('table', { name: /Uses, oldest first/ }).textContent()).resolves.toContain('sts.amazonaws.com GetCallerIdentity');
    // The README's picture of the console is this page (TVM_UPDATE_SCREENSHOTS=1 writes it there).
    const picture = await tab.page.screenshot({ fullPage: true });
    expect(picture.subarray(1, 4).toString()).toBe('PNG');
    if (process.env.TVM_UPDATE_SCREENSHOTS === '1') writeFileSync(new URL('../../docs/console-key-trace.png', import.meta.url), picture);
    expect(tab.errors).toEqual([]);
    await tab.close();
  });

  it('filters the audit timeline by principal, the filter in the address, and exports what it shows (recorded)', async () => {
    // Prepare
    const user = `finn-${unique()}@example.com`;
    expect((await api('POST', '/credentials', { token: await tokenFor(user, ['engineering']), body: { profile: 'demo-readonly', durationSeconds: 900 } })).status).toBe(200);
    const tab = await tabAs(`sec-${unique()}@example.com`, SECURITY_GROUPS, 'me');
    // The unfiltered timeline answers late, after the filtered one: it must not land on top of it.
    await tab.page.route(
      (url) => url.pathname === '/audit/events' && !url.searchParams.has('principal') && !url.searchParams.has('type'),
      async (route) => {
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        await route.continue();
      },
    );
    await tab.page.getByRole('link', { name: 'Audit' }).click();

    // Act
    await tab.page.getByLabel('Principal').fill(user);
    await tab.page.getByRole('button', { name: 'Filter' }).click();

    // Assess
    await tab.page.waitForURL(`${stackInfo().consoleUrl}audit?principal=${encodeURIComponent(user)}`);
    const table = tab.page.getByRole('table', { name: /Events, newest first/ });
    await table.getByText('credential.issued', { exact: true }).first().waitFor();
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // the late unfiltered answer has come
    await expect(table.getByText('credential.issued', { exact: true }).count()).resolves.toBe(1);
    await expect(table.textContent()).resolves.not.toContain('demo-deploy');
    const [file] = await Promise.all([tab.page.waitForEvent('download'), tab.page.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = readFileSync((await file.path()) ?? '', 'utf8');
    expect(file.suggestedFilename()).toMatch(/^tvm-audit-.*\.csv$/);
    expect(csv.split('\r\n')[0]).toContain('"id","at","type","principal"');
    expect(csv).toContain(`"credential.issued","${user}"`);
    const exports = await api<{ events: { detail?: { filters?: unknown } }[] }>('GET', '/audit/events?type=audit.exported&limit=20', { token: await tokenFor('sec@example.com', SECURITY_GROUPS) });
    expect(exports.body.events.map((event) => event.detail?.filters)).toContainEqual({ principal: user });
    expect(tab.errors).toEqual([]);
    await tab.close();
  });

  it('activates a lockdown as one person, cannot lift it as the same person, and lifts it as a second', async () => {
    // Prepare: a profile of its own, so no other test meets the lockdown
    const profile = `e2e-console-lock-${unique()}`;
    expect((await api('PUT', `/profiles/${profile}`, { token: await tokenFor('admin@example.com', ADMIN_GROUPS), body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-sandbox' } })).status).toBe(200);
    const [first, second] = [`sec1-${unique()}@example.com`, `sec2-${unique()}@example.com`];
    const tab = await tabAs(first, SECURITY_GROUPS, 'lockdown');
    try {
      // Act: activate
      await tab.page.getByLabel('Profiles (comma-separated, or *)').fill(profile);
      await tab.page.getByLabel('Allowed people (comma-separated)').fill(first);
      await tab.page.getByLabel('Reason').fill('console e2e');
      await tab.page.getByRole('button', { name: 'Activate lockdown' }).click();
      await tab.page.getByTestId('lockdown-state').filter({ hasText: /^Active since/ }).waitFor();
      await expect(tab.page.getByText('a second member of tvm-security must lift it').count()).resolves.toBe(1);
      // Act: the activator tries to lift it
      await tab.page.getByLabel('Reason for lifting').fill('done');
      await tab.page.getByRole('button', { name: 'Lift lockdown' }).click();

      // Assess
      await tab.page.getByRole('alert').filter({ hasText: 'SECOND_APPROVER_REQUIRED' }).waitFor();
      const other = await tabAs(second, SECURITY_GROUPS, 'lockdown');
      await other.page.getByLabel('Reason for lifting').fill('verified');
      await other.page.getByRole('button', { name: 'Lift lockdown' }).click();
      await other.page.getByText('The lockdown is lifted.').waitFor();
      await other.page.getByTestId('lockdown-state').filter({ hasText: /^Not active/ }).waitFor();
      expect([...tab.errors.filter((error) => !error.includes('403')), ...other.errors]).toEqual([]);
      await other.close();
    } finally {
      await tab.close();
      // Whatever happened above, no other test meets this lockdown.
      await api('DELETE', '/lockdown', { token: await tokenFor(`cleanup-${unique()}@example.com`, SECURITY_GROUPS), body: { reason: 'console e2e cleanup' } });
    }
  });
});

describe('who has access', () => {
  it('shows a grant, its chain and its live session, and cuts it off after a typed confirmation', async () => {
    // Prepare: a profile of its own, granted to one person, who vends a key
    const admin = await tokenFor('admin@example.com', ADMIN_GROUPS);
    const profile = `e2e-console-cut-${unique()}`;
    const holder = `hal-${unique()}@example.com`;
    expect((await api('PUT', `/profiles/${profile}`, { token: admin, body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-sandbox' } })).status).toBe(200);
    const granted = await api<{ id: string }>('POST', '/grants', { token: admin, body: { profile, subject: { type: 'user', id: holder }, validUntil: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(granted.status).toBe(201);
    const vended = await api<{ credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string } }>('POST', '/credentials', { token: await tokenFor(holder), body: { profile } });
    expect(vended.status).toBe(200);
    // Revoking a grant takes tvm-admin (DELETE /grants); the security team sees the page without the action.
    const tab = await tabAs(`admin-${unique()}@example.com`, ['tvm-admin', 'tvm-security'], `access?profile=${profile}`);

    // Act
    await tab.page.getByRole('table', { name: 'Live sessions' }).getByText(vended.body.credentials.accessKeyId).waitFor();
    await tab.page.getByRole('button', { name: 'Cut off…' }).click();
    await tab.page.getByText('cuts off 1 live session.').waitFor();
    await tab.page.getByLabel('Profile name').fill(profile);
    await tab.page.getByRole('button', { name: 'Revoke and cut off' }).click();

    // Assess
    await tab.page.getByText(`Grant ${granted.body.id} revoked: 1 sessions cut off, 0 not (yet).`).waitFor();
    await expect(stsWith(vended.body.credentials).send(new GetAccessKeyInfoCommand({ AccessKeyId: vended.body.credentials.accessKeyId }))).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(tab.errors).toEqual([]);
    await tab.close();
  });
});

describe('an admin', () => {
  it('creates a profile and a grant of it', async () => {
    // Prepare
    const profile = `e2e-console-${unique()}`;
    const grantee = `gus-${unique()}@example.com`;
    const tab = await tabAs(`admin-${unique()}@example.com`, ADMIN_GROUPS, 'profiles');

    // Act
    await tab.page.getByLabel('Name').fill(profile);
    await tab.page.getByLabel('Role ARN').fill('arn:aws:iam::000000000000:role/tvm-demo-readonly');
    await tab.page.getByRole('button', { name: 'Save profile' }).click();
    await tab.page.getByText(`Profile ${profile} saved.`).waitFor();
    await tab.page.getByRole('link', { name: 'Grants' }).click();
    await tab.page.getByLabel('Profile').fill(profile);
    await tab.page.getByLabel('Subject', { exact: true }).fill(grantee);
    await tab.page.getByLabel('Valid until (your local time)').fill('2099-01-01T12:00');
    await tab.page.getByRole('button', { name: 'Create grant' }).click();

    // Assess
    await tab.page.getByText(`Granted ${profile} to ${grantee}.`).waitFor();
    const me = await api<{ grants: { profile: string }[] }>('GET', '/me', { token: await tokenFor(grantee) });
    expect(me.body.grants.map((grant) => grant.profile)).toEqual([profile]);
    expect(tab.errors).toEqual([]);
    await tab.close();
  });
});

describe('a handover', () => {
  it('shows what it will revoke and grant before it is confirmed, then hands over', async () => {
    // Prepare: an engagement of one contractor on a profile of its own
    const admin = `admin-${unique()}@example.com`;
    const adminToken = await tokenFor(admin, ADMIN_GROUPS);
    const profile = `e2e-console-eng-${unique()}`;
    const contractor = `carl-${unique()}@agency.example`;
    expect((await api('PUT', `/profiles/${profile}`, { token: adminToken, body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-sandbox' } })).status).toBe(200);
    const created = await api<{ id: string }>('POST', '/engagements', {
      token: adminToken,
      body: { name: 'console handover', owner: admin, contractors: [contractor], profiles: [{ profile }], validUntil: new Date(Date.now() + 3_600_000).toISOString() },
    });
    expect(created.status).toBe(201);
    const tab = await tabAs(admin, ADMIN_GROUPS, `engagements/${created.body.id}`);

    // Act
    await tab.page.getByRole('button', { name: 'Preview handover' }).click();
    const preview = await tab.page.getByTestId('handover-preview').textContent();
    const violations = await accessibilityViolations(tab.page);
    await tab.page.getByRole('button', { name: 'Confirm handover' }).click();

    // Assess
    expect(preview).toContain(`revoke 1 grant (${contractor} on ${profile})`);
    expect(preview).toContain(`grant ${admin} ${profile}, able to delegate`);
    expect(violations).toEqual([]);
    await tab.page.getByText('Handed over: 1 grants revoked, 1 granted, 0 sessions cut off.').waitFor();
    await tab.page.getByTestId('engagement-status').filter({ hasText: 'handed-over' }).waitFor();
    expect(tab.errors).toEqual([]);
    await tab.close();
  });
});

describe('an access request', () => {
  it('is asked for as one person, approved through its deep link by two others, and gives the requester a grant they vend under', async () => {
    // Prepare: a profile of its own that takes requests, decided by two members of one group
    const approvers = ['e2e-console-approvers'];
    const profile = `e2e-console-req-${unique()}`;
    const put = await api('PUT', `/profiles/${profile}`, {
      token: await tokenFor('admin@example.com', ADMIN_GROUPS),
      body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-sandbox', requestable: { approverGroups: approvers, approvals: 2, maxDurationSeconds: 7200 } },
    });
    expect(put.status).toBe(200);
    const [requester, first, second, late] = ['rita', 'bo', 'cy', 'dee'].map((name) => `${name}-${unique()}@example.com`) as [string, string, string, string];
    const asker = await tabAs(requester, [], `requests?profile=${profile}`);

    // Act: ask (the profile chosen by the link)
    await expect(asker.page.getByLabel('Profile').inputValue()).resolves.toBe(profile);
    await asker.page.getByLabel('Duration').selectOption({ label: '2 h' });
    await asker.page.getByLabel('Reason').fill('console e2e: incident 42');
    await asker.page.getByRole('button', { name: 'Ask for access' }).click();
    const sent = asker.page.getByRole('status').filter({ hasText: 'Request sent' });
    await sent.waitFor();
    await asker.page.getByRole('table', { name: /^My requests/ }).getByRole('row').filter({ hasText: profile }).filter({ hasText: 'pending' }).waitFor();
    const askViolations = await accessibilityViolations(asker.page);
    const link = (await sent.getByRole('link').getAttribute('href')) ?? '';
    const id = decodeURIComponent(link.slice(link.lastIndexOf('/') + 1));
    await sent.getByRole('link').click();
    await asker.page.getByRole('button', { name: 'Cancel request' }).waitFor();
    const selfApprove = await asker.page.getByRole('button', { name: 'Approve' }).count();

    // Act: two approvers open the link a notice carries (light, dark) and approve; a third is too late
    const one = await tabAs(first, approvers, `requests/${id}`);
    await one.page.getByTestId('request-approvals').filter({ hasText: /^0 of 2$/ }).waitFor();
    const lightViolations = await accessibilityViolations(one.page);
    await one.page.getByLabel('Comment on approving (optional)').fill('on call, fine');
    await one.page.getByRole('button', { name: 'Approve' }).click();
    await one.page.getByRole('status').filter({ hasText: 'Approved: it waits for 1 more approval.' }).waitFor();
    const two = await tabAs(second, approvers, `requests/${id}`, 'dark');
    const three = await tabAs(late, approvers, `requests/${id}`);
    await two.page.getByTestId('request-approvals').filter({ hasText: `1 of 2: ${first}` }).waitFor();
    await three.page.getByRole('button', { name: 'Approve' }).waitFor();
    const darkViolations = await accessibilityViolations(two.page);
    await two.page.getByRole('button', { name: 'Approve' }).click();
    await two.page.getByRole('status').filter({ hasText: 'Approved: the grant is created.' }).waitFor();
    await three.page.getByRole('button', { name: 'Approve' }).click();

    // Assess: the late approver is told why not; the requester sees the grant, and it is real
    await three.page.getByRole('alert').filter({ hasText: 'REQUEST_ALREADY_DECIDED' }).waitFor();
    await three.page.getByTestId('request-status').filter({ hasText: /^approved$/ }).waitFor();
    await asker.page.reload();
    await asker.page.getByTestId('request-status').filter({ hasText: /^approved$/ }).waitFor();
    const grantId = await asker.page.getByTestId('request-grant').textContent();
    const history = asker.page.getByRole('table', { name: 'History, oldest first' });
    await history.getByRole('row').filter({ hasText: first }).filter({ hasText: 'on call, fine' }).waitFor();
    await history.getByRole('row').filter({ hasText: second }).waitFor();
    const vended = await api<{ grantId: string; credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string } }>('POST', '/credentials', {
      token: await tokenFor(requester),
      body: { profile },
    });
    expect(vended.status).toBe(200);
    expect(vended.body.grantId).toBe(grantId);
    expect(selfApprove).toBe(0);
    expect({ askViolations, lightViolations, darkViolations }).toEqual({ askViolations: [], lightViolations: [], darkViolations: [] });

    // Act and assess: the requester revokes it after confirming, which cuts the session just vended
    await asker.page.getByRole('button', { name: 'Revoke…' }).click();
    await asker.page.getByLabel('Comment on revoking (optional)').fill('done');
    await asker.page.getByRole('button', { name: 'Revoke and cut off' }).click();
    await asker.page.getByRole('status').filter({ hasText: 'Revoked: 1 live session cut off.' }).waitFor();
    await asker.page.getByTestId('request-status').filter({ hasText: /^revoked$/ }).waitFor();
    await expect(stsWith(vended.body.credentials).send(new GetAccessKeyInfoCommand({ AccessKeyId: vended.body.credentials.accessKeyId }))).rejects.toMatchObject({ name: 'AccessDenied' });
    expect([...asker.errors, ...one.errors, ...two.errors, ...three.errors.filter((error) => !error.includes('409'))]).toEqual([]);
    await Promise.all([asker, one, two, three].map((tab) => tab.close()));
  }, 120_000);
});

describe('the keyboard', () => {
  it('reaches the timeline filters from the top of the page and applies one with Enter, no mouse', async () => {
    // Prepare
    const tab = await tabAs(`kay-${unique()}@example.com`, SECURITY_GROUPS, 'audit');
    await tab.page.getByRole('button', { name: 'Filter' }).waitFor();

    // Act: Tab from the top until the Type filter has focus (a bounded number of presses)
    let presses = 0;
    while ((await tab.page.evaluate('document.activeElement && document.activeElement.name')) !== 'type' && presses < 40) {
      await tab.page.keyboard.press('Tab');
      presses++;
    }
    await tab.page.keyboard.type('lockdown.lifted');
    await tab.page.keyboard.press('Enter');

    // Assess
    expect(presses).toBeLessThan(40);
    await tab.page.waitForURL(`${stackInfo().consoleUrl}audit?type=lockdown.lifted`);
    expect(tab.errors).toEqual([]);
    await tab.close();
  });
});

describe('size', () => {
  it("keeps all of the console's JavaScript within 60 kB gzipped", () => {
    // Act: what the stack built and serves (console/dist)
    const assets = new URL('../../console/dist/assets/', import.meta.url);
    const scripts = readdirSync(assets).filter((name) => name.endsWith('.js'));
    const gzipped = scripts.reduce((sum, name) => sum + gzipSync(readFileSync(new URL(name, assets))).length, 0);

    // Assess
    expect(scripts.length).toBeGreaterThan(0);
    expect(gzipped).toBeLessThanOrEqual(60_000);
  });
});

describe('accessibility', () => {
  const PAGES = ['', 'me', 'audit', 'alerts', 'access?profile=demo-readonly', 'lockdown', 'verify', 'profiles', 'grants', 'keys/ASIAEXAMPLENOTUSED1', 'requests'];

  it.each(['light', 'dark'] as const)('has no WCAG 2.2 A/AA violations on any page (%s)', async (colorScheme) => {
    // Prepare
    const tab = await tabAs(`ada-${unique()}@example.com`, ['tvm-admin', 'tvm-security'], 'me', colorScheme);
    const found: Record<string, unknown[]> = {};

    // Act
    for (const path of PAGES) {
      await tab.page.goto(`${stackInfo().consoleUrl}${path}`);
      await tab.page.locator('main h1').first().waitFor();
      await tab.page.waitForFunction(() => !(globalThis as unknown as { document: { querySelector(selector: string): unknown } }).document.querySelector('[role=status].muted'));
      const violations = await accessibilityViolations(tab.page);
      if (violations.length > 0) found[path || 'home'] = violations;
    }

    // Assess
    expect(found).toEqual({});
    await tab.close();
  }, 90_000); // axe on every page, twice: slow on a busy machine
});
