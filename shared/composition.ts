// The composition root: configuration and adapters, built once per cold start and only when a
// function asks for them (so each bundle carries only the SDK clients it uses).
import { createDynamoDbClient, createStsClient } from './adapters/aws-clients.js';
import { DynamoDbAuditLog } from './adapters/dynamodb-audit-log.js';
import { DynamoDbDelegationStore } from './adapters/dynamodb-delegation-store.js';
import { JoseTokenVerifier } from './adapters/jose-token-verifier.js';
import { StsCredentialIssuer } from './adapters/sts-credential-issuer.js';
import { loadConfig, type Config } from './config.js';
import type { AuditLog, CredentialIssuer, DelegationStore, TokenVerifier } from './domain/ports.js';

const once = <T>(build: () => T): (() => T) => {
  let value: T | undefined;
  return () => (value ??= build());
};

export const config: () => Config = once(() => loadConfig());

const dynamoDb = once(() => createDynamoDbClient(config()));

export const delegationStore: () => DelegationStore = once(
  () =>
    new DynamoDbDelegationStore(dynamoDb(), {
      tableName: config().tables.delegations,
      auditTableName: config().tables.audit,
      auditShards: config().auditShards,
    }),
);

export const auditLog: () => AuditLog = once(
  () => new DynamoDbAuditLog(dynamoDb(), { tableName: config().tables.audit, shards: config().auditShards }),
);

export const credentialIssuer: () => CredentialIssuer = once(() => new StsCredentialIssuer(createStsClient(config())));

export const tokenVerifier: () => TokenVerifier = once(() => new JoseTokenVerifier(config().issuers));
