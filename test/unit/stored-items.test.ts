// Items read back from the delegations table pass their schema before the domain sees them: what
// tvm wrote reads back as it was, and an item written around tvm (or by a version that stored
// something else) is refused as STORE_UNAVAILABLE instead of being half-read into a vend.
import { engagementItem, grantItem, profileItem, toEngagement, toGrant, toProfile } from '../../shared/adapters/delegation-keys.js';
import { StoreUnavailableError } from '../../shared/domain/errors.js';
import type { Engagement } from '../../shared/domain/model.js';
import { aGrant, aProfile } from '../fixtures/builders.js';

const ENGAGEMENT: Engagement = {
  id: 'engagement-1',
  name: 'website rebuild',
  owner: 'owner@example.com',
  contractors: ['dev@agency.example'],
  profiles: [{ profile: 'dev-readonly', scope: { actions: ['s3:GetObject'] }, maxSessionSeconds: 900 }],
  validUntil: '2026-07-01T00:00:00.000Z',
  status: 'handed-over',
  createdBy: 'owner@example.com',
  createdAt: '2026-06-01T00:00:00.000Z',
  version: 2,
  handover: { at: '2026-06-15T00:00:00.000Z', by: 'owner@example.com', to: ['owner@example.com'], revokedGrants: ['g1'], newGrants: ['g2'], cutOffOrder: 'o1' },
};

describe('stored items', () => {
  it('read back exactly what tvm wrote', () => {
    // Prepare
    const profile = aProfile({ requestable: { approverGroups: ['leads'], approvals: 2, maxDurationSeconds: 3600, requireReason: true, pendingSeconds: 600 } });
    const grant = aGrant({ scope: { actions: ['s3:GetObject'] }, maxSessionSeconds: 900, parentGrantId: 'parent', depth: 1, status: 'revoked', revokedReason: 'engagement-handed-over' });

    // Act
    const read = { profile: toProfile(profileItem(profile)), grant: toGrant(grantItem(grant)), engagement: toEngagement(engagementItem(ENGAGEMENT, [])) };

    // Assess
    expect(read).toEqual({ profile, grant, engagement: ENGAGEMENT });
  });

  it.each<[string, () => unknown]>([
    ['a grant whose status is not one tvm writes', () => toGrant({ ...grantItem(aGrant()), status: 'suspended' })],
    ['a grant without its end', () => toGrant({ ...grantItem(aGrant()), validUntil: undefined })],
    ['a grant for a subject of no known type', () => toGrant({ ...grantItem(aGrant()), subject: { type: 'role', id: 'x' } })],
    ['a grant whose canDelegate is a string', () => toGrant({ ...grantItem(aGrant()), canDelegate: 'true' })],
    ['a profile without a role', () => toProfile({ ...profileItem(aProfile()), roleArn: undefined })],
    ['a profile whose maximum session is not a number', () => toProfile({ ...profileItem(aProfile()), maxSessionSeconds: '3600' })],
    // A restricted profile's step-up must not be shed by rewriting the item: not its sensitivity, not its age.
    ['a profile whose sensitivity was removed', () => toProfile({ ...profileItem(aProfile({ sensitivity: 'restricted' })), sensitivity: undefined })],
    ['a profile whose sensitivity is not one tvm writes', () => toProfile({ ...profileItem(aProfile()), sensitivity: 'RESTRICTED' })],
    ['a profile whose step-up age would switch step-up off', () => toProfile({ ...profileItem(aProfile({ sensitivity: 'restricted' })), stepUp: { maxAuthAgeSeconds: 1e9 } })],
    ['a profile whose step-up age is not a number', () => toProfile({ ...profileItem(aProfile({ sensitivity: 'restricted' })), stepUp: { maxAuthAgeSeconds: '900' } })],
    ['a profile with three approvals required', () => toProfile({ ...profileItem(aProfile()), requestable: { approverGroups: [], approvals: 3, maxDurationSeconds: 1, requireReason: false, pendingSeconds: 1 } })],
    ['an engagement whose contractors are not a list', () => toEngagement({ ...engagementItem(ENGAGEMENT, []), contractors: 'dev@agency.example' })],
    ['an engagement without its version', () => toEngagement({ ...engagementItem(ENGAGEMENT, []), version: undefined })],
  ])('refuses %s as STORE_UNAVAILABLE', (_, read) => {
    // Act
    const refused = (() => {
      try {
        read();
        return undefined;
      } catch (error) {
        return error;
      }
    })();

    // Assess
    expect(refused).toBeInstanceOf(StoreUnavailableError);
    expect((refused as StoreUnavailableError).message).toMatch(/^a stored (grant|profile|engagement) could not be read$/);
  });
});
