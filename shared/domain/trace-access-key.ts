// "Where did it start": everything tvm knows about one access key, in the order it happened.
import { definedFields, type AlertRaisedEvent, type AuditEvent, type CredentialIssuedEvent, type CredentialUsedEvent } from './audit.js';
import { NotFoundError } from './errors.js';
import type { AuditLog, DelegationStore } from './ports.js';

const KEY_USE_FIELDS = [
  'cloudTrailEventId',
  'eventTime',
  'eventName',
  'eventSource',
  'awsRegion',
  'sourceIPAddress',
  'userAgent',
  'errorCode',
  'errorMessage',
] as const satisfies readonly (keyof CredentialUsedEvent)[];

/** One call made with the key, as CloudTrail recorded it; `id` is its `credential.used` audit event's. */
export type KeyUse = Pick<CredentialUsedEvent, 'id' | (typeof KEY_USE_FIELDS)[number]>;

/**
 * Something that ended the key's authority. Both kinds share `kind`, `at`, `by` and `reason`;
 * `session` names its `session.revoked` audit event, `grant` the grant the key was issued under.
 */
export type KeyRevocation =
  | {
      readonly kind: 'session';
      readonly at: string;
      readonly by: string;
      /** The cut-off's cause, e.g. `lockdown` or `engagement-handed-over`. */
      readonly reason: string;
      readonly eventId: string;
    }
  | {
      readonly kind: 'grant';
      /** From the grant record; null only if it lacks them (tvm always writes both). */
      readonly at: string | null;
      readonly by: string | null;
      /** The grant's revokedReason, `revoked` for a plain DELETE /grants/{id}. */
      readonly reason: string;
      readonly grantId: string;
    };

/** The most uses a trace lists: the newest ones (the rest are a page away, see KeyTrace.olderUsesCursor). */
export const MAX_TRACED_USES = 1_000;

export interface KeyTrace {
  readonly accessKeyId: string;
  /** null for a session tvm did not issue (its uses carry `issuance: null` too). */
  readonly issuance: CredentialIssuedEvent | null;
  /** The newest MAX_TRACED_USES calls made with the key, oldest first. */
  readonly uses: KeyUse[];
  /** True when older uses were left out of `uses`. */
  readonly usesTruncated: boolean;
  /**
   * When truncated: the cursor of GET /audit/events?accessKeyId=<key>&type=credential.used that
   * continues with the older uses, newest first.
   */
  readonly olderUsesCursor?: string;
  readonly revocations: KeyRevocation[];
  readonly alerts: AlertRaisedEvent[];
}

/**
 * GET /audit/keys/{accessKeyId}:
 * 1. Read, at once, everything recorded about the key but its uses (all of it: a handful of
 *    events) and its newest MAX_TRACED_USES uses; 404 when there is nothing.
 * 2. Split the key's record into the issuance, the sessions cut off and the alerts.
 * 3. Add the revocation of the grant the key was issued under, which is recorded on the grant,
 *    not under the key.
 * Each list is oldest first.
 */
export async function traceAccessKey(
  deps: { readonly audit: Pick<AuditLog, 'controlEventsForKey' | 'usesOfKey'>; readonly store: Pick<DelegationStore, 'getGrant'> },
  accessKeyId: string,
): Promise<KeyTrace> {
  const [events, newestUses] = await Promise.all([
    deps.audit.controlEventsForKey(accessKeyId),
    deps.audit.usesOfKey({ accessKeyId, limit: MAX_TRACED_USES }),
  ]);
  if (events.length === 0 && newestUses.uses.length === 0) throw new NotFoundError(`nothing is recorded for access key ${accessKeyId}`);

  const issuance = events.find((event): event is CredentialIssuedEvent => event.type === 'credential.issued') ?? null;
  const uses = newestUses.uses
    .map(toKeyUse)
    // By when the call was made, whatever order the ids (and their precision) give.
    .sort((a, b) => Date.parse(a.eventTime) - Date.parse(b.eventTime));
  const grant = issuance ? await deps.store.getGrant(issuance.grantId) : undefined;
  const revocations: KeyRevocation[] = events.flatMap((event) => (event.type === 'session.revoked' ? [sessionRevocation(event)] : []));
  if (grant?.status === 'revoked') {
    revocations.push({
      kind: 'grant',
      at: grant.revokedAt ?? null,
      by: grant.revokedBy ?? null,
      reason: grant.revokedReason ?? 'revoked',
      grantId: grant.id,
    });
  }
  // An undated revocation goes last: it is shown, never dropped.
  revocations.sort((a, b) => compare(a.at ?? '\uffff', b.at ?? '\uffff'));
  const alerts = events.filter((event): event is AlertRaisedEvent => event.type === 'alert.raised');

  const older = newestUses.nextCursor;
  const truncated = older === undefined ? { usesTruncated: false } : { usesTruncated: true, olderUsesCursor: older };
  return { accessKeyId, issuance, uses, ...truncated, revocations, alerts };
}

function toKeyUse(event: CredentialUsedEvent): KeyUse {
  return { id: event.id, ...definedFields(event, KEY_USE_FIELDS) };
}

function sessionRevocation(event: AuditEvent): KeyRevocation {
  const detail = 'detail' in event ? event.detail : undefined;
  const cause = detail?.cause;
  return {
    kind: 'session',
    at: event.at,
    by: event.principal,
    reason: typeof cause === 'string' ? cause : 'revoked',
    eventId: event.id,
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
