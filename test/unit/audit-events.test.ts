// Audit events about one profile or several: what `adminEvent` records and which profiles an event concerns.
import { adminEvent, concernsProfile } from '../../shared/domain/audit.js';
import { aPrincipal, FIXED_NOW } from '../fixtures/builders.js';

const SEC = aPrincipal({ id: 'sec@example.com', groups: ['tvm-security'] });
const META = { requestId: 'req-1' };

describe('adminEvent', () => {
  it('records an event about several profiles with `profiles` (a copy), never a joined `profile`', () => {
    // Prepare
    const profiles = ['dev-readonly', 'prod-admin'];

    // Act
    const event = adminEvent(FIXED_NOW, 'e1', 'engagement.created', SEC, META, { profiles, detail: { name: 'rebuild' } });
    profiles.push('later');

    // Assess
    expect(event).toEqual({
      id: `${FIXED_NOW.toISOString()}#e1`,
      type: 'engagement.created',
      at: FIXED_NOW.toISOString(),
      principal: SEC.id,
      requestId: 'req-1',
      profiles: ['dev-readonly', 'prod-admin'],
      detail: { name: 'rebuild' },
    });
  });

  it('records an event about one profile with `profile`', () => {
    // Act
    const event = adminEvent(FIXED_NOW, 'e2', 'profile.put', SEC, META, { profile: 'dev-readonly' });

    // Assess
    expect(event).toMatchObject({ profile: 'dev-readonly' });
    expect(event).not.toHaveProperty('profiles');
  });
});

describe('concernsProfile', () => {
  it.each<[string, { profile?: string; profiles?: string[] }, string, boolean]>([
    ['its one profile', { profile: 'dev-readonly' }, 'dev-readonly', true],
    ['another one profile', { profile: 'dev-readonly' }, 'prod-admin', false],
    ['the first of its profiles', { profiles: ['dev-readonly', 'prod-admin'] }, 'dev-readonly', true],
    ['the second of its profiles', { profiles: ['dev-readonly', 'prod-admin'] }, 'prod-admin', true],
    ['none of its profiles', { profiles: ['dev-readonly', 'prod-admin'] }, 'billing', false],
    ['any profile, for every profile', { profiles: ['*'] }, 'billing', true],
    ['a name that only starts like one of them', { profiles: ['dev-readonly'] }, 'dev', false],
    ['any profile, for an event about none', {}, 'dev-readonly', false],
  ])('%s', (_, event, profile, expected) => {
    // Act / Assess
    expect(concernsProfile(event, profile)).toBe(expected);
  });
});
