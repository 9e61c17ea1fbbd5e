// Every workflow driven through the `tvm` CLI alone (the packed CLI people install,
// `npm run pack:cli`'s bundle; one process per call, TVM_URL and TVM_TOKEN per caller) against the
// local stack: an admin sets up a profile and a grant, the holder vends and delegates, an engagement
// is handed over, security locks a profile down and a second person lifts it, then reads the trail
// back. The only calls not made through the CLI are the AWS ones a user would make with the vended
// credentials.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { EXIT } from '../../cli/errors.js';
import { packCli } from '../../cli/release/pack.js';
import { makeTvmHome, type TvmHome, type TvmRun } from '../integration/support/cli-harness.js';
import { ADMIN_GROUPS, api, SECURITY_GROUPS, stackInfo, stsWith, tokenFor } from './support/api.js';

const unique = randomBytes(4).toString('hex');
const profile = `cli-${unique}`;
const people = {
  admin: `admin-${unique}@example.com`,
  lead: `lead-${unique}@example.com`,
  eve: `eve-${unique}@example.com`,
  frank: `frank-${unique}@example.com`,
  owner: `owner-${unique}@example.com`,
  contractor: `dev-${unique}@agency.example`,
  sec1: `sec-1-${unique}@example.com`,
  sec2: `sec-2-${unique}@example.com`,
};
const tokens = {} as Record<keyof typeof people, string>;

// Each `tvm` call is a fresh Node process and the stack shares the machine's cores: a workflow of
// eight calls may need more than the e2e project's 30 s default.
const WORKFLOW_TIMEOUT_MS = 120_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// CloudTrail's eventTime has whole seconds: a second between a revocation and a use orders them.
const nextSecond = () => sleep(1_100);

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
}
interface VendAnswer {
  credentials: Credentials;
  grantId: string;
  sourceIdentity: string;
}
interface GrantAnswer {
  id: string;
  parentGrantId?: string;
  depth?: number;
  createdBy: string;
  subject: { type: string; id: string };
  status: string;
}
interface AuditEventAnswer {
  id: string;
  type: string;
  principal: string;
  accessKeyId?: string;
}

let home: TvmHome;
let packDir: string;
// Filled in as the story goes: each workflow builds on the one before.
let leadGrant: GrantAnswer;
let delegated: GrantAnswer;
let leadKey: Credentials;
let contractorKey: Credentials;

beforeAll(async () => {
  packDir = await mkdtemp(join(tmpdir(), 'tvm-cli-pack-'));
  home = await makeTvmHome({}, (await packCli(packDir)).bundle);
  const groups: Partial<Record<keyof typeof people, string[]>> = { admin: ADMIN_GROUPS, sec1: SECURITY_GROUPS, sec2: SECURITY_GROUPS };
  for (const [who, id] of Object.entries(people) as [keyof typeof people, string][]) tokens[who] = await tokenFor(id, groups[who] ?? []);
});

afterAll(async () => {
  // A failure mid-story must not leave the stack locked down for the files that run after this one.
  const status = await api<{ active: boolean; activatedBy?: string }>('GET', '/lockdown', { token: tokens.sec2 });
  if (status.body.active && status.body.activatedBy === people.sec1) {
    await api('DELETE', '/lockdown', { token: tokens.sec2, body: { reason: 'cli e2e cleanup' } });
  }
  await home.remove();
  await rm(packDir, { recursive: true, force: true });
});

/** `tvm <args>` as `who`: the stack's URL and that person's token, nothing else. */
function tvm(who: keyof typeof people, ...args: string[]): Promise<TvmRun> {
  return home.run(args, { TVM_URL: stackInfo().apiUrl, TVM_TOKEN: tokens[who] });
}

/** `tvm <args> --json` as `who`, which must succeed; its answer parsed. */
async function tvmJson<T>(who: keyof typeof people, ...args: string[]): Promise<T> {
  const run = await tvm(who, ...args, '--json');
  expect({ args, code: run.code, stderr: run.stderr }).toEqual({ args, code: EXIT.ok, stderr: '' });
  return JSON.parse(run.stdout) as T;
}

function expectSuccess(run: TvmRun): void {
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: EXIT.ok, stderr: '' });
}

function expectRefused(run: TvmRun, code: string): void {
  expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({
    code: EXIT.refused,
    stdout: '',
    stderr: expect.stringMatching(new RegExp(`^tvm: ${code}: .+\\n$`)),
  });
}

/** Waits until everything so far has gone through recordUse and then the alert function. */
async function settle(): Promise<void> {
  const response = await fetch(`${stackInfo().loopControlUrl}/drain`, { method: 'POST' });
  expect(response.status).toBe(204);
}

