// The plain SDK scripts `npm run bench` measures the vend against (bench/measure.ts runs them): no
// tvm code but the delegations table's key strings, SDK clients with their defaults, against the
// same local DynamoDB and STS as the vend.
//   (a) the floor: AssumeRole and one PutItem.
//   (d) the vend's calls, in its order.
//   (e) the irreducible floor: the reads any correct vend must make, AssumeRole, one PutItem.
import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { marshall } from '@aws-sdk/util-dynamodb';
import {
  ACTIVE_GRANTS_INDEX,
  activeGrantsPrefix,
  indexTime,
  KEY_RANGE_END,
  LOCKDOWN_KEY,
  LOCKDOWN_PK,
  PROFILE_SK,
  profilePk,
  RECENT_CUT_OFF_PREFIX,
} from '../shared/adapters/delegation-keys.js';
import type { Subject } from '../shared/domain/model.js';
import { RECENT_MARGIN_MS } from '../shared/domain/recent-cut-offs.js';
import { LOCAL_TVM_CALLER } from '../local/sts/local-sts.js';
import type { StackInfo } from '../local/stack.js';
import { itemSize } from './write-units.js';

/** What the scripts need of the bench's run: the stack, the bench profile, its role and group. */
export interface ScriptInput {
  readonly stack: StackInfo;
  readonly profile: string;
  readonly roleArn: string;
  readonly group: string;
  readonly runId: string;
}

export const DURATION_SECONDS = 900;
/** (d)'s and (e)'s record by DynamoDB's size rules: about an audit record's, within one write unit. */
const IRREDUCIBLE_RECORD_BYTES = 1000;

/**
 * (a): what any vend must do at least, with the SDK and nothing else: the same AssumeRole (role,
 * session name, SourceIdentity, tags, duration) and one PutItem of an item the size of an audit
 * record. The item is overwritten each time and deleted at the end.
 */
export function floorOperation(input: ScriptInput): { run: () => Promise<void>; cleanUp: () => Promise<void> } {
  const { stack } = input;
  const { sts, dynamodb } = plainClients(input);
  const key = { PK: `BENCH#${input.runId}`, SK: 'floor' };
  const principal = `bench-${input.runId}-floor@example.com`;
  return {
    run: async () => {
      const requestId = randomUUID();
      const accessKeyId = await assumeRoleLikeAVend(sts, input, principal, requestId);
      await dynamodb.send(
        new PutItemCommand({ TableName: stack.tables.delegations, Item: marshall({ ...key, ...auditSizedItem(input, principal, requestId, accessKeyId) }) }),
      );
    },
    cleanUp: async () => {
      await dynamodb.send(new DeleteItemCommand({ TableName: stack.tables.delegations, Key: marshall(key) }));
      sts.destroy();
      dynamodb.destroy();
    },
  };
}

/**
 * (d): the AWS calls a vend makes (bench/aws-call-counter.ts counts them), as a plain SDK script
 * makes them, in its order: the quota counter's UpdateItem, the consistent GetItem of the profile,
 * a consistent Query of the activeGrants index per subject of the caller (the principal and its
 * group) and the consistent Query of the lockdown partition, all in parallel; AssumeRole; and the
 * audit record in one conditional PutItem of the vend's record size. Against it, the vend's time is
 * tvm's own work: the JWT, input checks, decisions, hashing and logging. Its items are deleted at
 * the end. (Only the key strings come from tvm's code, so the reads find what a vend's find.)
 */
