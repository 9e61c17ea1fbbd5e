// Ingesting a trail's log files: the complete record of calls, which EventBridge delivers only on a
// best-effort basis. Each file's records become `credential.used` events (record-use.ts), read only
// as fast as they are written, and a retry resumes where the last attempt had settled everything.
import { adminEvent } from './audit.js';
import { AuditUnavailableError, TrailObjectTooLargeError } from './errors.js';
import type { Clock, DeadLetters, IdGenerator, TrailLogElement, TrailLogReader, TrailProgress } from './ports.js';
import { noUses, recordUses, type FailedUse, type RecordUseDeps, type UseCounts, type UseInput } from './record-use.js';

/** Settled records between two saves of a file's progress (a timeout loses at most this many). */
const SAVE_EVERY = 2_000;
/** Records in flight per file: the file is read only as fast as its uses are written. */
const CONCURRENCY = 16;
/** Who records a rejected log file: tvm itself. */
const TVM = { id: 'tvm', groups: [], issuer: '' };

export interface IngestTrailDeps extends RecordUseDeps {
  readonly reader: TrailLogReader;
  readonly progress: TrailProgress;
  readonly deadLetters: DeadLetters;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly log: {
    info(message: string, data: Record<string, unknown>): void;
    warn(message: string, data: Record<string, unknown>): void;
    error(message: string, data: Record<string, unknown>): void;
  };
}

/** A log file an event names; either part missing when the event could not say. */
export interface TrailObject {
  readonly bucket?: string;
  readonly key?: string;
}

/** The invocation, and the event it was given: a rejected file's event is what is dead-lettered. */
export interface IngestInvocation {
  readonly requestId: string;
  readonly functionArn: string;
  readonly event: unknown;
}

/**
 * Streams each object's records into `credential.used` events, and answers the counts summed over
 * the objects. If any use could not be written, throws once every object has been read, so the
 * platform delivers the event again; records already written come back as duplicates (idempotent
 * on CloudTrail's eventID). An object that unzips past the cap is rejected for good: recorded
 * `trail.rejected` (alerted), its event dead-lettered, and not retried, since reading it again
 * cannot help.
 */
export async function ingestTrailLogs(deps: IngestTrailDeps, objects: readonly TrailObject[], invocation: IngestInvocation): Promise<UseCounts> {
  const total = noUses();
  const failed: FailedUse<number>[] = [];
  for (const { bucket, key } of objects) {
    if (!bucket || key === undefined) {
      total.malformed++;
      deps.log.warn('S3 event without a bucket or a readable key skipped', {});
      continue;
    }
    const result = await ingestObject(deps, bucket, key, invocation);
    if (result === 'too-large') continue;
    for (const name of Object.keys(total) as (keyof UseCounts)[]) total[name] += result.counts[name];
    failed.push(...result.failed);
  }
  const [first] = failed;
  if (first) {
    deps.log.error('uses not recorded; the log files will be read again', {
      failed: failed.length,
      cloudTrailEventIds: failed.slice(0, 20).map((f) => f.cloudTrailEventId),
    });
    throw new AuditUnavailableError(`${failed.length} uses could not be recorded`, { cause: first.error });
  }
  return total;
}

/** One file's uses, or `too-large` when it was rejected for good. */
async function ingestObject(deps: IngestTrailDeps, bucket: string, key: string, invocation: IngestInvocation) {
  // A retry resumes where the last attempt had settled every record before.
  const resumeAt = await deps.progress.resumeAt(bucket, key).catch(() => 0);
  if (resumeAt > 0) deps.log.info('trail log resumed', { bucket, key, resumeAt });
  const watermark = new Watermark(resumeAt);
  const saves: Promise<void>[] = [];
  let savedAt = resumeAt;
  const save = (position: number) => {
    savedAt = position;
    saves.push(deps.progress.save(bucket, key, position).catch((error: unknown) => deps.log.warn('trail log progress not saved', { bucket, key, error })));
  };
  try {
    const result = await recordUses(deps, inputsFrom(deps.reader.read(bucket, key), resumeAt), {
      concurrency: CONCURRENCY,
      onSettled: (position, done) => {
        watermark.settle(position, done);
        if (watermark.position - savedAt >= SAVE_EVERY) save(watermark.position);
      },
    });
    if (watermark.position > savedAt) save(watermark.position);
    await Promise.all(saves);
    deps.log.info('trail log ingested', { bucket, key, ...result.counts });
    if (result.malformed.length > 0) deps.log.warn('malformed CloudTrail records skipped', { bucket, key, samples: result.malformed });
    return result;
  } catch (error) {
    if (!(error instanceof TrailObjectTooLargeError)) {
      save(watermark.position);
      await Promise.all(saves);
      throw error;
    }
    await reject(deps, error, invocation);
    return 'too-large' as const;
  }
}

async function reject(deps: IngestTrailDeps, error: TrailObjectTooLargeError, invocation: IngestInvocation): Promise<void> {
  const { bucket, key, maxObjectBytes } = error;
  deps.log.error('trail log rejected: it unzips past the cap; the uses past it are not recorded', { bucket, key, maxObjectBytes });
  const rejection = adminEvent(deps.clock.now(), deps.ids.next(), 'trail.rejected', TVM, { requestId: invocation.requestId }, {
    profile: '',
    detail: { bucket, key, maxObjectBytes },
  });
  await deps.audit.append(rejection);
  await deps.deadLetters.put(invocation.event, { functionArn: invocation.functionArn, condition: 'ObjectTooLarge', reason: error.message });
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

/**
 * The lowest position not yet settled, from settlements that arrive in any order (several records
 * are written at once): everything below it is done, so a retry may start there.
 */
class Watermark {
  private readonly settled = new Set<number>();
  private failedAt = Infinity;

  constructor(private next: number) {}

  settle(position: number, done: boolean): void {
    if (!done) {
      this.failedAt = Math.min(this.failedAt, position);
      return;
    }
    this.settled.add(position);
    while (this.settled.delete(this.next)) this.next += 1;
  }

  get position(): number {
    return Math.min(this.next, this.failedAt);
  }
}
