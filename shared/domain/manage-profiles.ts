import { adminEvent } from './audit.js';
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError } from './errors.js';
import { MAX_SESSION_SECONDS } from './duration.js';
import { refuseChangeIfLockedOut } from './lockdown-rules.js';
import type { Principal, Profile, RequestMeta } from './model.js';
import type { AuditWriter, Clock, DelegationStore, IdGenerator, LockdownStore } from './ports.js';
import type { ProfileInput } from './schemas.js';
import { sameRole } from './roles.js';
import { patternCovers } from './scope.js';

export interface ProfileDeps {
  readonly store: DelegationStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** IAM-style pattern every profile's role must match (the vend function may assume no other). */
  readonly roleArnPattern: string;
  /**
   * The AWS accounts tvm changes roles in: its own first, then the target accounts whose revoker
   * role it assumes. A profile's role must be in one, or no lockdown or revocation could reach its
   * sessions.
   */
  readonly accounts: readonly [string, ...string[]];
  /** During a lockdown only its allow list may change a locked profile or point one at a locked role. */
  readonly lockdown: LockdownStore;
  /** Where a change refused by the lockdown is recorded. */
  readonly audit: AuditWriter;
  readonly warn?: (message: string, data: Record<string, unknown>) => void;
}

/** A profile as any caller may see it: the ExternalId and the generation stay inside tvm. */
export type PublicProfile = Omit<Profile, 'externalId' | 'generation'> & { readonly externalIdSet: boolean };

export function toPublicProfile(profile: Profile): PublicProfile {
  const { externalId, generation: _generation, ...rest } = profile;
  return { ...rest, externalIdSet: externalId !== undefined };
}

export async function listProfiles(deps: Pick<ProfileDeps, 'store'>): Promise<PublicProfile[]> {
  return (await deps.store.listProfiles()).sort((a, b) => a.name.localeCompare(b.name)).map(toPublicProfile);
}

export async function getProfile(deps: Pick<ProfileDeps, 'store'>, name: string): Promise<PublicProfile> {
  const profile = await deps.store.getProfile(name);
  if (!profile) throw new NotFoundError(`profile "${name}" does not exist`);
  return toPublicProfile(profile);
}

/**
 * PUT /profiles/{name}:
 * 1. Check the role is one tvm may assume (clear 400 now rather than AccessDenied at vend time),
 *    in an account where tvm's cut-offs act (its own or a target account).
 * 2. During a lockdown, outside its allow list: no change to a locked profile, and no profile on a
 *    locked role, new or re-pointed (LOCKDOWN_ACTIVE, recorded): an alias would get around it.
 * 3. With `If-Match: "<updatedAt>"`, change only the version the caller read; with
 *    `If-None-Match: *`, only create (else 412 PRECONDITION_FAILED): a read-modify-write, such as
 *    the CLI's, cannot undo a change it never saw.
 * 4. Replace the profile, keeping its creation time and, unless told otherwise, its ExternalId
 *    (which callers never see, so cannot send back).
 * 5. Write the profile and its `profile.put` audit event in one transaction, only over the version
 *    read: of two concurrent changes one fails (409), so neither forgets a role the other left.
 */
export async function putProfile(
  deps: ProfileDeps,
  principal: Principal,
  name: string,
  input: ProfileInput,
  meta: RequestMeta,
  precondition: { readonly ifMatch?: string; readonly ifNoneMatch?: string } = {},
): Promise<PublicProfile> {
  if (input.stepUp !== undefined && input.sensitivity !== 'restricted') {
    throw new ValidationError('body.stepUp: only a restricted profile asks for a step-up (set sensitivity to "restricted")');
  }
  if (!patternCovers(deps.roleArnPattern, input.roleArn, false)) {
    throw new ValidationError(`body.roleArn: must match ${deps.roleArnPattern}, the roles tvm is allowed to assume`);
  }
  const account = input.roleArn.split(':')[4];
  if (account === undefined || !deps.accounts.includes(account)) {
    throw new ValidationError(
      `body.roleArn: the role is in account ${account ?? '?'}, but tvm can cut sessions off only in ${deps.accounts.join(', ')}: ` +
        'a profile there could never be locked down or revoked (deploy the revoker role there and add the account to targetAccounts)',
    );
  }
  const at = deps.clock.now();
  const [existing, lockdown] = await Promise.all([deps.store.getProfile(name), deps.lockdown.getLockdown()]);
  const change = { principal, meta, action: 'profile.put' } as const;
  // The lockdown first: a refused change is recorded whatever version the caller read.
  await refuseChangeIfLockedOut(deps, change, lockdown, ...(existing ? [existing] : []), { name, roleArn: input.roleArn });
  checkPrecondition(name, existing, precondition);
  const { externalId: requestedExternalId, ...fields } = input;
  const externalId = requestedExternalId === undefined ? existing?.externalId : (requestedExternalId ?? undefined);
  const formerRoles = formerRolesAfter(existing, input.roleArn, at);
  const profile: Profile = {
    name,
    ...fields,
    ...(externalId ? { externalId } : {}),
    ...(formerRoles.length > 0 ? { formerRoles } : {}),
    createdAt: existing?.createdAt ?? at.toISOString(),
    generation: existing?.generation ?? deps.ids.next(),
    updatedAt: laterThan(existing?.updatedAt, at),
    updatedBy: principal.id,
  };
  const written = await deps.store.putProfile(
    profile,
    adminEvent(at, deps.ids.next(), 'profile.put', principal, meta, { profile: name, detail: { ...toPublicProfile(profile) } }),
    existing,
  );
  if (!written) throw new ConflictError(`profile "${name}" was changed by someone else meanwhile; read it again and retry`);
  return toPublicProfile(profile);
}

