import { NotFoundError, ValidationError } from './errors.js';
import { adminEvent } from './audit.js';
import type { Grant, Principal, RequestMeta, Subject } from './model.js';
import type { Clock, DelegationStore, IdGenerator } from './ports.js';
import type { GrantInput } from './schemas.js';
import { scopeContains } from './scope.js';

export interface GrantDeps {
  readonly store: DelegationStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

/**
 * POST /grants:
 * 1. The profile must exist; the grant must fit inside it (duration, scope).
 * 2. The validity window must be well formed and not already over.
 * 3. Write the grant and its `grant.created` audit event in one transaction.
 */
export async function createGrant(
  deps: GrantDeps,
  principal: Principal,
  input: GrantInput,
  meta: RequestMeta,
): Promise<Grant> {
  const now = deps.clock.now();
  const profile = await deps.store.getProfile(input.profile);
  if (!profile) throw new NotFoundError(`profile "${input.profile}" does not exist`);

  const validFrom = input.validFrom ? new Date(input.validFrom) : now;
  const validUntil = new Date(input.validUntil);
  if (validUntil.getTime() <= now.getTime()) throw new ValidationError('body.validUntil: must be in the future');
  if (validUntil.getTime() <= validFrom.getTime()) throw new ValidationError('body.validUntil: must be after validFrom');
  if (input.maxSessionSeconds !== undefined && input.maxSessionSeconds > profile.maxSessionSeconds) {
    throw new ValidationError(
      `body.maxSessionSeconds: must not exceed the profile's maximum of ${profile.maxSessionSeconds}`,
    );
  }
  if (input.scope) {
    // A field the grant leaves out falls back to the profile's at vend time, so check it that way.
    const contained = scopeContains(profile.scope, {
      actions: input.scope.actions ?? profile.scope?.actions,
      resources: input.scope.resources ?? profile.scope?.resources,
    });
    if (!contained.ok) {
      throw new ValidationError(`body.scope.${contained.field}: "${contained.item}" is not within the profile's scope`);
    }
  }

  const grant: Grant = {
    id: deps.ids.next(),
    profile: profile.name,
    profileGeneration: profile.generation,
    subject: input.subject,
    validFrom: validFrom.toISOString(),
    validUntil: validUntil.toISOString(),
    ...(input.maxSessionSeconds !== undefined ? { maxSessionSeconds: input.maxSessionSeconds } : {}),
    ...(input.scope ? { scope: input.scope } : {}),
    canDelegate: input.canDelegate,
    status: 'active',
    createdBy: principal.id,
    createdAt: now.toISOString(),
    ...(input.reason ? { reason: input.reason } : {}),
  };
  await deps.store.createGrant(
    grant,
    adminEvent(now, deps.ids.next(), 'grant.created', principal, meta, {
      profile: grant.profile,
      grantId: grant.id,
      detail: { ...grant },
    }),
  );
  return grant;
}

export async function listGrants(
  deps: Pick<GrantDeps, 'store'>,
  filter: { profile?: string; subject?: Subject },
): Promise<Grant[]> {
  const grants = await deps.store.listGrants(filter);
  return grants.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

/**
 * DELETE /grants/{id}:
 * 1. Find the grant (404 if unknown).
 * 2. If active, mark it revoked and record `grant.revoked` in one transaction; the next vend sees it.
 * 3. Revoking a revoked grant changes nothing and returns it as it is (idempotent).
 */
export async function revokeGrant(deps: GrantDeps, principal: Principal, id: string, meta: RequestMeta): Promise<Grant> {
  const grant = await deps.store.getGrant(id);
  if (!grant) throw new NotFoundError(`grant "${id}" does not exist`);
  if (grant.status === 'revoked') return grant;
  const at = deps.clock.now();
  const revokedAt = at.toISOString();
  const revoked = await deps.store.revokeGrant(
    grant,
    principal.id,
    revokedAt,
    adminEvent(at, deps.ids.next(), 'grant.revoked', principal, meta, { profile: grant.profile, grantId: grant.id }),
  );
  if (!revoked) return (await deps.store.getGrant(id)) ?? grant;
  return { ...grant, status: 'revoked', revokedAt, revokedBy: principal.id };
}
