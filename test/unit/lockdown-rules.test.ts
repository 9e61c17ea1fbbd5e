// What a lockdown locks: roles as IAM tells them apart, whatever the profile naming one is called.
import { LockdownActiveError } from '../../shared/domain/errors.js';
import { assertNotLockedOut, locksProfile, locksRole, lockdownExemption } from '../../shared/domain/lockdown-rules.js';
import { distinctRoles, roleKey, roleName, sameRole } from '../../shared/domain/roles.js';
import { aPrincipal, aProfile } from '../fixtures/builders.js';
import { aLockdown } from '../fixtures/in-memory-lockdown.js';

const DEPLOY = 'arn:aws:iam::123456789012:role/tvm-dev-deploy';
const lockedDeploy = aLockdown({ profiles: ['dev-deploy'], roles: [DEPLOY], allow: { groups: ['top-brass'], principals: ['ceo@example.com'] } });
const OUTSIDER = aPrincipal({ id: 'rogue@example.com', groups: ['tvm-admin'] });

describe('roleKey', () => {
  it.each([
    ['the same ARN', DEPLOY],
    ['the name in another case', 'arn:aws:iam::123456789012:role/TVM-Dev-Deploy'],
    ['a path before the name', 'arn:aws:iam::123456789012:role/team/a/tvm-dev-deploy'],
  ])('names the same role for %s', (_label, arn) => {
    expect(roleKey(arn)).toBe(roleKey(DEPLOY));
    expect(sameRole(arn, DEPLOY)).toBe(true);
  });

  it.each([
    ['another account', 'arn:aws:iam::210987654321:role/tvm-dev-deploy'],
    ['another partition', 'arn:aws-cn:iam::123456789012:role/tvm-dev-deploy'],
    ['another name', 'arn:aws:iam::123456789012:role/tvm-dev-deployer'],
    ['the name as a path segment', 'arn:aws:iam::123456789012:role/tvm-dev-deploy/other'],
  ])('tells %s apart', (_label, arn) => {
    expect(sameRole(arn, DEPLOY)).toBe(false);
  });

  it('refuses what is not a role ARN', () => {
    expect(() => roleKey('arn:aws:iam::123456789012:user/tvm-dev-deploy')).toThrow(RangeError);
    expect(() => roleKey('arn:aws:iam::123456789012:role/')).toThrow(RangeError);
  });

  it('keeps one ARN per role, the first seen, and names a role by its last segment', () => {
    expect(distinctRoles([DEPLOY, 'arn:aws:iam::123456789012:role/x/TVM-DEV-DEPLOY', 'arn:aws:iam::123456789012:role/y'])).toEqual([
      DEPLOY,
      'arn:aws:iam::123456789012:role/y',
    ]);
    expect(roleName('arn:aws:iam::123456789012:role/team/Deploy')).toBe('Deploy');
  });
});

describe('locksProfile', () => {
  it.each([
    ['the locked profile', aProfile({ name: 'dev-deploy', roleArn: DEPLOY })],
    ['another profile on its role', aProfile({ name: 'deploy-alias', roleArn: DEPLOY })],
    ['a profile naming its role in another case and with a path', aProfile({ name: 'x', roleArn: 'arn:aws:iam::123456789012:role/ops/TVM-DEV-DEPLOY' })],
    ['the locked name, even re-pointed elsewhere', aProfile({ name: 'dev-deploy', roleArn: 'arn:aws:iam::123456789012:role/tvm-other' })],
  ])('locks %s', (_label, profile) => {
    expect(locksProfile(lockedDeploy, profile)).toBe(true);
    expect(() => assertNotLockedOut(lockedDeploy, OUTSIDER, profile)).toThrow(LockdownActiveError);
  });

  it.each([
    ['a profile on another role', aProfile({ name: 'dev-readonly', roleArn: 'arn:aws:iam::123456789012:role/tvm-dev-readonly' })],
    ['a same-named role in another account', aProfile({ name: 'y', roleArn: 'arn:aws:iam::210987654321:role/tvm-dev-deploy' })],
  ])('leaves %s alone', (_label, profile) => {
    expect(locksProfile(lockedDeploy, profile)).toBe(false);
    expect(() => assertNotLockedOut(lockedDeploy, OUTSIDER, profile)).not.toThrow();
  });

  it('locks every role for ["*"], and nothing once lifted', () => {
    const everything = aLockdown({ profiles: ['*'], roles: [] });
    expect(locksRole(everything, 'arn:aws:iam::999999999999:role/anything')).toBe(true);
    expect(locksProfile({ ...lockedDeploy, active: false }, aProfile({ name: 'dev-deploy', roleArn: DEPLOY }))).toBe(false);
  });

  it("lets the allow list through, and tags an allowed caller's session with the lockdown's version", () => {
    const alias = aProfile({ name: 'deploy-alias', roleArn: DEPLOY });
    const member = aPrincipal({ id: 'general@example.com', groups: ['top-brass'] });
    expect(() => assertNotLockedOut(lockedDeploy, member, alias)).not.toThrow();
    expect(() => assertNotLockedOut(lockedDeploy, aPrincipal({ id: 'ceo@example.com', groups: [] }), alias)).not.toThrow();
    expect(lockdownExemption(lockedDeploy, member, alias)).toBe(String(lockedDeploy.version));
    expect(lockdownExemption(lockedDeploy, OUTSIDER, alias)).toBeUndefined();
    expect(lockdownExemption(lockedDeploy, member, aProfile({ name: 'other', roleArn: 'arn:aws:iam::123456789012:role/tvm-x' }))).toBeUndefined();
  });

  it('refuses without repeating the reason, which would tip off the person it is about', () => {
    const error = (() => {
      try {
        assertNotLockedOut(aLockdown({ ...lockedDeploy, reason: 'we suspect rogue@example.com' }), OUTSIDER, aProfile({ name: 'dev-deploy', roleArn: DEPLOY }));
      } catch (caught) {
        return caught as LockdownActiveError;
      }
      throw new Error('not refused');
    })();
    expect(error.message).toBe('profile "dev-deploy" is locked down; see GET /lockdown');
    expect(JSON.stringify(error.details)).not.toContain('rogue');
  });
});
