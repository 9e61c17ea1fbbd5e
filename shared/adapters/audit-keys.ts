// Key construction for the audit table, in one place (see resources/tables.yml).
import type { AuditEvent } from '../domain/audit.js';

export const BY_TIME_INDEX = 'byTime';
export const BY_ACCESS_KEY_INDEX = 'byAccessKey';
export const BY_PROFILE_INDEX = 'byProfile';

export const principalPk = (principal: string) => `PRINCIPAL#${principal}`;
export const timePk = (day: string, shard: number) => `TIME#${day}#${shard}`;

/** A stable shard for an event id, so the same event always lands in the same time partition. */
export function shardOf(eventId: string, shards: number): number {
  let hash = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < eventId.length; i++) {
    hash ^= eventId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

export function auditItem(event: AuditEvent, shards: number): Record<string, unknown> {
  const accessKeyId = 'accessKeyId' in event ? event.accessKeyId : undefined;
  return {
    ...event,
    PK: principalPk(event.principal),
    SK: event.id,
    ...(accessKeyId ? { GSI1PK: `KEY#${accessKeyId}` } : {}),
    ...(event.profile ? { GSI2PK: `PROFILE#${event.profile}` } : {}),
    GSI3PK: timePk(event.at.slice(0, 10), shardOf(event.id, shards)),
  };
}

export function toAuditEvent(item: Record<string, unknown>): AuditEvent {
  const { PK: _pk, SK: _sk, GSI1PK: _g1, GSI2PK: _g2, GSI3PK: _g3, ...event } = item;
  return event as unknown as AuditEvent;
}

/** The condition that makes every audit write an append: it never replaces an existing event. */
export const APPEND_ONLY_CONDITION = 'attribute_not_exists(PK)';
