// The alert function, built by its factory as functions/alert.ts builds it, from in-memory ports,
// a fixed clock and a recording log: the event shapes it accepts, how stream records become audit
// events, and which records it asks the platform to retry.
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { linkItem } from '../../shared/adapters/audit-chain.js';
import { auditItem } from '../../shared/adapters/audit-keys.js';
import type { AuditEvent } from '../../shared/domain/audit.js';
import { ValidationError } from '../../shared/domain/errors.js';
import { makeAlertHandler } from '../../shared/events/alert.js';
import { RecordingAlertSink, aDenial, aUse, anIssuedEvent } from '../fixtures/alert-events.js';
import { aGrant, aProfile } from '../fixtures/builders.js';
import { InMemoryAuditLog, InMemoryDelegationStore, fixedClock, sequentialIds, type FixedClock } from '../fixtures/in-memory.js';
import { InMemoryLockdownStore } from '../fixtures/in-memory-lockdown.js';

const NOW = '2026-06-01T12:10:00.000Z';

/** The ports behind the handler, fresh for each test. */
interface World {
  audit: InMemoryAuditLog;
  store: InMemoryDelegationStore;
  lockdown: InMemoryLockdownStore;
  sink: RecordingAlertSink;
  clock: FixedClock;
  ids: ReturnType<typeof sequentialIds>;
}
let world: World;

const settings = { denialThreshold: 5, denialWindowMinutes: 10, ignoredSources: ['AWS Internal', '*.amazonaws.com'] };
const logged: { level: string; message: string; attributes: unknown }[] = [];
const log = {
  info: (message: string, attributes: unknown) => void logged.push({ level: 'info', message, attributes }),
  warn: (message: string, attributes: unknown) => void logged.push({ level: 'warn', message, attributes }),
  error: (message: string, attributes: unknown) => void logged.push({ level: 'error', message, attributes }),
};

let handler: ReturnType<typeof makeAlertHandler>;

const CONTEXT = { awsRequestId: 'lambda-request-1', functionName: 'tvm-dev-alert', getRemainingTimeInMillis: () => 25_000 } as Context;

beforeEach(async () => {
  const audit = new InMemoryAuditLog();
  // Uses are recorded as the run starts: each is in the window it re-checks.
  audit.recordingClock = () => new Date(NOW);
  world = {
    audit,
    store: new InMemoryDelegationStore({ audit, profiles: [aProfile()], grants: [aGrant()] }),
    lockdown: new InMemoryLockdownStore(audit),
    sink: new RecordingAlertSink(),
    clock: fixedClock(NOW),
    ids: sequentialIds('alert'),
  };
  await audit.append(anIssuedEvent());
  handler = makeAlertHandler({ ...world, grants: world.store, settings, log });
  logged.length = 0;
});

/** The stream record DynamoDB writes for an item: INSERT with its new image. */
function anInsert(item: Record<string, unknown>, sequenceNumber: string): DynamoDBRecord {
  return {
    eventID: `event-${sequenceNumber}`,
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    eventSourceARN: 'arn:aws:dynamodb:eu-west-1:123456789012:table/tvm-dev-audit/stream/2026-06-01T00:00:00.000',
    dynamodb: {
      ApproximateCreationDateTime: Date.parse(NOW) / 1000,
      Keys: marshall({ PK: item.PK, SK: item.SK }) as never,
      NewImage: marshall(item, { removeUndefinedValues: true }) as never,
      SequenceNumber: sequenceNumber,
      SizeBytes: 512,
      StreamViewType: 'NEW_IMAGE',
    },
  };
}

/** Records the event in the trail and returns the stream record of its item. */
async function inserted(event: AuditEvent, sequenceNumber: string): Promise<DynamoDBRecord> {
  await world.audit.append(event);
  return anInsert(linkItem(auditItem(event, 0), { seq: 6, hash: 'a'.repeat(64) }), sequenceNumber);
}

const batch = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

