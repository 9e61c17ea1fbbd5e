// What the local STS/IAM endpoint tells a listener of every request that carried a SigV4 access key:
// the fields CloudTrail would log of it, so the local stack can stand in for CloudTrail
// (local/cloudtrail-bridge.ts).
import type { IncomingMessage } from 'node:http';
import type { ServiceError } from './errors.js';
import { toIsoSeconds } from './identifiers.js';
import type { Session } from './principals.js';
import { singleHeader, type QueryApi } from './query-protocol.js';

/** One request that carried a SigV4 access key, whether it succeeded or not. */
export interface SignedRequestRecord {
  eventTime: string;
  /** The API the request went to, as CloudTrail names it. */
  eventSource: 'sts.amazonaws.com' | 'iam.amazonaws.com';
  eventName: string;
  accessKeyId: string;
  sourceIPAddress: string;
  userAgent: string;
  errorCode?: string;
  errorMessage?: string;
  requestId: string;
  /** The authenticated identity; absent when the signature or key was not accepted. */
  identityArn?: string;
  /**
   * The AssumeRole session whose credentials signed the request: what CloudTrail's `userIdentity`
   * says about it. Only once the signature proved the signer holds the session's secret; absent for
   * the long-term callers (tvm itself).
   */
  session?: SignedRequestSession;
}

export interface SignedRequestSession {
  roleArn: string;
  assumedRoleArn: string;
  /** AROA…:<session name>, CloudTrail's `userIdentity.principalId`. */
  principalId: string;
  sessionName: string;
  sourceIdentity?: string;
  /** When the session was issued (ISO 8601): CloudTrail's `sessionContext.attributes.creationDate`. */
  issuedAt: string;
  accountId: string;
}

/** What is known about a request so far, for the SignedRequestRecord. */
export interface RequestContext {
  requestId: string;
  eventName: string;
  accessKeyId: string | undefined;
  identityArn: string | undefined;
  session: Session | undefined;
}

/** The record of the request, stamped with `now()`; none for a request that named no access key. */
export function signedRequestRecord(
  req: IncomingMessage,
  context: RequestContext,
  queryApi: QueryApi,
  failure: ServiceError | undefined,
  now: () => Date,
): SignedRequestRecord | undefined {
  if (context.accessKeyId === undefined) return undefined;
  const record: SignedRequestRecord = {
    eventTime: toIsoSeconds(now()),
    eventSource: `${queryApi.signingService}.amazonaws.com`,
    eventName: context.eventName,
    accessKeyId: context.accessKeyId,
    sourceIPAddress: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
    userAgent: singleHeader(req, 'user-agent') ?? '',
    requestId: context.requestId,
  };
  if (failure !== undefined) {
    record.errorCode = failure.code;
    record.errorMessage = failure.message;
  }
  if (context.identityArn !== undefined) record.identityArn = context.identityArn;
  if (context.session !== undefined) record.session = sessionOfRecord(context.session);
  return record;
}

function sessionOfRecord(session: Session): SignedRequestSession {
  const view: SignedRequestSession = {
    roleArn: session.roleArn,
    assumedRoleArn: session.assumedRoleArn,
    principalId: session.assumedRoleId,
    sessionName: session.sessionName,
    issuedAt: session.issuedAt.toISOString(),
    accountId: session.accountId,
  };
  if (session.sourceIdentity !== undefined) view.sourceIdentity = session.sourceIdentity;
  return view;
}
