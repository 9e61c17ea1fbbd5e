// Anchored chain heads on the local stack: the anchoring function (run now through the loop control,
// as its schedule would) writes today's chain heads to the stack's anchor directory, read-only, and
// GET /audit/verify compares every chain with that anchor and says as of when.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { api, SECURITY_GROUPS, stackInfo, tokenFor } from './support/api.js';

interface VerifyBody {
  ok: boolean;
  checked: number;
  broken: { id: string; reason: string }[];
  anchors: { day: string; at: string; chains: number }[];
}

async function anchorNow(): Promise<void> {
  const response = await fetch(`${stackInfo().loopControlUrl}/anchor`, { method: 'POST' });
  expect({ status: response.status, ok: response.ok }).toEqual({ status: 200, ok: true });
  await response.text();
}

describe('anchoring the audit chains', () => {
  it('anchors every chain head of today read-only, and verify checks the chains against it', async () => {
    // Prepare: something recorded today
    const vend = await api('POST', '/credentials', { token: await tokenFor(`anchored-${randomBytes(4).toString('hex')}@example.com`, ['engineering']), body: { profile: 'demo-readonly' } });
    expect(vend.status).toBe(200);
    const today = new Date().toISOString().slice(0, 10);

    // Act
    await anchorNow();
    const verify = await api<VerifyBody>('GET', '/audit/verify', { token: await tokenFor('anchor-auditor@example.com', SECURITY_GROUPS) });

    // Assess: the newest file of today is the anchor verify used
    const dayDir = join(stackInfo().anchorDir, today);
    const [newest] = readdirSync(dayDir).sort();
    const anchor = JSON.parse(readFileSync(join(dayDir, String(newest)), 'utf8')) as { day: string; at: string; heads: { chain: string; seq: number }[] };
    expect(anchor.day).toBe(today);
    expect(anchor.heads.length).toBeGreaterThan(0);
    // Chain-keyed chains are named x<shard> (xu<shard> for uses), legacy ones <shard> (u<shard>).
    for (const head of anchor.heads) expect(head.chain).toMatch(new RegExp(`^${today}#x?u?\\d+$`));
    expect(statSync(join(dayDir, String(newest))).mode & 0o222).toBe(0);
    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ ok: true, broken: [] });
    expect(verify.body.anchors).toContainEqual({ day: today, at: anchor.at, chains: anchor.heads.length });
  });
});