describe('stream batches', () => {
  it('evaluates inserted events and reports no failures', async () => {
    // Prepare
    const unknown = aUse({ issuance: null });
    const records = [await inserted(aUse({ unique: 'use-0' }), '100'), await inserted(unknown, '200')];

    // Act
    const response = await handler(batch(...records), CONTEXT);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(world.sink.published).toEqual([
      expect.objectContaining({ rule: 'unknown-session', requestId: 'lambda-request-1', evidence: [unknown.id] }),
    ]);
    expect(world.audit.eventsOfType('alert.raised')).toHaveLength(1);
  });

  it('skips what is not a new audit event: modifications, chain heads, once markers and alerts', async () => {
    // Prepare
    const unknown = aUse({ issuance: null });
    const modified = { ...(await inserted(unknown, '100')), eventName: 'MODIFY' as const };
    const head = anInsert({ PK: 'CHAIN#2026-06-01#0', SK: 'HEAD', chainSeq: 7, hash: 'b'.repeat(64) }, '200');
    const marker = anInsert({ PK: 'ONCE#use:ct-1', SK: 'ONCE' }, '300');
    const alert = anInsert(
      linkItem(
        auditItem(
          {
            id: '2026-06-01T12:00:00.000Z#alert-x',
            type: 'alert.raised',
            at: '2026-06-01T12:00:00.000Z',
            principal: unknown.principal,
            requestId: 'r',
            accessKeyId: unknown.accessKeyId,
            rule: 'source-ip-change',
            severity: 'high',
            dedupeKey: 'source-ip-change#x',
            summary: 's',
            evidence: [],
          },
          0,
        ),
        undefined,
      ),
      '400',
    );

    // Act
    const response = await handler(batch(modified, head, marker, alert), CONTEXT);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(world.sink.published).toEqual([]);
    expect(logged).toEqual([]);
  });

  it("does not act on an event item put into the table behind tvm's back (not chained, or its hash wrong)", async () => {
    // Prepare: a forged use of alice's key that would raise use-during-lockdown and unknown-session.
    const forged = aUse({ unique: 'forged', issuance: null });
    const unchained = anInsert(auditItem(forged, 0), '100');
    const rehashed = anInsert({ ...linkItem(auditItem(forged, 0), undefined), hash: 'b'.repeat(64) }, '200');

    // Act
    const response = await handler(batch(unchained, rehashed), CONTEXT);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(world.sink.published).toEqual([]);
  });

  it('skips an unreadable event item with a warning instead of retrying it forever', async () => {
    // Prepare
    const broken = anInsert({ PK: 'PRINCIPAL#alice@example.com', SK: '2026-06-01T12:00:00.000Z#x', type: 'credential.exploded' }, '100');

    // Act
    const response = await handler(batch(broken), CONTEXT);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(logged).toEqual([
      { level: 'warn', message: 'skipped an audit stream record that is not a readable event', attributes: { sequenceNumber: '100' } },
    ]);
  });

  it('reports the record whose alert could not be published and every later record, in order', async () => {
    // Prepare: the second record raises an alert SNS refuses; the third would raise one too.
    world.sink.failWith(new Error('SNS is unavailable'));
    const records = [
      await inserted(aUse({ unique: 'use-0' }), '100'),
      await inserted(aUse({ unique: 'use-1', issuance: null }), '200'),
      anInsert({ PK: 'CHAIN#2026-06-01#0', SK: 'HEAD' }, '300'),
      await inserted(aDenial({ code: 'LOCKDOWN_ACTIVE' }), '400'),
    ];

    // Act
    const response = (await handler(batch(...records), CONTEXT)) as DynamoDBBatchResponse;

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '200' }, { itemIdentifier: '300' }, { itemIdentifier: '400' }] });
    expect(world.audit.eventsOfType('alert.raised')).toEqual([]);
    expect(logged).toContainEqual(
      expect.objectContaining({ level: 'error', message: 'alert evaluation failed; retrying from this record' }),
    );
  });

  it('raises the alerts on the retry of the reported records', async () => {
    // Prepare
    world.sink.failWith(new Error('SNS is unavailable'));
    const records = [await inserted(aUse({ issuance: null }), '200'), await inserted(aDenial({ code: 'LOCKDOWN_ACTIVE' }), '400')];
    await handler(batch(...records), CONTEXT);
    world.sink.recover();

    // Act
    const response = await handler(batch(...records), CONTEXT);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(world.sink.published.map((a) => a.rule)).toEqual(['unknown-session', 'lockdown-breach-attempt']);
  });
});

