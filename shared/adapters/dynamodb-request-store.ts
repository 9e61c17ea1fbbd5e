import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { AuditEvent } from '../domain/audit.js';
import type { AccessRequest, Grant, Profile } from '../domain/model.js';
import type { RequestChangeEffects, RequestListing, RequestStore } from '../domain/ports.js';
import {
  BY_GRANT_ID_INDEX,
  BY_SUBJECT_INDEX,
  grantItem,
  grantKey,
  PENDING_REQUESTS_GSI2PK,
  pendingCountKey,
  PROFILE_SK,
  profileGenerationCheck,
  profilePk,
  LOCKDOWN_KEY,
  cutOffWrites,
  raiseCutOffEpoch,
  requesterGsi1Pk,
  requestItem,
  requestKey,
  revokeGrantAction,
  toGrant,
  toProfile,
} from './delegation-keys.js';
import { DynamoDbDelegationStore } from './dynamodb-delegation-store.js';
import type { TransactItems } from './dynamodb-transactions.js';

// What a stored request must look like to be used: an item written around tvm is refused, not
// trusted. Built lazily and marked pure, so bundles that never read a request carry none of it.
const storedRequest = /* @__PURE__ */ (() => {
  const isoTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be a date-time');
  const scope = z.object({ actions: z.array(z.string()).optional(), resources: z.array(z.string()).optional() }).strict();
  const step = z.object({ by: z.string(), at: isoTime, comment: z.string().optional() }).strict();
  return z
    .object({
      id: z.string(),
      profile: z.string(),
      profileGeneration: z.string(),
      roleArn: z.string(),
      requester: z.string(),
      requesterGroups: z.array(z.string()),
      durationSeconds: z.number().int().positive(),
      reason: z.string().optional(),
      scope: scope.optional(),
      startAt: isoTime.optional(),
      status: z.enum(['pending', 'approved', 'denied', 'cancelled', 'expired', 'revoked']),
      approvals: z.array(step),
      approvalsRequired: z.number().int().min(1),
      approverGroups: z.array(z.string()),
      createdAt: isoTime,
      pendingUntil: isoTime,
      grantId: z.string().optional(),
      grantValidFrom: isoTime.optional(),
      grantValidUntil: isoTime.optional(),
      history: z.array(step.extend({ action: z.enum(['created', 'approved', 'denied', 'cancelled', 'expired', 'revoked']) })),
      version: z.number().int().min(1),
    })
    .strict();
})();

const KEY_ATTRIBUTES = ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'entity'];

/** Access requests, beside the profiles and grants they create (every change with its audit event). */
export class DynamoDbRequestStore extends DynamoDbDelegationStore implements RequestStore {
  /** Where a stored item that is not a request is reported. */
  warn: (message: string, data: Record<string, unknown>) => void = () => undefined;

  override async getProfile(name: string): Promise<Profile | undefined> {
    const out = await this.read(() =>
      this.client.send(new GetCommand({ TableName: this.options.tableName, Key: { PK: profilePk(name), SK: PROFILE_SK }, ConsistentRead: true })),
    );
    return out.Item ? toProfile(out.Item) : undefined;
  }

  async getRequest(id: string): Promise<AccessRequest | undefined> {
    const out = await this.read(() => this.client.send(new GetCommand({ TableName: this.options.tableName, Key: requestKey(id), ConsistentRead: true })));
    return out.Item ? this.toRequest(out.Item) : undefined;
  }

  async getGrantOf(request: AccessRequest): Promise<Grant | undefined> {
    if (request.grantId === undefined) return undefined;
    const key = grantKey({ profile: request.profile, subject: { type: 'user', id: request.requester }, id: request.grantId });
    const out = await this.read(() => this.client.send(new GetCommand({ TableName: this.options.tableName, Key: key, ConsistentRead: true })));
    return out.Item?.entity === 'grant' ? toGrant(out.Item) : undefined;
  }

  async pendingCount(requester: string): Promise<number> {
    const out = await this.read(() =>
      this.client.send(new GetCommand({ TableName: this.options.tableName, Key: pendingCountKey(requester), ConsistentRead: true })),
    );
    return Number(out.Item?.pending ?? 0);
  }

