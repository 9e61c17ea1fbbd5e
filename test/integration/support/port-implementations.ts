// The ports the unit tests fake, twice: wired as the unit tests wire the in-memory fakes, and as the
// functions wire the DynamoDB adapters (fresh tables on DynamoDB Local each time). The port
// contracts (port-contracts.test.ts) run the same cases against both.
import { DynamoDbAuditLog } from '../../../shared/adapters/dynamodb-audit-log.js';
import { DynamoDbAuditWriter } from '../../../shared/adapters/dynamodb-audit-writer.js';
import { DynamoDbDelegationStore } from '../../../shared/adapters/dynamodb-delegation-store.js';
import { DynamoDbEngagementStore } from '../../../shared/adapters/dynamodb-engagement-store.js';
import { DynamoDbLockdownReader, DynamoDbLockdownStore } from '../../../shared/adapters/dynamodb-lockdown-store.js';
import { DynamoDbProfileReader } from '../../../shared/adapters/dynamodb-profile-reader.js';
import { DynamoDbRateLimiter } from '../../../shared/adapters/dynamodb-rate-limiter.js';
import { DynamoDbRequestStore } from '../../../shared/adapters/dynamodb-request-store.js';
import { DynamoDbCutOffOrders, DynamoDbRevocationLedger } from '../../../shared/adapters/dynamodb-revocation-ledger.js';
import type {
  AuditLog,
  AuditWriter,
  CutOffOrders,
  DelegationStore,
  EngagementStore,
  LockdownReader,
  LockdownStore,
  ProfileGrantsReader,
  RateLimiter,
  RequestStore,
  RevocationLedger,
} from '../../../shared/domain/ports.js';
import {
  InMemoryAuditLog,
  InMemoryDelegationStore,
  InMemoryEngagementStore,
  InMemoryRateLimiter,
  InMemoryRevocationLedger,
} from '../../fixtures/in-memory.js';
import { InMemoryLockdownStore } from '../../fixtures/in-memory-lockdown.js';
import { InMemoryRequestStore } from '../../fixtures/in-memory-requests.js';
import type { DynamoDbTestContext } from './dynamodb.js';

/** One implementation of every faked port, sharing its state as production's share their tables. */
export interface Ports {
  readonly delegations: DelegationStore;
  /** What a vend reads of the delegations: a port of its own, so the vend bundle stays small. */
  readonly vendReads: ProfileGrantsReader;
  readonly engagements: EngagementStore;
  readonly requests: RequestStore;
  readonly lockdown: LockdownStore;
  readonly lockdownReads: LockdownReader;
  readonly audit: AuditLog;
  /** The append-only writer the vend and the trail ingestion use. */
  readonly auditWriter: AuditWriter;
  readonly ledger: RevocationLedger;
  readonly orders: CutOffOrders;
  rateLimiter(limit: number, windowSeconds?: number): RateLimiter;
}

export const AUDIT_SHARDS = 4;

/** The fakes, wired to each other as the unit tests wire them. */
export function inMemoryPorts(): Ports {
  const audit = new InMemoryAuditLog();
  const delegations = new InMemoryDelegationStore({ audit });
  const lockdown = new InMemoryLockdownStore(audit);
  return {
    delegations,
    vendReads: delegations,
    engagements: new InMemoryEngagementStore(delegations),
    requests: new InMemoryRequestStore(delegations, lockdown),
    lockdown,
    lockdownReads: lockdown,
    audit,
    auditWriter: audit,
    ledger: new InMemoryRevocationLedger(audit.cutOffOrders),
    orders: audit.cutOffOrders,
    rateLimiter: (limit, windowSeconds) => new InMemoryRateLimiter(limit, windowSeconds),
  };
}

/**
 * The adapters on fresh tables. `now` is the audit log's clock: where a query without `from`
 * starts its walk back through the days.
 */
export async function dynamoDbPorts(context: DynamoDbTestContext, now: Date): Promise<Ports> {
  const { delegations: tableName, audit: auditTableName } = await context.createTestTables();
  const client = context.documentClient;
  const options = { tableName, auditTableName, auditShards: AUDIT_SHARDS };
  return {
    delegations: new DynamoDbDelegationStore(client, options),
    vendReads: new DynamoDbProfileReader(client, options),
    engagements: new DynamoDbEngagementStore(client, options),
    requests: new DynamoDbRequestStore(client, options),
    lockdown: new DynamoDbLockdownStore(client, options),
    lockdownReads: new DynamoDbLockdownReader(client, options),
    audit: new DynamoDbAuditLog(client, { tableName: auditTableName, shards: AUDIT_SHARDS, now: () => now }),
    auditWriter: new DynamoDbAuditWriter(client, { tableName: auditTableName, shards: AUDIT_SHARDS }),
    ledger: new DynamoDbRevocationLedger(client, options),
    orders: new DynamoDbCutOffOrders(client, options),
    rateLimiter: (limit, windowSeconds) => new DynamoDbRateLimiter(client, { tableName, limit, ...(windowSeconds ? { windowSeconds } : {}) }),
  };
}
