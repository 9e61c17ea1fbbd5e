// What the alert driver (alert-driver.ts) hands the `alert` function and reads back, as Lambda's
// DynamoDB stream mapping does: stream records in the JSON form Lambda delivers, and the reply's
// batchItemFailures.
import type { _Record as StreamsRecord, AttributeValue as StreamsAttributeValue } from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';

/** A record as the Streams API returned it, as Lambda delivers it; `region` stands in for DynamoDB Local's "ddblocal". */
export function toLambdaRecord(record: StreamsRecord, arn: string, region: string): DynamoDBRecord {
  const change = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    dynamodb: {
      ...(change.ApproximateCreationDateTime === undefined
        ? {}
        : { ApproximateCreationDateTime: Math.floor(change.ApproximateCreationDateTime.getTime() / 1000) }),
      ...(change.Keys === undefined ? {} : { Keys: toLambdaImage(change.Keys) }),
      ...(change.NewImage === undefined ? {} : { NewImage: toLambdaImage(change.NewImage) }),
      ...(change.OldImage === undefined ? {} : { OldImage: toLambdaImage(change.OldImage) }),
      SequenceNumber: change.SequenceNumber,
      SizeBytes: change.SizeBytes,
      StreamViewType: change.StreamViewType,
    },
    eventSourceARN: arn,
  };
}

/**
 * Lambda's reading of a reply: no batchItemFailures (or an empty list) accepts the batch; otherwise
 * redelivery starts at the earliest failed record; an identifier that is missing or not in the batch
 * fails the whole batch.
 */
export function firstFailedIndex(records: DynamoDBRecord[], payload: unknown): number | undefined {
  const failures = (payload as Partial<DynamoDBBatchResponse> | undefined)?.batchItemFailures;
  if (!Array.isArray(failures) || failures.length === 0) return undefined;
  let first = records.length;
  for (const failure of failures as unknown[]) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const index = typeof id === 'string' ? records.findIndex((record) => record.dynamodb?.SequenceNumber === id) : -1;
    if (index === -1) return 0;
    first = Math.min(first, index);
  }
  return first;
}

function toLambdaImage(image: Record<string, StreamsAttributeValue>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, toLambdaAttributeValue(value)]));
}

/** The SDK's parsed form back to the JSON Lambda receives: binary as base64, the rest as is. */
function toLambdaAttributeValue(value: StreamsAttributeValue): AttributeValue {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((item) => Buffer.from(item).toString('base64')) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaAttributeValue) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  throw new Error('alert-driver: an attribute value of a type this driver does not know');
}
