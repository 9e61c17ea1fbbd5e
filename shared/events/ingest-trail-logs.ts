// ingestTrailLogs: each new CloudTrail log file in the trail's bucket. Triggered by S3
// ObjectCreated, as a bucket notification (`Records[].s3`) or through EventBridge ("Object
// Created", `detail`); the ingestion itself is the use case's (ingest-trail-logs.ts).
import type { S3Event, S3ObjectCreatedNotificationEvent } from 'aws-lambda';
import { ingestTrailLogs, type IngestTrailDeps, type TrailObject } from '../domain/ingest-trail-logs.js';
import { createEventHandler } from './event-handler.js';

export const makeIngestTrailLogsHandler = (deps: IngestTrailDeps) =>
  createEventHandler(deps.log, (event: S3Event | S3ObjectCreatedNotificationEvent, { requestId, functionArn }) =>
    ingestTrailLogs(deps, objectsOf(event), { requestId, functionArn, event }),
  );

function objectsOf(event: S3Event | S3ObjectCreatedNotificationEvent): TrailObject[] {
  if ('Records' in event) return (event.Records ?? []).map((r) => ({ bucket: r.s3?.bucket?.name, key: objectKey(r.s3?.object?.key) }));
  return [{ bucket: event.detail?.bucket?.name, key: objectKey(event.detail?.object?.key) }];
}

/**
 * S3 notification keys are URL-encoded with `+` for a space; the same decoding is applied to the
 * EventBridge form. CloudTrail's own keys (AWSLogs/…/<account>_CloudTrail_<region>_<time>_<id>.json.gz)
 * contain neither `+` nor `%`, so they read the same either way.
 */
function objectKey(encoded: string | undefined): string | undefined {
  if (encoded === undefined) return undefined;
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