describe('scheduled and manual runs', () => {
  it('evaluates the window before the scheduled time and raises only what the stream did not', async () => {
    // Prepare: the stream raised the unknown session; the burst of denials it never saw.
    const streamed = await inserted(aUse({ issuance: null }), '100');
    await handler(batch(streamed), CONTEXT);
    for (let i = 0; i < 5; i++) {
      await world.audit.append(aDenial({ unique: `d${i}`, at: new Date(Date.parse('2026-06-01T12:01:00.000Z') + i * 20_000).toISOString() }));
    }
    const scheduled = {
      version: '0',
      id: 'cdc73f9d-aea9-11e3-9d5a-835b769c0d9c',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '123456789012',
      time: '2026-06-01T12:10:00Z',
      region: 'eu-west-1',
      resources: ['arn:aws:events:eu-west-1:123456789012:rule/tvm-dev-alert-schedule'],
      detail: {},
    };

    // Act
    const summary = await handler(scheduled, { ...CONTEXT, awsRequestId: 'schedule-request-1' });

    // Assess
    expect(summary).toEqual({
      from: '2026-06-01T11:50:00.000Z',
      to: '2026-06-01T12:10:00.000Z',
      evaluated: 6,
      truncated: false,
      raised: [
        {
          id: '2026-06-01T12:10:00.000Z#alert-00000002',
          rule: 'denial-burst',
          severity: 'medium',
          dedupeKey: 'denial-burst#2026-06-01T12:00:00.000Z#alice@example.com',
        },
      ],
    });
    expect(world.sink.published.map((a) => a.rule)).toEqual(['unknown-session', 'denial-burst']);
  });

  it('evaluates from "since" until now on a manual invoke', async () => {
    // Prepare
    await world.audit.append(aUse({ issuance: null, eventTime: '2026-06-01T09:00:00Z' }));

    // Act
    const summary = await handler({ source: 'tvm.manual', since: '2026-06-01T08:00:00Z' }, CONTEXT);

    // Assess
    expect(summary).toMatchObject({ from: '2026-06-01T08:00:00.000Z', to: NOW, evaluated: 1, raised: [{ rule: 'unknown-session' }] });
  });

  it('takes "since" relative to now, in minutes or hours (-90m, -4h)', async () => {
    // Prepare
    await world.audit.append(aUse({ issuance: null, eventTime: '2026-06-01T09:00:00Z' }));

    // Act
    const lastFourHours = await handler({ source: 'tvm.manual', since: '-4h' }, CONTEXT);
    const lastNinetyMinutes = await handler({ source: 'tvm.manual', since: '-90m' }, CONTEXT);

    // Assess
    expect(lastFourHours).toMatchObject({ from: '2026-06-01T08:10:00.000Z', to: NOW, evaluated: 1 });
    expect(lastNinetyMinutes).toMatchObject({ from: '2026-06-01T10:40:00.000Z', to: NOW });
    await expect(handler({ source: 'tvm.manual', since: '-25h' }, CONTEXT)).rejects.toThrow(ValidationError);
    await expect(handler({ source: 'tvm.manual', since: '+1h' }, CONTEXT)).rejects.toThrow(ValidationError);
  });

  it('refuses a manual window reaching more than a day back or into the future', async () => {
    await expect(handler({ source: 'tvm.manual', since: '2026-05-31T12:09:59Z' }, CONTEXT)).rejects.toThrow(ValidationError);
    await expect(handler({ source: 'tvm.manual', since: '2026-06-01T12:11:00Z' }, CONTEXT)).rejects.toThrow(ValidationError);
  });

  it('refuses any other event', async () => {
    await expect(handler({ source: 'aws.events', 'detail-type': 'Object Created' }, CONTEXT)).rejects.toThrow(ValidationError);
    await expect(handler({ source: 'tvm.manual', since: 'yesterday' }, CONTEXT)).rejects.toThrow(ValidationError);
  });
});