export function sameCallsOperation(input: ScriptInput): { run: () => Promise<void>; cleanUp: () => Promise<void> } {
  const { stack } = input;
  const { sts, dynamodb } = plainClients(input);
  const table = stack.tables.delegations;
  const principal = `bench-${input.runId}-same-calls@example.com`;
  const counter = { PK: `BENCH#${input.runId}`, SK: 'counter' };
  const recordKey = (seq: number) => ({ PK: `BENCH#${input.runId}#same-calls`, SK: String(seq).padStart(12, '0') });
  let seq = 0;
  return {
    run: async () => {
      const requestId = randomUUID();
      const now = new Date();
      await Promise.all([
        dynamodb.send(
          new UpdateItemCommand({
            TableName: table,
            Key: marshall(counter),
            UpdateExpression: 'ADD #count :one SET expiresAt = :expiresAt',
            ExpressionAttributeNames: { '#count': 'count' },
            ExpressionAttributeValues: marshall({ ':one': 1, ':expiresAt': Math.floor(Date.now() / 1000) + 3600 }),
            ReturnValues: 'UPDATED_NEW',
          }),
        ),
        readProfile(dynamodb, input),
        readGrants(dynamodb, input, { type: 'user', id: principal }, now),
        readGrants(dynamodb, input, { type: 'group', id: input.group }, now),
        dynamodb.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'PK = :pk AND SK > :from',
            ExpressionAttributeValues: marshall({ ':pk': LOCKDOWN_PK, ':from': `${RECENT_CUT_OFF_PREFIX}${new Date(now.getTime() - RECENT_MARGIN_MS).toISOString()}~` }),
            ScanIndexForward: false,
            ConsistentRead: true,
          }),
        ),
      ]);
      const accessKeyId = await assumeRoleLikeAVend(sts, input, principal, requestId);
      seq++;
      await putRecord(dynamodb, table, { ...recordKey(seq), ...auditSizedItem(input, principal, requestId, accessKeyId) });
    },
    cleanUp: async () => {
      const keys = [counter, ...Array.from({ length: seq }, (_, i) => recordKey(i + 1))];
      for (const key of keys) await dynamodb.send(new DeleteItemCommand({ TableName: table, Key: marshall(key) }));
      sts.destroy();
      dynamodb.destroy();
    },
  };
}

/**
 * (e): what any correct vend must do, with the SDK and nothing else: one round trip of consistent
 * reads of the rules, in parallel (the profile, the caller's grants, the lockdown); the AssumeRole
 * of (a); the audit record in one PutItem (1,000 bytes) that never overwrites one. Deleted at the end.
 */
export function irreducibleOperation(input: ScriptInput): { run: () => Promise<void>; cleanUp: () => Promise<void> } {
  const { stack } = input;
  const { sts, dynamodb } = plainClients(input);
  const table = stack.tables.delegations;
  const principal = `bench-${input.runId}-irreducible@example.com`;
  const recordKey = (seq: number) => ({ PK: `BENCH#${input.runId}#irreducible`, SK: String(seq).padStart(12, '0') });
  let seq = 0;
  return {
    run: async () => {
      const requestId = randomUUID();
      await Promise.all(readRules(dynamodb, input));
      const accessKeyId = await assumeRoleLikeAVend(sts, input, principal, requestId);
      seq++;
      await putRecord(dynamodb, table, { ...recordKey(seq), ...auditSizedItem(input, principal, requestId, accessKeyId) });
    },
    cleanUp: async () => {
      for (let i = 1; i <= seq; i++) await dynamodb.send(new DeleteItemCommand({ TableName: table, Key: marshall(recordKey(i)) }));
      sts.destroy();
      dynamodb.destroy();
    },
  };
}

/**
 * The rules a vend must read before it mints, strongly consistent and at once, one request each:
 * the profile, the caller's grants (one key range of the profile's grants index: here the bench
 * group's, where its grant is) and the lockdown.
 */
function readRules(dynamodb: DynamoDBClient, input: ScriptInput): Promise<unknown>[] {
  return [
    readProfile(dynamodb, input),
    readGrants(dynamodb, input, { type: 'group', id: input.group }, new Date()),
    dynamodb.send(new GetItemCommand({ TableName: input.stack.tables.delegations, Key: marshall(LOCKDOWN_KEY), ConsistentRead: true })),
  ];
}

function readProfile(dynamodb: DynamoDBClient, input: ScriptInput): Promise<unknown> {
  return dynamodb.send(
    new GetItemCommand({ TableName: input.stack.tables.delegations, Key: marshall({ PK: profilePk(input.profile), SK: PROFILE_SK }), ConsistentRead: true }),
  );
}

