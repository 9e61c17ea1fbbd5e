// SDK clients, built once per cold start with bounded retries and timeouts, sized so that the
// slowest vend (JWKS fetch, store read, one STS call, audit write, denial write) ends in a mapped
// error well inside the Lambda timeout (serverless.yml) and API Gateway's 30 seconds.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient, type IAMClientConfig } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SNSClient } from '@aws-sdk/client-sns';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../config.js';
import { partitionOf } from '../partition.js';
import { patientAgents } from './patient-agents.js';

export function createDynamoDbClient(config: Config): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: config.region,
    endpoint: config.endpoints.dynamodb,
    // Throttling and 5xx are retried; at most 3 × 1.5 s. The 500 ms connect timeout is the agents'
    // (patient-agents.ts), as STS's: after an event-loop stall a plain timer fails connections that
    // were merely queued.
    maxAttempts: 3,
    requestHandler: { requestTimeout: 1_000, ...patientAgents(500) },
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function createStsClient(config: Config): STSClient {
  return new STSClient({
    region: config.region,
    endpoint: config.endpoints.sts,
    // One attempt: the SDK would retry after a timeout or a 5xx, when STS may already have issued
    // a session no audit record names. StsCredentialIssuer retries only what STS did not issue
    // (throttling, requests that never reached it): at most 3 attempts, retries within 2 s.
    maxAttempts: 1,
    // The 1 s connect timeout is the agents' (patient-agents.ts): a stalled event loop does not fake one.
    requestHandler: { requestTimeout: 3_000, ...patientAgents(1_000) },
  });
}

/** IAM as tvm's own credentials see it, or with `credentials`, as another account's role does. */
export function createIamClient(config: Config, credentials?: IAMClientConfig['credentials']): IAMClient {
  return new IAMClient({
    region: config.region,
    endpoint: config.endpoints.iam,
    ...(credentials === undefined ? {} : { credentials }),
    // Role-policy writes are idempotent (the whole document is replaced), so retrying is safe.
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
  });
}

/** A revoker session is assumed again once it has less than this left. */
const REVOKER_REFRESH_MS = 5 * 60_000;

/**
 * Sessions of the revoker role in a target account (resources/target-account-revoker.yml), assumed
 * with tvm's own credentials when first needed and again before they expire. (The SDK's
 * fromTemporaryCredentials does the same, but its imports cost the vend bundle 4 kB through
 * composition; STS's client is there anyway.)
 */
export function revokerCredentials(config: Config, account: string, roleName: string): IAMClientConfig['credentials'] {
  const sts = new STSClient({
    region: config.region,
    endpoint: config.endpoints.sts,
    // An extra revoker session is harmless: retried like any read.
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
  });
  const request = { RoleArn: `arn:${partitionOf(config.region)}:iam::${account}:role/${roleName}`, RoleSessionName: `tvm-${config.stage}-revoker`, DurationSeconds: 900 };
  let held: { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: Date } | undefined;
  return async () => {
    if (held !== undefined && held.expiration.getTime() - Date.now() > REVOKER_REFRESH_MS) return held;
    const { Credentials: assumed } = await sts.send(new AssumeRoleCommand(request));
    if (!assumed?.AccessKeyId || !assumed.SecretAccessKey || !assumed.SessionToken || !assumed.Expiration) {
      throw new Error(`STS returned no credentials for ${request.RoleArn}`);
    }
    held = { accessKeyId: assumed.AccessKeyId, secretAccessKey: assumed.SecretAccessKey, sessionToken: assumed.SessionToken, expiration: assumed.Expiration };
    return held;
  };
}


export function createSnsClient(config: Config): SNSClient {
  return new SNSClient({
    region: config.region,
    // A retried Publish may deliver an alert twice; alerts are at-least-once anyway.
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
  });
}

export function createSqsClient(config: Config): SQSClient {
  return new SQSClient({
    region: config.region,
    // A retried SendMessage may dead-letter twice; a redrive is idempotent on what it replays.
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
  });
}

export function createS3Client(config: Config): S3Client {
  return new S3Client({
    region: config.region,
    // GetObject is safe to retry. The idle timeout is generous: a log file is read only as fast as
    // its records are written, so the download may pause for seconds.
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 60_000 },
  });
}
