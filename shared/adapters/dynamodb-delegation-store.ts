import { GetCommand, ScanCommand, type DynamoDBDocumentClient, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../domain/audit.js';
import { ConflictError } from '../domain/errors.js';
import { matchesFilter, type GrantFilter } from '../domain/grant-selection.js';
import type { CutOffOrder, Grant, Profile, Subject } from '../domain/model.js';
import {
  MAX_GRANTS_PER_REVOCATION,
  type DelegationStore,
  type DelegatorQuota,
  type QuotaEntry,
  type QuotaUpdate,
} from '../domain/ports.js';
import { quotaWrite, readActiveGrantIds, readDelegatorQuota } from './dynamodb-delegator-quota.js';
import { DynamoDbProfileReader } from './dynamodb-profile-reader.js';
import { writeWithAudit, type DelegationsTableOptions, type TransactItems } from './dynamodb-transactions.js';
import {
  BY_CREATOR_INDEX,
  BY_GRANT_ID_INDEX,
  creatorGsi3Pk,
  CHILD_GRANTS_INDEX,
  childGrantsPrefix,
  BY_SUBJECT_INDEX,
  grantIdGsi2Pk,
  grantItem,
  grantKey,
  grantSkPrefix,
  PROFILE_SK,
  profileItem,
  profilePk,
  PROFILES_GSI1PK,
  profileGenerationCheck,
  cutOffWrites,
  raiseCutOffEpoch,
  revokeGrantAction,
  subjectGsi1Pk,
  toGrant,
  toProfile,
} from './delegation-keys.js';

export type DynamoDbDelegationStoreOptions = DelegationsTableOptions;


/** Profiles and grants in one table; every change is written in one transaction with its audit event. */
export class DynamoDbDelegationStore extends DynamoDbProfileReader implements DelegationStore {
  constructor(
    client: DynamoDBDocumentClient,
    protected readonly options: DynamoDbDelegationStoreOptions,
  ) {
    super(client, options);
  }

  async getProfile(name: string): Promise<Profile | undefined> {
    const out = await this.read(() =>
      // Strongly consistent: a change is checked against, and conditioned on, the version read.
      this.client.send(new GetCommand({ TableName: this.options.tableName, Key: { PK: profilePk(name), SK: PROFILE_SK }, ConsistentRead: true })),
    );
    return out.Item ? toProfile(out.Item) : undefined;
  }

  async listProfiles(): Promise<Profile[]> {
    const items = await this.queryAll({
      IndexName: BY_SUBJECT_INDEX,
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': PROFILES_GSI1PK },
    });
    return items.map(toProfile);
  }

  async listGrantsForSubjects(subjects: readonly Subject[]): Promise<Grant[]> {
    const perSubject = await Promise.all(
      subjects.map((subject) =>
        this.queryAll({
          IndexName: BY_SUBJECT_INDEX,
          KeyConditionExpression: 'GSI1PK = :pk',
          ExpressionAttributeValues: { ':pk': subjectGsi1Pk(subject) },
        }),
      ),
    );
    return perSubject.flat().map(toGrant);
  }

  async listGrants(filter: GrantFilter): Promise<Grant[]> {
    let items: Record<string, unknown>[];
    // The narrowest read first: a creator's grants are the one listing non-admins may make.
    if (filter.createdBy) {
      items = await this.queryAll({
        IndexName: BY_CREATOR_INDEX,
        KeyConditionExpression: 'GSI3PK = :pk',
        ExpressionAttributeValues: { ':pk': creatorGsi3Pk(filter.createdBy) },
      });
    } else if (filter.profile) {
      items = await this.queryAll({
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :grant)',
        ExpressionAttributeValues: { ':pk': profilePk(filter.profile), ':grant': grantSkPrefix },
      });
    } else if (filter.subject) {
      items = await this.queryAll({
        IndexName: BY_SUBJECT_INDEX,
        KeyConditionExpression: 'GSI1PK = :pk',
        ExpressionAttributeValues: { ':pk': subjectGsi1Pk(filter.subject) },
      });
    } else {
      // The unfiltered admin listing is the one access pattern served by a scan.
      items = await this.scanAll({
        FilterExpression: 'entity = :grant',
        ExpressionAttributeValues: { ':grant': 'grant' },
      });
    }
    return items.map(toGrant).filter((grant) => matchesFilter(grant, filter));
  }

  async getGrant(id: string): Promise<Grant | undefined> {
    const items = await this.queryAll({
      IndexName: BY_GRANT_ID_INDEX,
      KeyConditionExpression: 'GSI2PK = :pk',
      ExpressionAttributeValues: { ':pk': grantIdGsi2Pk(id) },
    });
    return items[0] ? toGrant(items[0]) : undefined;
  }

  async putProfile(profile: Profile, audit: AuditEvent, replaces?: Pick<Profile, 'generation' | 'updatedAt'>): Promise<boolean> {
    // A replacement must find the version it read (a delete in between must not let it revive the
    // old grants, a concurrent change must not be undone); a creation must find nothing.
    const condition =
      replaces === undefined
        ? { ConditionExpression: 'attribute_not_exists(PK)' }
        : {
            ConditionExpression: 'generation = :generation AND updatedAt = :updatedAt',
            ExpressionAttributeValues: { ':generation': replaces.generation, ':updatedAt': replaces.updatedAt },
          };
    return this.transact([{ Put: { TableName: this.options.tableName, Item: profileItem(profile), ...condition } }], audit);
  }

  async deleteProfile(name: string, audit: AuditEvent): Promise<boolean> {
    return this.transact(
      [
        {
          Delete: {
            TableName: this.options.tableName,
            Key: { PK: profilePk(name), SK: PROFILE_SK },
            ConditionExpression: 'attribute_exists(PK)',
          },
        },
      ],
      audit,
    );
  }

  getDelegatorQuota(delegator: string): Promise<DelegatorQuota> {
    return readDelegatorQuota(this.client, this.options.tableName, delegator);
  }

  activeGrantIds(entries: readonly QuotaEntry[]): Promise<Set<string>> {
    return readActiveGrantIds(this.client, this.options.tableName, entries);
  }

  async createGrant(grant: Grant, audit: AuditEvent, parent?: Grant, quota?: QuotaUpdate): Promise<void> {
    const parentStillActive = parent
      ? [
          {
            ConditionCheck: {
              TableName: this.options.tableName,
              Key: grantKey(parent),
              ConditionExpression: '#status = :active',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':active': 'active' },
            },
          },
        ]
      : [];
    const written = await this.transact(
      [
        // The profile must still be the one the grant was made for (it may be deleted or
        // re-created concurrently).
        profileGenerationCheck(this.options.tableName, grant.profile, grant.profileGeneration),
        ...parentStillActive,
        {
          Put: { TableName: this.options.tableName, Item: grantItem(grant), ConditionExpression: 'attribute_not_exists(PK)' },
        },
        ...(quota ? [quotaWrite(this.options.tableName, quota)] : []),
      ],
      audit,
    );
    if (!written) {
      throw new ConflictError(
        `profile "${grant.profile}", the grant delegated from or your delegation quota changed while the grant was being created; retry`,
      );
    }
  }

  async listChildGrants(parent: Pick<Grant, 'id' | 'profile'>): Promise<Grant[]> {
    // Strongly consistent (an LSI can be; a GSI cannot): a revocation sees every child committed.
    const items = await this.queryAll({
      IndexName: CHILD_GRANTS_INDEX,
      KeyConditionExpression: 'PK = :pk AND begins_with(LSI2SK, :prefix)',
      ExpressionAttributeValues: { ':pk': profilePk(parent.profile), ':prefix': childGrantsPrefix(parent.id) },
      ConsistentRead: true,
    });
    return items.map(toGrant);
  }

  async revokeGrants(grants: readonly Grant[], by: string, at: string, audit: AuditEvent, order?: CutOffOrder): Promise<boolean> {
    if (grants.length === 0 || grants.length > MAX_GRANTS_PER_REVOCATION) {
      throw new RangeError(`revokeGrants takes 1 to ${MAX_GRANTS_PER_REVOCATION} grants`);
    }
    return this.transact(
      [
        ...grants.map((grant) => revokeGrantAction(this.options.tableName, grant, by, at)),
        ...(order ? cutOffWrites(this.options.tableName, order) : [raiseCutOffEpoch(this.options.tableName)]),
      ],
      audit,
    );
  }

  protected transact(items: TransactItems, audit: AuditEvent): Promise<boolean> {
    return writeWithAudit(this.client, { tableName: this.options.auditTableName, shards: this.options.auditShards, layout: this.options.auditLayout }, items, audit);
  }

  private scanAll(input: Omit<ScanCommandInput, 'TableName'>): Promise<Record<string, unknown>[]> {
    return this.readAllPages((startKey) =>
      this.client.send(new ScanCommand({ ...input, TableName: this.options.tableName, ExclusiveStartKey: startKey })),
    );
  }

}