/**
 * DELETE /profiles/{name}: removes the profile and records `profile.deleted` in one transaction.
 * Its grants stay in the table for the record but can no longer vend. A locked profile is not
 * for outsiders to remove (LOCKDOWN_ACTIVE, recorded).
 */
export async function deleteProfile(
  deps: ProfileDeps,
  principal: Principal,
  name: string,
  meta: RequestMeta,
): Promise<void> {
  const at = deps.clock.now();
  const [existing, lockdown] = await Promise.all([deps.store.getProfile(name), deps.lockdown.getLockdown()]);
  if (existing) await refuseChangeIfLockedOut(deps, { principal, meta, action: 'profile.deleted' }, lockdown, existing);
  const deleted = await deps.store.deleteProfile(
    name,
    adminEvent(at, deps.ids.next(), 'profile.deleted', principal, meta, { profile: name }),
  );
  if (!deleted) throw new NotFoundError(`profile "${name}" does not exist`);
}

/** The profile's ETag: its `updatedAt`, which every change moves forward. */
export const profileTag = (profile: Pick<Profile, 'updatedAt'>) => `"${profile.updatedAt}"`;

function checkPrecondition(name: string, existing: Profile | undefined, precondition: { ifMatch?: string; ifNoneMatch?: string }): void {
  if (precondition.ifNoneMatch !== undefined) {
    if (precondition.ifNoneMatch.trim() !== '*') throw new ValidationError('If-None-Match: only * (create, never replace) is supported here');
    if (existing) throw new PreconditionFailedError(`profile "${name}" exists already`);
  }
  if (precondition.ifMatch !== undefined) {
    const tags = precondition.ifMatch.split(',').map((tag) => tag.trim());
    const matches = existing !== undefined && (tags.includes('*') || tags.includes(profileTag(existing)));
    if (!matches) {
      throw new PreconditionFailedError(
        existing ? `profile "${name}" was changed at ${existing.updatedAt} by ${existing.updatedBy}, after you read it; read it again` : `profile "${name}" does not exist`,
      );
    }
  }
}

/** `now`, or just after `previous` when the clock has not passed it: each version is told apart. */
function laterThan(previous: string | undefined, now: Date): string {
  const floor = previous === undefined ? Number.NaN : Date.parse(previous) + 1;
  return new Date(floor > now.getTime() ? floor : now.getTime()).toISOString();
}

/**
 * The roles a profile pointed at that a session vended through it may still be live on: re-pointing
 * it adds the role it leaves, for the longest a session lasts. Revoking its grants cuts them too.
 */
function formerRolesAfter(existing: Profile | undefined, roleArn: string, now: Date): NonNullable<Profile['formerRoles']> {
  const stillLive = (existing?.formerRoles ?? []).filter((role) => Date.parse(role.until) > now.getTime() && !sameRole(role.roleArn, roleArn));
  if (!existing || sameRole(existing.roleArn, roleArn)) return stillLive;
  const until = new Date(now.getTime() + MAX_SESSION_SECONDS * 1000).toISOString();
  return [...stillLive.filter((role) => !sameRole(role.roleArn, existing.roleArn)), { roleArn: existing.roleArn, until }];
}