/** One subject's active grants on the bench profile: a consistent Query of one key range of its activeGrants index. */
function readGrants(dynamodb: DynamoDBClient, input: ScriptInput, subject: Subject, now: Date): Promise<unknown> {
  return dynamodb.send(
    new QueryCommand({
      TableName: input.stack.tables.delegations,
      IndexName: ACTIVE_GRANTS_INDEX,
      KeyConditionExpression: 'PK = :pk AND LSI1SK BETWEEN :from AND :to',
      ExpressionAttributeValues: marshall({
        ':pk': profilePk(input.profile),
        ':from': activeGrantsPrefix(subject) + indexTime(now),
        ':to': activeGrantsPrefix(subject) + KEY_RANGE_END,
      }),
      ConsistentRead: true,
    }),
  );
}

/** An audit-record-sized item (1,000 bytes), put once: conditional, as a record never overwrites one. */
function putRecord(dynamodb: DynamoDBClient, table: string, item: Record<string, unknown>): Promise<unknown> {
  return dynamodb.send(
    new PutItemCommand({ TableName: table, Item: marshall(padTo(item, IRREDUCIBLE_RECORD_BYTES)), ConditionExpression: 'attribute_not_exists(PK)' }),
  );
}

/** `item` with a `detail` string that makes it `bytes` long by DynamoDB's rules (name and value). */
function padTo(item: Record<string, unknown>, bytes: number): Record<string, unknown> {
  const size = itemSize(marshall(item, { removeUndefinedValues: true })) + 'detail'.length;
  return { ...item, detail: 'x'.repeat(Math.max(0, bytes - size)) };
}

/** SDK clients with defaults, as any script would make them (one attempt: a retry would be noise). */
function plainClients(input: ScriptInput): { sts: STSClient; dynamodb: DynamoDBClient } {
  const { stack } = input;
  const credentials = { accessKeyId: LOCAL_TVM_CALLER.accessKeyId, secretAccessKey: LOCAL_TVM_CALLER.secretAccessKey };
  return {
    sts: new STSClient({ region: stack.region, endpoint: stack.stsEndpoint, credentials, maxAttempts: 1 }),
    dynamodb: new DynamoDBClient({ region: stack.region, endpoint: stack.dynamodbEndpoint, credentials, maxAttempts: 1 }),
  };
}

/** The AssumeRole a vend makes: its role, session name, SourceIdentity, three tags and duration. */
async function assumeRoleLikeAVend(sts: STSClient, input: ScriptInput, principal: string, requestId: string): Promise<string | undefined> {
  const { Credentials } = await sts.send(
    new AssumeRoleCommand({
      RoleArn: input.roleArn,
      RoleSessionName: principal,
      SourceIdentity: principal,
      DurationSeconds: DURATION_SECONDS,
      Tags: [
        { Key: 'tvm:grant', Value: 'bench-grant' },
        { Key: 'tvm:request', Value: requestId },
        { Key: 'tvm:principal', Value: principal },
      ],
    }),
  );
  return Credentials?.AccessKeyId;
}

/** The attributes of a credential.issued audit record, at their usual sizes (~1 KB). */
function auditSizedItem(input: ScriptInput, principal: string, requestId: string, accessKeyId: string | undefined): Record<string, unknown> {
  return {
    type: 'credential.issued',
    at: new Date().toISOString(),
    id: randomUUID(),
    principal,
    groups: [input.group],
    requestId,
    sourceIp: '127.0.0.1',
    userAgent: 'tvm-bench',
    profile: input.profile,
    roleArn: input.roleArn,
    grantId: 'bench-grant',
    accessKeyId,
    expiration: new Date(Date.now() + DURATION_SECONDS * 1000).toISOString(),
    sessionName: principal,
    sourceIdentity: principal,
    durationSeconds: DURATION_SECONDS,
    hash: '0'.repeat(64),
    prevHash: '0'.repeat(64),
  };
}
