// Audit events out of the audit table's stream (NEW_IMAGE). The table also holds items that are
// not events (chain heads, once-keys); only `PRINCIPAL#` (legacy) and `LINK#` (chain-keyed) items are events.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { AUDIT_EVENT_TYPES, type AuditEvent } from '../domain/audit.js';
import { isIntactEventItem, toAuditEvent } from './audit-keys.js';

export type DecodedStreamRecord =
  | { readonly event: AuditEvent }
  /**
   * `malformed`: an event item that cannot be read (no retry will change that). `not-intact`: an
   * event item tvm's writer did not write as it stands (put behind its back: see isIntactEventItem);
   * acting on it would let a forged use raise alerts about whoever it names. `verify` reports it.
   */
  | { readonly skipped: 'not-an-insert' | 'not-an-event' | 'malformed' | 'not-intact' };

export function decodeAuditStreamRecord(record: DynamoDBRecord): DecodedStreamRecord {
  const image = record.dynamodb?.NewImage;
  if (record.eventName !== 'INSERT' || image === undefined) return { skipped: 'not-an-insert' };
  const pk = image.PK?.S;
  if (pk === undefined || !(pk.startsWith('PRINCIPAL#') || pk.startsWith('LINK#'))) return { skipped: 'not-an-event' };
  let item: Record<string, unknown>;
  try {
    // aws-lambda's and the SDK's AttributeValue describe the same wire format.
    item = unmarshall(image as Record<string, AttributeValue>);
  } catch {
    return { skipped: 'malformed' };
  }
  const known = (AUDIT_EVENT_TYPES as readonly unknown[]).includes(item.type);
  if (!known || typeof item.id !== 'string' || typeof item.at !== 'string' || typeof item.principal !== 'string') {
    return { skipped: 'malformed' };
  }
  if (!isIntactEventItem(item)) return { skipped: 'not-intact' };
  return { event: toAuditEvent(item) };
}
