// Profiles, grants and engagements as read back from the delegations table: each item passes its
// schema before the domain sees it. An item that does not (written around tvm, or by a version that
// stored something else) is refused as STORE_UNAVAILABLE, with what was wrong as its cause, which the
// route logs: never half-read into a vend or a revocation.
import { z } from 'zod';
import { StoreUnavailableError } from '../domain/errors.js';
import type { Engagement, Grant, Profile } from '../domain/model.js';
import { MAX_AUTH_AGE_SECONDS } from '../domain/step-up-rules.js';

const strings = /* @__PURE__ */ (() => z.array(z.string()))();
const scope = /* @__PURE__ */ (() => z.object({ actions: strings.optional(), resources: strings.optional() }).passthrough())();
const count = /* @__PURE__ */ (() => z.number().int().nonnegative())();

const storedProfile: z.ZodType<Profile, z.ZodTypeDef, unknown> = /* @__PURE__ */ (() =>
  z
    .object({
      name: z.string(),
      roleArn: z.string(),
      description: z.string().optional(),
      maxSessionSeconds: count,
      scope: scope.optional(),
      sensitivity: z.enum(['standard', 'restricted']),
      externalId: z.string().optional(),
      createdAt: z.string(),
      generation: z.string(),
      updatedAt: z.string(),
      updatedBy: z.string(),
      formerRoles: z.array(z.object({ roleArn: z.string(), until: z.string() }).passthrough()).optional(),
      requestable: z
        .object({
          approverGroups: strings,
          approvals: z.union([z.literal(1), z.literal(2)]),
          maxDurationSeconds: count,
          requireReason: z.boolean(),
          pendingSeconds: count,
        })
        .passthrough()
        .optional(),
      stepUp: z.object({ maxAuthAgeSeconds: count.max(MAX_AUTH_AGE_SECONDS) }).passthrough().optional(),
    })
    .passthrough())();

const storedGrant: z.ZodType<Grant, z.ZodTypeDef, unknown> = /* @__PURE__ */ (() =>
  z
    .object({
      id: z.string(),
      profile: z.string(),
      profileGeneration: z.string(),
      subject: z.object({ type: z.enum(['user', 'group']), id: z.string() }).passthrough(),
      validFrom: z.string(),
      validUntil: z.string(),
      maxSessionSeconds: count.optional(),
      scope: scope.optional(),
      canDelegate: z.boolean(),
      parentGrantId: z.string().optional(),
      depth: count.optional(),
      engagementId: z.string().optional(),
      requestId: z.string().optional(),
      revokedReason: z.string().optional(),
      version: count.optional(),
      status: z.enum(['active', 'revoked']),
      createdBy: z.string(),
      createdAt: z.string(),
      reason: z.string().optional(),
      revokedAt: z.string().optional(),
      revokedBy: z.string().optional(),
    })
    .passthrough())();

const handover = /* @__PURE__ */ (() =>
  z
    .object({ at: z.string(), by: z.string(), to: strings, note: z.string().optional(), revokedGrants: strings, newGrants: strings, cutOffOrder: z.string().optional() })
    .passthrough())();

const storedEngagement: z.ZodType<Engagement, z.ZodTypeDef, unknown> = /* @__PURE__ */ (() =>
  z
    .object({
      id: z.string(),
      name: z.string(),
      owner: z.string(),
      contractors: strings,
      profiles: z.array(z.object({ profile: z.string(), scope: scope.optional(), maxSessionSeconds: count.optional() }).passthrough()),
      validUntil: z.string(),
      status: z.enum(['active', 'handed-over']),
      createdBy: z.string(),
      createdAt: z.string(),
      version: count,
      handover: handover.optional(),
    })
    .passthrough())();

function parsed<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, item: Record<string, unknown>, what: string): T {
  const result = schema.safeParse(item);
  if (!result.success) throw new StoreUnavailableError(`a stored ${what} could not be read`, { cause: result.error });
  return result.data;
}

export const parseProfile = (item: Record<string, unknown>): Profile => parsed(storedProfile, item, 'profile');
export const parseGrant = (item: Record<string, unknown>): Grant => parsed(storedGrant, item, 'grant');
export const parseEngagement = (item: Record<string, unknown>): Engagement => parsed(storedEngagement, item, 'engagement');
