// describeCaller (GET /me) with an in-memory store: what the caller could vend right now, with the
// limits a vend would apply.
import { describeCaller } from '../../shared/domain/describe-caller.js';
import type { Grant, Profile } from '../../shared/domain/model.js';
import { FIXED_NOW, aGrant, aPrincipal, aProfile } from '../fixtures/builders.js';
import { InMemoryDelegationStore, fixedClock } from '../fixtures/in-memory.js';

function setUp(profiles: Profile[], grants: Grant[]) {
  const store = new InMemoryDelegationStore({ profiles, grants });
  return { deps: { store, clock: fixedClock(FIXED_NOW) }, store };
}

describe('describeCaller', () => {
  const principal = aPrincipal({ id: 'alice@example.com', groups: ['developers', 'oncall'] });

  it('reports the principal, its groups and each usable grant with the limits a vend would apply', async () => {
    // Prepare
    const devProfile = aProfile({ name: 'dev-readonly', maxSessionSeconds: 3600, scope: { actions: ['s3:Get*'] } });
    const prodProfile = aProfile({ name: 'prod-admin', maxSessionSeconds: 1800 });
    const { deps } = setUp(
      [devProfile, prodProfile],
      [
        aGrant({ id: 'grant-own', profile: 'dev-readonly', maxSessionSeconds: 1200 }),
        aGrant({
          id: 'grant-oncall',
          profile: 'prod-admin',
          subject: { type: 'group', id: 'oncall' },
          scope: { actions: ['ec2:*'] },
          canDelegate: true,
        }),
      ],
    );

    // Act
    const description = await describeCaller(deps, principal);

    // Assess
    expect(description).toEqual({
      principal: 'alice@example.com',
      groups: ['developers', 'oncall'],
      grants: [
        {
          grantId: 'grant-own',
          profile: 'dev-readonly',
          subject: { type: 'user', id: 'alice@example.com' },
          validUntil: '2027-01-01T00:00:00.000Z',
          maxSessionSeconds: 1200,
          // No scope of its own: the profile's applies.
          scope: { actions: ['s3:Get*'] },
          canDelegate: false,
        },
        {
          grantId: 'grant-oncall',
          profile: 'prod-admin',
          subject: { type: 'group', id: 'oncall' },
          validUntil: '2027-01-01T00:00:00.000Z',
          // No limit of its own: the profile's applies.
          maxSessionSeconds: 1800,
          scope: { actions: ['ec2:*'] },
          canDelegate: true,
        },
      ],
    });
  });

  it("caps a grant's session limit at its profile's", async () => {
    // Prepare: the profile was tightened after the grant was made.
    const { deps } = setUp(
      [aProfile({ maxSessionSeconds: 900 })],
      [aGrant({ maxSessionSeconds: 3600 })],
    );

    // Act
    const description = await describeCaller(deps, principal);

    // Assess
    expect(description.grants.map((grant) => grant.maxSessionSeconds)).toEqual([900]);
  });

  it('leaves out grants that are revoked, expired, not yet valid, on deleted profiles, or held by others', async () => {
    // Prepare
    const { deps } = setUp(
      [aProfile({ name: 'dev-readonly' })],
      [
        aGrant({ id: 'grant-usable' }),
        aGrant({ id: 'grant-revoked', status: 'revoked', revokedAt: '2026-05-01T00:00:00.000Z', revokedBy: 'x' }),
        aGrant({ id: 'grant-expired', validUntil: '2026-06-01T12:00:00.000Z' }),
        aGrant({ id: 'grant-future', validFrom: '2026-06-01T12:00:00.001Z' }),
        aGrant({ id: 'grant-orphan', profile: 'deleted-profile' }),
        aGrant({ id: 'grant-bob', subject: { type: 'user', id: 'bob@example.com' } }),
        aGrant({ id: 'grant-other-group', subject: { type: 'group', id: 'finance' } }),
      ],
    );

    // Act
    const description = await describeCaller(deps, principal);

    // Assess
    expect(description.grants.map((grant) => grant.grantId)).toEqual(['grant-usable']);
  });

  it('sorts by profile, then grant id', async () => {
    // Prepare
    const { deps } = setUp(
      [aProfile({ name: 'b-profile' }), aProfile({ name: 'a-profile' })],
      [
        aGrant({ id: 'grant-2', profile: 'b-profile' }),
        aGrant({ id: 'grant-3', profile: 'a-profile', subject: { type: 'group', id: 'developers' } }),
        aGrant({ id: 'grant-1', profile: 'b-profile', subject: { type: 'group', id: 'oncall' } }),
      ],
    );

    // Act
    const description = await describeCaller(deps, principal);

    // Assess
    expect(description.grants.map((grant) => [grant.profile, grant.grantId])).toEqual([
      ['a-profile', 'grant-3'],
      ['b-profile', 'grant-1'],
      ['b-profile', 'grant-2'],
    ]);
  });

  it('reports no grants for a caller without any', async () => {
    // Prepare
    const { deps } = setUp([aProfile()], []);

    // Act
    const description = await describeCaller(deps, aPrincipal({ id: 'nobody@example.com', groups: [] }));

    // Assess
    expect(description).toEqual({ principal: 'nobody@example.com', groups: [], grants: [] });
  });

  it('never reports the ExternalId of a profile', async () => {
    // Prepare
    const { deps } = setUp([aProfile({ externalId: 'ext-id-secret-1234' })], [aGrant()]);

    // Act
    const description = await describeCaller(deps, principal);

    // Assess
    expect(JSON.stringify(description)).not.toContain('ext-id-secret-1234');
  });

  it('leaves out grants made for an earlier profile of the same name', async () => {
    // Prepare
    const { deps } = setUp([aProfile({ generation: 'current' })], [aGrant({ profileGeneration: 'deleted-profile' })]);

    // Act
    const described = await describeCaller(deps, aPrincipal());

    // Assess
    expect(described.grants).toEqual([]);
  });

  it('caps maxSessionSeconds at the time left on the grant, as a vend would', async () => {
    // Prepare: 2,000 s left on a grant allowing 3,600
    const validUntil = new Date(FIXED_NOW.getTime() + 2_000_000).toISOString();
    const { deps } = setUp([aProfile({ maxSessionSeconds: 3600 })], [aGrant({ maxSessionSeconds: 3600, validUntil })]);

    // Act
    const described = await describeCaller(deps, aPrincipal());

    // Assess
    expect(described.grants.map((g) => g.maxSessionSeconds)).toEqual([2000]);
  });
});
