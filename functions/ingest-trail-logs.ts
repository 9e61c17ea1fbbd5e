// ingestTrailLogs: each new CloudTrail log file in the trail's bucket, the complete record of
// calls that EventBridge delivers only on a best-effort basis. Triggered by S3 ObjectCreated, as a
// bucket notification (`Records[].s3`) or through EventBridge ("Object Created", `detail`).
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, S3Event, S3ObjectCreatedNotificationEvent } from 'aws-lambda';
import { randomIds, systemClock } from '../shared/adapters/system.js';
import { TrailObjectTooLargeError, type TrailLogElement } from '../shared/adapters/trail-log-reader.js';
import { Watermark } from '../shared/adapters/dynamodb-trail-progress.js';
import { auditLog, config, deadLetters, trailLogReader, trailProgress } from '../shared/composition.js';
import { adminEvent } from '../shared/domain/audit.js';
import { AuditUnavailableError } from '../shared/domain/errors.js';
import { noUses, recordUses, type FailedUse, type UseCounts, type UseInput } from '../shared/domain/record-use.js';
import { logger } from '../shared/logger.js';

const deps = { audit: auditLog(), roleArnPattern: config().roleArnPattern, ignoredSources: config().alerts.ignoredSources };
const reader = trailLogReader();
const progress = trailProgress();
/** Settled records between two saves of a file's progress (a timeout loses at most this many). */
const SAVE_EVERY = 2_000;

/** Records in flight per file: the file is read only as fast as its uses are written. */
const CONCURRENCY = 16;

/** Who records a rejected log file: tvm itself. */
const TVM = { id: 'tvm', groups: [], issuer: '' };

/**
 * Streams each object's records into `credential.used` events. If any could not be written, throws
 * once every object has been read, so the platform delivers the event again; records already
 * written come back as duplicates (idempotent on CloudTrail's eventID). An object that unzips past
 * the cap (TVM_TRAIL_MAX_OBJECT_BYTES) is rejected for good: recorded `trail.rejected` (alerted),
 * its event put in the dead-letter queue, and not retried, since reading it again cannot help.
 */
async function ingestTrailLogs(event: S3Event | S3ObjectCreatedNotificationEvent, context: Context): Promise<UseCounts> {
  const total = noUses();
  const failed: FailedUse<number>[] = [];
  for (const { bucket, key } of objectsOf(event)) {
    if (!bucket || key === undefined) {
      total.malformed++;
      logger.warn('S3 event without a bucket or a readable key skipped');
      continue;
    }
    // A retry resumes where the last attempt had settled every record before.
    const resumeAt = await progress.resumeAt(bucket, key).catch(() => 0);
    if (resumeAt > 0) logger.info('trail log resumed', { bucket, key, resumeAt });
    const watermark = new Watermark(resumeAt);
    const saves: Promise<void>[] = [];
    let savedAt = resumeAt;
    const save = (position: number) => {
      savedAt = position;
      saves.push(progress.save(bucket, key, position).catch((error: unknown) => logger.warn('trail log progress not saved', { bucket, key, error })));
    };
    let result: Awaited<ReturnType<typeof recordUses<number>>>;
    try {
      result = await recordUses(deps, inputsFrom(reader.read(bucket, key), resumeAt), {
        concurrency: CONCURRENCY,
        onSettled: (position, done) => {
          watermark.settle(position, done);
          if (watermark.position - savedAt >= SAVE_EVERY) save(watermark.position);
        },
      });
    } catch (error) {
      if (!(error instanceof TrailObjectTooLargeError)) {
        save(watermark.position);
        await Promise.all(saves);
        throw error;
      }
      await reject(event, error, context);
      continue;
    }
    if (watermark.position > savedAt) save(watermark.position);
    await Promise.all(saves);
    for (const name of Object.keys(total) as (keyof UseCounts)[]) total[name] += result.counts[name];
    failed.push(...result.failed);
    logger.info('trail log ingested', { bucket, key, ...result.counts });
    if (result.malformed.length > 0) logger.warn('malformed CloudTrail records skipped', { bucket, key, samples: result.malformed });
  }
  const [first] = failed;
  if (first) {
    logger.error('uses not recorded; the log files will be read again', {
      failed: failed.length,
      cloudTrailEventIds: failed.slice(0, 20).map((f) => f.cloudTrailEventId),
    });
    throw new AuditUnavailableError(`${failed.length} uses could not be recorded`, { cause: first.error });
  }
  return total;
}

async function reject(event: S3Event | S3ObjectCreatedNotificationEvent, error: TrailObjectTooLargeError, context: Context): Promise<void> {
  const { bucket, key, maxObjectBytes } = error;
  logger.error('trail log rejected: it unzips past the cap; the uses past it are not recorded', { bucket, key, maxObjectBytes });
  const rejection = adminEvent(systemClock.now(), randomIds.next(), 'trail.rejected', TVM, { requestId: context.awsRequestId }, {
    profile: '',
    detail: { bucket, key, maxObjectBytes },
  });
  await deps.audit.append(rejection);
  await deadLetters().put(event, { functionArn: context.invokedFunctionArn, condition: 'ObjectTooLarge', reason: error.message });
}

// The Lambda request id on every log line; never the event.
export const handler = middy(ingestTrailLogs).use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }));

function objectsOf(event: S3Event | S3ObjectCreatedNotificationEvent): { bucket?: string; key?: string }[] {
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

/** The file's elements from `resumeAt` on, each with its position in the file. */
async function* inputsFrom(elements: AsyncIterable<TrailLogElement>, resumeAt: number): AsyncGenerator<UseInput<number>> {
  let position = 0;
  for await (const element of elements) {
    const ref = position++;
    if (ref < resumeAt) continue;
    yield element.ok ? { ref, via: 'trail', record: element.record } : { ref, skip: 'malformed', reason: element.reason };
  }
}
