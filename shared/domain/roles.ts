// Which IAM role a profile names, as IAM tells roles apart: by partition, account and name, the
// name case-insensitively and without its path (IAM role names are unique in an account regardless
// of case and path). Two profiles whose ARNs differ only in case or path name the same role, so a
// lockdown or a cut-off of one is a lockdown or cut-off of both.

export const ROLE_ARN = /^arn:([a-z0-9-]+):iam::(\d{12}):role\/(?:[^/]*\/)*([^/]+)$/;

/** `<partition>:<account>:<role name in lower case>`; throws on anything but a role ARN. */
export function roleKey(roleArn: string): string {
  const match = ROLE_ARN.exec(roleArn);
  if (!match) throw new RangeError(`not an IAM role ARN: ${JSON.stringify(roleArn)}`);
  const [, partition, account, name] = match as unknown as [string, string, string, string];
  return `${partition}:${account}:${name.toLowerCase()}`;
}

/** The role's name, the last segment of its ARN: what IAM's role APIs take. */
export function roleName(roleArn: string): string {
  return roleArn.slice(roleArn.lastIndexOf('/') + 1);
}

export function sameRole(a: string, b: string): boolean {
  return roleKey(a) === roleKey(b);
}

/** One ARN per role, the first of each in `roleArns`' order. */
export function distinctRoles(roleArns: Iterable<string>): string[] {
  const byKey = new Map<string, string>();
  for (const arn of roleArns) if (!byKey.has(roleKey(arn))) byKey.set(roleKey(arn), arn);
  return [...byKey.values()];
}

/**
 * Every role a profile's sessions may still be live on at `now`: the one it names, and those it
 * named before while a session vended then can still be live (Profile.formerRoles).
 */
export function rolesOf(profile: { readonly roleArn: string; readonly formerRoles?: readonly { readonly roleArn: string; readonly until: string }[] }, now: Date): string[] {
  const former = (profile.formerRoles ?? []).filter((role) => Date.parse(role.until) > now.getTime()).map((role) => role.roleArn);
  return distinctRoles([profile.roleArn, ...former]);
}
