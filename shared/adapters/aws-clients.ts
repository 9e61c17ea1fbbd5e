// SDK clients, built once per cold start with bounded retries and timeouts: a slow dependency
// turns into a clear error well inside API Gateway's 30-second limit instead of a hung request.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../config.js';

const MAX_ATTEMPTS = 3;

export function createDynamoDbClient(config: Config): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: config.region,
    endpoint: config.endpoints.dynamodb,
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function createStsClient(config: Config): STSClient {
  return new STSClient({
    region: config.region,
    endpoint: config.endpoints.sts,
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
  });
}
