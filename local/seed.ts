// The demo the local stack starts with, written through tvm's own adapter (so it is audited like
// any admin change): profiles demo-readonly and demo-deploy, and demo-readonly granted to the
// group `engineering`.
import { adminEvent } from '../shared/domain/audit.js';
import type { Grant, Principal, Profile } from '../shared/domain/model.js';
import type { DelegationStore } from '../shared/domain/ports.js';
import { randomIds } from '../shared/adapters/system.js';

const SEEDER: Principal = { id: 'tvm-local-seed', groups: [], issuer: 'local' };
export const DEMO_GRANT_ID = 'demo-readonly-engineering';

export const DEMO_PROFILES: readonly Omit<Profile, 'createdAt' | 'generation' | 'updatedAt' | 'updatedBy'>[] = [
  {
    name: 'demo-readonly',
    roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-readonly',
    description: 'Read-only demo role',
    maxSessionSeconds: 3600,
    scope: { actions: ['s3:Get*', 's3:List*', 'sts:GetCallerIdentity'], resources: ['*'] },
    sensitivity: 'standard',
  },
  {
    name: 'demo-deploy',
    roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-deploy',
    description: 'Deployment demo role',
    maxSessionSeconds: 43200,
    // Standard, so the README's walkthrough runs on any sign-in; test/e2e/step-up.test.ts makes a
    // restricted profile of its own.
    sensitivity: 'standard',
  },
];

export async function seedDemo(store: DelegationStore, now = new Date()): Promise<void> {
  const meta = { requestId: 'seed' };
  for (const demo of DEMO_PROFILES) {
    if (await store.getProfile(demo.name)) continue;
    const profile: Profile = {
      ...demo,
      createdAt: now.toISOString(),
      generation: randomIds.next(),
      updatedAt: now.toISOString(),
      updatedBy: SEEDER.id,
    };
    await store.putProfile(
      profile,
      adminEvent(now, randomIds.next(), 'profile.put', SEEDER, meta, { profile: profile.name, detail: { ...profile } }),
    );
  }
  if (await store.getGrant(DEMO_GRANT_ID)) return;
  const readonly = await store.getProfile('demo-readonly');
  if (!readonly) throw new Error('demo-readonly was not seeded');
  const grant: Grant = {
    id: DEMO_GRANT_ID,
    profile: 'demo-readonly',
    profileGeneration: readonly.generation,
    subject: { type: 'group', id: 'engineering' },
    validFrom: now.toISOString(),
    validUntil: new Date(now.getTime() + 365 * 86_400_000).toISOString(),
    maxSessionSeconds: 3600,
    canDelegate: false,
    status: 'active',
    version: 1,
    createdBy: SEEDER.id,
    createdAt: now.toISOString(),
    reason: 'local demo',
  };
  await store.createGrant(
    grant,
    adminEvent(now, randomIds.next(), 'grant.created', SEEDER, meta, {
      profile: grant.profile,
      grantId: grant.id,
      detail: { ...grant },
    }),
  );
}