  async createRequest(request: AccessRequest, audit: AuditEvent, maxPending: number): Promise<boolean> {
    const table = this.options.tableName;
    return this.transact(
      [
        profileGenerationCheck(table, request.profile, request.profileGeneration),
        { Put: { TableName: table, Item: requestItem(request), ConditionExpression: 'attribute_not_exists(PK)' } },
        {
          Update: {
            TableName: table,
            Key: pendingCountKey(request.requester),
            UpdateExpression: 'SET pending = if_not_exists(pending, :zero) + :one',
            ConditionExpression: 'attribute_not_exists(pending) OR pending < :max',
            ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':max': maxPending },
          },
        },
      ],
      audit,
    );
  }

  async updateRequest(next: AccessRequest, expectedVersion: number, audit: AuditEvent, effects: RequestChangeEffects = {}): Promise<boolean> {
    const table = this.options.tableName;
    const items: TransactItems = [
      {
        Put: {
          TableName: table,
          Item: requestItem(next),
          ConditionExpression: 'version = :expected',
          ExpressionAttributeValues: { ':expected': expectedVersion },
        },
      },
    ];
    const { createGrant, revokeGrant, order, leavesPending } = effects;
    if (createGrant) {
      const { grant, profileUpdatedAt, lockdownVersion } = createGrant;
      items.push(
        {
          ConditionCheck: {
            TableName: table,
            Key: { PK: profilePk(grant.profile), SK: PROFILE_SK },
            ConditionExpression: 'generation = :generation AND updatedAt = :updatedAt',
            ExpressionAttributeValues: { ':generation': grant.profileGeneration, ':updatedAt': profileUpdatedAt },
          },
        },
        {
          ConditionCheck: {
            TableName: table,
            Key: LOCKDOWN_KEY,
            ...(lockdownVersion === 0
              ? { ConditionExpression: 'attribute_not_exists(PK)' }
              : { ConditionExpression: 'version = :version', ExpressionAttributeValues: { ':version': lockdownVersion } }),
          },
        },
        { Put: { TableName: table, Item: grantItem(grant), ConditionExpression: 'attribute_not_exists(PK)' } },
      );
    }
    if (revokeGrant) items.push(revokeGrantAction(table, revokeGrant, audit.principal, audit.at));
    if (order) items.push(...cutOffWrites(table, order));
    else if (revokeGrant) items.push(raiseCutOffEpoch(table));
    if (leavesPending) {
      items.push({
        Update: {
          TableName: table,
          Key: pendingCountKey(next.requester),
          // Unconditional: a count that drifted (it never should) must not block a decision; a
          // low count only lets its requester ask once more.
          UpdateExpression: 'SET pending = if_not_exists(pending, :one) - :one',
          ExpressionAttributeValues: { ':one': 1 },
        },
      });
    }
    return this.transact(items, audit);
  }

  async listRequests(listing: RequestListing, limit: number): Promise<AccessRequest[]> {
    let items: Record<string, unknown>[];
    if ('requester' in listing) {
      items = await this.queryAll({
        IndexName: BY_SUBJECT_INDEX,
        KeyConditionExpression: 'GSI1PK = :pk',
        ExpressionAttributeValues: { ':pk': requesterGsi1Pk(listing.requester) },
        ScanIndexForward: false,
        ...(Number.isSafeInteger(limit) ? { Limit: limit } : {}),
      });
    } else if ('pending' in listing) {
      items = await this.queryAll({
        IndexName: BY_GRANT_ID_INDEX,
        KeyConditionExpression: 'GSI2PK = :pk',
        ExpressionAttributeValues: { ':pk': PENDING_REQUESTS_GSI2PK },
      });
    } else {
      // The security team's "every request": rare, like the unfiltered grant listing.
      items = await this.readAllPages((startKey) =>
        this.client.send(
          new ScanCommand({
            TableName: this.options.tableName,
            FilterExpression: 'entity = :request',
            ExpressionAttributeValues: { ':request': 'request' },
            ExclusiveStartKey: startKey,
          }),
        ),
      );
    }
    const requests = items.flatMap((item) => {
      const request = this.toRequest(item);
      return request ? [request] : [];
    });
    return requests.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id)).slice(0, limit);
  }

  private toRequest(item: Record<string, unknown>): AccessRequest | undefined {
    const fields = { ...item };
    for (const key of KEY_ATTRIBUTES) delete fields[key];
    const parsed = storedRequest.safeParse(fields);
    if (parsed.success && item.entity === 'request') {
      const { pendingUntil, ...request } = parsed.data;
      return { ...request, expiresAt: pendingUntil };
    }
    this.warn('skipped a stored access request that is not one tvm wrote', { PK: String(item.PK), issue: parsed.success ? 'entity' : parsed.error.issues[0]?.message });
    return undefined;
  }
}
