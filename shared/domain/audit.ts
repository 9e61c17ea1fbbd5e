// Audit events: the append-only record of everything tvm decided. Secrets never appear here:
// an issuance is identified by its access key id, which is public in every CloudTrail record.
import type { Principal, RequestMeta } from './model.js';

export type AuditEventType =
  | 'credential.issued'
  | 'credential.denied'
  | 'profile.put'
  | 'profile.deleted'
  | 'grant.created'
  | 'grant.revoked'
  | 'engagement.created'
  | 'handover.completed'
  | 'lockdown.activated'
  | 'lockdown.lifted'
  | 'session.revoked';

interface AuditEventBase {
  /** Sortable unique id: `<ISO time>#<random>`. */
  readonly id: string;
  readonly type: AuditEventType;
  readonly at: string;
  /** The principal who acted (the caller). */
  readonly principal: string;
  readonly requestId: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
  readonly profile?: string;
}

export interface CredentialIssuedEvent extends AuditEventBase {
  readonly type: 'credential.issued';
  readonly profile: string;
  readonly roleArn: string;
  readonly grantId: string;
  readonly accessKeyId: string;
  readonly expiration: string;
  readonly sessionName: string;
  readonly sourceIdentity: string;
  readonly assumedRoleArn: string;
  readonly durationSeconds: number;
  /** sha256 of the minified session policy, or undefined when the role's own policy applies. */
  readonly policyHash?: string;
  /** The caller's groups from its token (who a lockdown's group allow list covered). */
  readonly groups?: readonly string[];
  readonly reason?: string;
}

export interface CredentialDeniedEvent extends AuditEventBase {
  readonly type: 'credential.denied';
  readonly profile: string;
  readonly code: string;
  readonly message: string;
  readonly grantId?: string;
  readonly reason?: string;
}

export interface AdminAuditEvent extends AuditEventBase {
  readonly type: Exclude<AuditEventType, 'credential.issued' | 'credential.denied'>;
  readonly grantId?: string;
  /** The changed record, without anything secret. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export type AuditEvent = CredentialIssuedEvent | CredentialDeniedEvent | AdminAuditEvent;

/** Ids sort by time, so a partition's events read newest first with a reverse Query. */
export function newAuditEventId(at: Date, unique: string): string {
  return `${at.toISOString()}#${unique}`;
}

/** The fields every event shares: when, who, and the request it came from. */
export function eventBase(at: Date, unique: string, principal: Principal, meta: RequestMeta) {
  return {
    id: newAuditEventId(at, unique),
    at: at.toISOString(),
    principal: principal.id,
    requestId: meta.requestId,
    ...(meta.sourceIp ? { sourceIp: meta.sourceIp } : {}),
    ...(meta.userAgent ? { userAgent: meta.userAgent.slice(0, 512) } : {}),
  };
}

export function adminEvent(
  at: Date,
  unique: string,
  type: AdminAuditEvent['type'],
  principal: Principal,
  meta: RequestMeta,
  change: { readonly profile: string; readonly grantId?: string; readonly detail?: Record<string, unknown> },
): AdminAuditEvent {
  return { ...eventBase(at, unique, principal, meta), type, ...change };
}