describe('every workflow through the tvm CLI', () => {
  it('an admin puts a profile and grants it; the holder sees it with `me` and vends with `credentials`', async () => {
    // Act: administer
    const put = await tvm('admin', 'profiles', 'put', profile, '--role-arn', 'arn:aws:iam::000000000000:role/tvm-demo-readonly', '--max-session-seconds', '3600', '--description', 'CLI e2e');
    // Changing one setting keeps the others (GET, then PUT with If-Match)
    const shortened = await tvmJson<{ roleArn: string; description?: string; maxSessionSeconds: number }>('admin', 'profiles', 'put', profile, '--max-session-seconds', '1800');
    const restored = await tvmJson<{ maxSessionSeconds: number; description?: string }>('admin', 'profiles', 'put', profile, '--max-session-seconds', '3600');
    expect(shortened).toMatchObject({ roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-readonly', description: 'CLI e2e', maxSessionSeconds: 1800 });
    expect(restored).toMatchObject({ description: 'CLI e2e', maxSessionSeconds: 3600 });
    const list = await tvm('admin', 'profiles', 'list');
    leadGrant = await tvmJson<GrantAnswer>('admin', 'grants', 'create', '--profile', profile, '--user', people.lead, '--valid-until', '+1d', '--can-delegate', '--reason', 'team lead');

    // Assess: the profile, in the human format
    expectSuccess(put);
    expect(put.stdout).toMatch(new RegExp(`^name:\\s+${profile}$`, 'm'));
    expect(put.stdout).toMatch(/^max session:\s+1h \(3600 s\)$/m);
    expect(list.stdout).toMatch(new RegExp(`^${profile}\\s+arn:aws:iam::000000000000:role/tvm-demo-readonly\\s+1h\\s+standard\\s+CLI e2e$`, 'm'));
    expect(leadGrant).toMatchObject({ subject: { type: 'user', id: people.lead }, status: 'active', createdBy: people.admin });

    // Act: the holder
    const me = await tvmJson<{ principal: string; grants: { grantId: string; profile: string; canDelegate: boolean }[] }>('lead', 'me');
    const vend = await tvmJson<VendAnswer>('lead', 'credentials', profile, '--format', 'json');
    leadKey = vend.credentials;
    const identity = await stsWith(leadKey).send(new GetCallerIdentityCommand({}));

    // Assess: the grant is usable, the credentials are the role's, bound to the holder
    expect(me.principal).toBe(people.lead);
    expect(me.grants).toContainEqual(expect.objectContaining({ grantId: leadGrant.id, profile, canDelegate: true }));
    expect(vend.grantId).toBe(leadGrant.id);
    expect(identity.Arn).toBe(`arn:aws:sts::000000000000:assumed-role/tvm-demo-readonly/${vend.sourceIdentity}`);
  }, WORKFLOW_TIMEOUT_MS);

  it('the holder delegates within their grant, is refused beyond it, and revokes what they delegated', async () => {
    // Act
    delegated = await tvmJson<GrantAnswer>('lead', 'grants', 'create', '--profile', profile, '--user', people.eve, '--valid-until', '+12h');
    const beyond = await tvm('lead', 'grants', 'create', '--profile', profile, '--user', people.eve, '--valid-until', '+30d');
    const eveVend = await tvmJson<VendAnswer>('eve', 'credentials', profile, '--format', 'json', '--no-cache');
    const toFrank = await tvmJson<GrantAnswer>('lead', 'grants', 'create', '--profile', profile, '--user', people.frank, '--valid-until', '+2h');
    const revoke = await tvm('lead', 'grants', 'revoke', toFrank.id);
    const frankVend = await tvm('frank', 'credentials', profile, '--no-cache');
    const listed = await tvmJson<{ grants: GrantAnswer[] }>('admin', 'grants', 'list', '--profile', profile);
    const mine = await tvmJson<{ grants: GrantAnswer[] }>('lead', 'grants', 'list', '--mine');
    const notAdmin = await tvm('lead', 'grants', 'list');

    // Assess
    expect(mine.grants.map((grant) => [grant.id, grant.status])).toEqual([
      [delegated.id, 'active'],
      [toFrank.id, 'revoked'],
    ]);
    expect(notAdmin.stderr).toContain('(tvm grants list --mine)');
    expect(delegated).toMatchObject({ parentGrantId: leadGrant.id, depth: 1, createdBy: people.lead, subject: { type: 'user', id: people.eve } });
    expectRefused(beyond, 'DELEGATION_EXCEEDS_GRANT');
    expect(eveVend.grantId).toBe(delegated.id);
    expectSuccess(revoke);
    expect(revoke.stdout).toBe(`revoked grant ${toFrank.id} (${profile} for user:${people.frank})\n\nsessions cut off:\n(none)\n`);
    expectRefused(frankVend, 'NO_GRANT');
    expect(listed.grants.map((grant) => [grant.id, grant.status])).toEqual(
      expect.arrayContaining([
        [leadGrant.id, 'active'],
        [delegated.id, 'active'],
        [toFrank.id, 'revoked'],
      ]),
    );
  }, WORKFLOW_TIMEOUT_MS);

  it("an engagement gives a contractor access until the owner's handover cuts it off", async () => {
    // Prepare
    const engagement = await tvmJson<{ id: string; status: string; grants: GrantAnswer[] }>(
      'admin', 'engagements', 'create', '--name', 'CLI rebuild', '--owner', people.owner, '--contractor', people.contractor,
      '--profile', profile, '--valid-until', '+2d',
    );
    contractorKey = (await tvmJson<VendAnswer>('contractor', 'credentials', profile, '--format', 'json', '--no-cache')).credentials;
    await stsWith(contractorKey).send(new GetCallerIdentityCommand({}));
    const before = await tvm('owner', 'engagements', 'show', engagement.id);
    const listedForContractor = await tvm('contractor', 'engagements', 'list');
    expect(listedForContractor.stdout).toMatch(new RegExp(`^${engagement.id}\\s+CLI rebuild\\s+active\\s+${people.owner}\\s+${people.contractor}\\s`, 'm'));
    await nextSecond();

    // Act
    const handover = await tvmJson<{ status: string; revokedGrants: string[]; newGrants: string[]; revokedSessions: { accessKeyId: string }[] }>(
      'owner', 'engagements', 'handover', engagement.id, '--note', 'shipped',
    );
    const again = await tvm('owner', 'engagements', 'handover', engagement.id);
    const contractorVend = await tvm('contractor', 'credentials', profile, '--no-cache');
    const after = await tvmJson<{ status: string; handover: { note: string } }>('owner', 'engagements', 'show', engagement.id);
    await nextSecond();
    // The contractor's old key, used after the handover: the alert below is about this call
    await stsWith(contractorKey).send(new GetCallerIdentityCommand({}));

    // Assess
    expect(engagement.status).toBe('active');
    expect(engagement.grants.map((grant) => grant.subject)).toEqual([{ type: 'user', id: people.contractor }]);
    expectSuccess(before);
    expect(before.stdout).toMatch(/^status:\s+active$/m);
    expect(before.stdout).toContain(`user:${people.contractor}`);
    expect(handover.status).toBe('handed-over');
    expect(handover.revokedGrants).toEqual(engagement.grants.map((grant) => grant.id));
    expect(handover.newGrants).toHaveLength(1);
    expect(handover.revokedSessions.map((session) => session.accessKeyId)).toEqual([contractorKey.accessKeyId]);
    expectRefused(again, 'ALREADY_HANDED_OVER');
    expectRefused(contractorVend, 'ENGAGEMENT_HANDED_OVER');
    expect(after).toMatchObject({ status: 'handed-over', handover: { note: 'shipped' } });
  }, WORKFLOW_TIMEOUT_MS);

  it('security locks the profile down to a named few, and only a second member of security lifts it', async () => {
    // Act
    // CloudTrail times have whole seconds: a use in the activation's second counts as during the
    // lockdown (use-during-lockdown), so the contractor's last call must be a second behind us.
    await nextSecond();
    const on = await tvm('sec1', 'lockdown', 'on', '--profile', profile, '--allow-principal', people.lead, '--reason', 'suspected espionage');
    const status = await tvmJson<{ active: boolean; profiles: string[]; allow: { principals: string[] } }>('sec2', 'lockdown', 'status');
    const plainStatus = await tvmJson<Record<string, unknown>>('eve', 'lockdown', 'status');
    const outsider = await tvm('eve', 'credentials', profile, '--no-cache');
    const allowed = await tvmJson<VendAnswer>('lead', 'credentials', profile, '--format', 'json', '--no-cache');
    const byActivator = await tvm('sec1', 'lockdown', 'off', '--reason', 'all clear');
    const bySecond = await tvm('sec2', 'lockdown', 'off', '--reason', 'all clear');
    const lifted = await tvm('eve', 'lockdown', 'status');
    const afterLift = await tvmJson<VendAnswer>('eve', 'credentials', profile, '--format', 'json', '--no-cache');

    // Assess
    expectSuccess(on);
    expect(on.stdout).toMatch(/^lockdown:\s+ACTIVE$/m);
    expect(on.stdout).toMatch(new RegExp(`^allowed principals:\\s+${people.lead}$`, 'm'));
    expect(status).toMatchObject({ active: true, profiles: [profile], allow: { principals: [people.lead] } });
    expect(plainStatus).toEqual({ active: true, profiles: [profile] });
    expectRefused(outsider, 'LOCKDOWN_ACTIVE');
    expect(allowed.grantId).toBe(leadGrant.id);
    expectRefused(byActivator, 'SECOND_APPROVER_REQUIRED');
    expectSuccess(bySecond);
    expect(bySecond.stdout).toMatch(/^lockdown lifted/);
    expect(lifted.stdout).toBe('lockdown: inactive\n');
    expect(afterLift.grantId).toBe(delegated.id);
  }, WORKFLOW_TIMEOUT_MS);

  it('security reads it all back: events, a key trace, who has access, the chain, and the alert', async () => {
    // Prepare: every use so far recorded and every event seen by the alert function
    await settle();

    // Act
    const issued = await tvmJson<{ events: AuditEventAnswer[] }>('sec1', 'audit', 'events', '--principal', people.lead, '--type', 'credential.issued');
    const onProfile = await tvmJson<{ events: AuditEventAnswer[]; nextCursor?: string }>('sec1', 'audit', 'events', '--profile', profile, '--limit', '5', '--all');
    const table = await tvm('sec1', 'audit', 'events', '--profile', profile, '--type', 'credential.denied');
    const trace = await tvmJson<{ issuance: { principal: string; grantId: string }; uses: { eventName: string }[]; revocations: { kind: string }[]; alerts: { rule: string }[] }>(
      'sec1', 'audit', 'trace', contractorKey.accessKeyId,
    );
    const traceText = await tvm('sec1', 'audit', 'trace', leadKey.accessKeyId);
    const access = await tvmJson<{ grants: { id: string; chain: { grantId: string }[] }[]; sessions: { accessKeyId: string }[] }>('sec1', 'audit', 'access', profile);
    const verify = await tvm('sec1', 'audit', 'verify', '--from', '-1h');
    const alerts = await tvmJson<{ alerts: { rule: string; accessKeyId: string; principal: string }[] }>('sec2', 'alerts', '--rule', 'use-after-revocation', '--since', '-1h');
    const forbidden = await tvm('eve', 'audit', 'events');

    // Assess: the events
    expect(issued.events.map((event) => event.accessKeyId)).toContain(leadKey.accessKeyId);
    expect(issued.events.every((event) => event.type === 'credential.issued' && event.principal === people.lead)).toBe(true);
    expect(onProfile.nextCursor).toBeUndefined();
    expect(onProfile.events.length).toBeGreaterThan(5);
    for (const type of ['profile.put', 'grant.created', 'grant.revoked', 'credential.issued', 'credential.denied', 'lockdown.activated', 'lockdown.lifted']) {
      expect(onProfile.events.map((event) => event.type)).toContain(type);
    }
    expectSuccess(table);
    expect(table.stdout).toMatch(new RegExp(`credential\\.denied\\s+${people.eve}\\s+${profile}\\s+-\\s+LOCKDOWN_ACTIVE: `));
    // Assess: where the contractor's key came from and what happened to it
    expect(trace.issuance).toMatchObject({ principal: people.contractor });
    expect(trace.uses.map((use) => use.eventName)).toEqual(['GetCallerIdentity', 'GetCallerIdentity']);
    expect(trace.revocations.map((revocation) => revocation.kind)).toEqual(expect.arrayContaining(['session', 'grant']));
    expect(trace.alerts.map((alert) => alert.rule)).toEqual(['use-after-revocation']);
    expectSuccess(traceText);
    expect(traceText.stdout).toMatch(new RegExp(`^issued to:\\s+${people.lead}$`, 'm'));
    expect(traceText.stdout).toMatch(/\nuses:\n.*\n.*sts\.amazonaws\.com\s+GetCallerIdentity/);
    // Assess: who has access now
    expect(access.grants.find((grant) => grant.id === delegated.id)?.chain.map((link) => link.grantId)).toEqual([leadGrant.id, delegated.id]);
    expect(access.sessions.map((session) => session.accessKeyId)).toContain(leadKey.accessKeyId);
    expect(access.sessions.map((session) => session.accessKeyId)).not.toContain(contractorKey.accessKeyId);
    // Assess: the chain holds, and the alert was raised
    expectSuccess(verify);
    expect(verify.stdout).toMatch(/^ok: \d+ events checked from /);
    expect(alerts.alerts).toContainEqual(expect.objectContaining({ accessKeyId: contractorKey.accessKeyId, principal: people.contractor }));
    expectRefused(forbidden, 'FORBIDDEN');
  }, WORKFLOW_TIMEOUT_MS);
});
