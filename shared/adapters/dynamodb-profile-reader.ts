// The one read a vend makes of the delegations table, in a class of its own so the vend bundle
// carries none of the store's listing and writing code (DynamoDbDelegationStore extends it).
import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { StoreUnavailableError } from '../domain/errors.js';
import type { Grant, Profile, Subject } from '../domain/model.js';
import type { ProfileGrantsReader } from '../domain/ports.js';
import { PROFILE_SK, profilePk, subjectKey, toGrant, toProfile } from './delegation-keys.js';

// DynamoDB's IN operator takes at most 100 operands; one is used for the profile item.
const MAX_FILTERED_SUBJECTS = 99;
const MAX_PAGES = 50;

export class DynamoDbProfileReader implements ProfileGrantsReader {
  constructor(
    protected readonly client: DynamoDBDocumentClient,
    private readonly table: { readonly tableName: string },
  ) {}

  async getProfileWithGrants(name: string, subjects: readonly Subject[]): Promise<{ profile?: Profile; grants: Grant[] }> {
    const wanted = new Set(subjects.map(subjectKey));
    const values: Record<string, unknown> = { ':pk': profilePk(name) };
    let filterExpression: string | undefined;
    if (wanted.size > 0 && wanted.size <= MAX_FILTERED_SUBJECTS) {
      const placeholders = [...wanted].map((key, i) => {
        values[`:s${i}`] = key;
        return `:s${i}`;
      });
      values[':profile'] = 'profile';
      // Key attributes can't appear in a filter, hence the entity attribute.
      filterExpression = `entity = :profile OR subjectKey IN (${placeholders.join(', ')})`;
    }
    // Strongly consistent: a grant revoked a moment ago must not vend.
    const items = await this.queryAll({
      KeyConditionExpression: 'PK = :pk',
      ...(filterExpression ? { FilterExpression: filterExpression } : {}),
      ExpressionAttributeValues: values,
      ConsistentRead: true,
    });
    const profileItemFound = items.find((item) => item.SK === PROFILE_SK);
    const grants = items
      .filter((item) => item.entity === 'grant' && wanted.has(String(item.subjectKey)))
      .map(toGrant);
    return { ...(profileItemFound ? { profile: toProfile(profileItemFound) } : {}), grants };
  }

  protected queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Record<string, unknown>[]> {
    return this.readAllPages((startKey) =>
      this.client.send(new QueryCommand({ ...input, TableName: this.table.tableName, ExclusiveStartKey: startKey })),
    );
  }

  protected async readAllPages(
    send: (startKey: Record<string, unknown> | undefined) => Promise<{
      Items?: Record<string, unknown>[];
      LastEvaluatedKey?: Record<string, unknown>;
    }>,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await this.read(() => send(startKey));
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
      if (!startKey) return items;
    }
    throw new StoreUnavailableError('too many items to read in one request');
  }

  protected async read<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new StoreUnavailableError('the delegations table could not be read', { cause: error });
    }
  }
}
