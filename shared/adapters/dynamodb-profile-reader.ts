// The reads a vend makes of the delegations table, in a class of its own so the vend bundle
// carries none of the store's listing and writing code (DynamoDbDelegationStore extends it).
import { GetCommand, QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { StoreUnavailableError } from '../domain/errors.js';
import type { Grant, Profile, Subject } from '../domain/model.js';
import type { ProfileGrantsReader } from '../domain/ports.js';
import {
  ACTIVE_GRANTS_INDEX,
  activeGrantsPrefix,
  handedOverGrantsPrefix,
  indexTime,
  KEY_RANGE_END,
  PROFILE_SK,
  profilePk,
  subjectKey,
  toGrant,
  toProfile,
} from './delegation-keys.js';

const MAX_PAGES = 50;

export class DynamoDbProfileReader implements ProfileGrantsReader {
  constructor(
    protected readonly client: DynamoDBDocumentClient,
    private readonly table: { readonly tableName: string },
  ) {}

  async getProfileWithGrants(
    name: string,
    subjects: readonly Subject[],
    now: Date,
  ): Promise<{ profile?: Profile; grants: Grant[] }> {
    // All strongly consistent (a grant revoked a moment ago must not vend), all at once: the
    // profile by key, and per subject only its active grants that end at or after now.
    const [profileOut, ...perSubject] = await Promise.all([
      this.read(() =>
        this.client.send(
          new GetCommand({ TableName: this.table.tableName, Key: { PK: profilePk(name), SK: PROFILE_SK }, ConsistentRead: true }),
        ),
      ),
      ...uniqueSubjects(subjects).map(async (subject) => {
        const prefix = activeGrantsPrefix(subject);
        return ownGrants(subject, await this.queryKeyRange(name, prefix + indexTime(now), prefix + KEY_RANGE_END));
      }),
    ]);
    return { ...(profileOut.Item ? { profile: toProfile(profileOut.Item) } : {}), grants: perSubject.flat() };
  }

  async getEndedGrants(name: string, subjects: readonly Subject[], now: Date): Promise<Grant[]> {
    const at = indexTime(now);
    // At most one item per subject and kind, however long the caller's history: the grant that
    // expired last, and a handed-over grant not yet past its end.
    const reads = uniqueSubjects(subjects).flatMap((subject) => [
      this.queryFirstInKeyRange(name, activeGrantsPrefix(subject), activeGrantsPrefix(subject) + at, { newestFirst: true }),
      this.queryFirstInKeyRange(name, handedOverGrantsPrefix(subject) + at, handedOverGrantsPrefix(subject) + KEY_RANGE_END),
    ].map(async (items) => ownGrants(subject, await items)));
    return (await Promise.all(reads)).flat();
  }

  /** The profile's activeGrants entries with keys in [from, to], strongly consistent. */
  private queryKeyRange(profile: string, from: string, to: string): Promise<Record<string, unknown>[]> {
    return this.queryAll(keyRangeQuery(profile, from, to));
  }

  private async queryFirstInKeyRange(
    profile: string,
    from: string,
    to: string,
    options: { readonly newestFirst?: boolean } = {},
  ): Promise<Record<string, unknown>[]> {
    const out = await this.read(() =>
      this.client.send(
        new QueryCommand({
          ...keyRangeQuery(profile, from, to),
          TableName: this.table.tableName,
          Limit: 1,
          ScanIndexForward: !options.newestFirst,
        }),
      ),
    );
    return out.Items ?? [];
  }

  protected queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Record<string, unknown>[]> {
    return this.readAllPages((startKey) =>
      this.client.send(new QueryCommand({ ...input, TableName: this.table.tableName, ExclusiveStartKey: startKey })),
    );
  }

  protected readAllPages(send: (startKey: Record<string, unknown> | undefined) => Promise<QueryPage>): Promise<Record<string, unknown>[]> {
    return readAllPages(send, (next) => this.read(next));
  }

  protected async read<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new StoreUnavailableError('the delegations table could not be read', { cause: error });
    }
  }
}

interface QueryPage {
  readonly Items?: Record<string, unknown>[];
  readonly LastEvaluatedKey?: Record<string, unknown>;
}

/** Every page of a Query or Scan, up to MAX_PAGES (then StoreUnavailableError: too much for one request). */
export async function readAllPages(
  send: (startKey: Record<string, unknown> | undefined) => Promise<QueryPage>,
  read: (send: () => Promise<QueryPage>) => Promise<QueryPage>,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const out = await read(() => send(startKey));
    items.push(...(out.Items ?? []));
    startKey = out.LastEvaluatedKey;
    if (!startKey) return items;
  }
  throw new StoreUnavailableError('too many items to read in one request');
}

function keyRangeQuery(profile: string, from: string, to: string): Omit<QueryCommandInput, 'TableName'> {
  return {
    IndexName: ACTIVE_GRANTS_INDEX,
    KeyConditionExpression: 'PK = :pk AND LSI1SK BETWEEN :from AND :to',
    ExpressionAttributeValues: { ':pk': profilePk(profile), ':from': from, ':to': to },
    ConsistentRead: true,
  };
}

function uniqueSubjects(subjects: readonly Subject[]): Subject[] {
  const byKey = new Map(subjects.map((subject) => [subjectKey(subject), subject]));
  return [...byKey.values()];
}

/** The grant items of `subject` among `items` (the key range is the subject's digest: check it is theirs). */
function ownGrants(subject: Subject, items: readonly Record<string, unknown>[]): Grant[] {
  const key = subjectKey(subject);
  return items.filter((item) => item.entity === 'grant' && item.subjectKey === key).map(toGrant);
}
