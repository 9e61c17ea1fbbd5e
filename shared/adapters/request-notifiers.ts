// Where access requests' notices go: the requests topic in AWS (subscribe approvers' email or chat
// to it), the log and an optional webhook on the local stack.
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { RequestNotice, RequestNotifier } from '../domain/ports.js';
import { snsSubject } from './sns-subject.js';
import { postToWebhook } from './webhook.js';

/** What a subscriber receives: the step, the request and where to decide it. Nothing secret is in a request. */
export function requestMessage(notice: RequestNotice) {
  const { request } = notice;
  return {
    type: notice.type,
    by: notice.by,
    link: notice.link,
    request: {
      id: request.id,
      profile: request.profile,
      requester: request.requester,
      status: request.status,
      durationSeconds: request.durationSeconds,
      ...(request.reason !== undefined ? { reason: request.reason } : {}),
      approvals: request.approvals.map((approval) => approval.by),
      approvalsRequired: request.approvalsRequired,
      approverGroups: request.approverGroups,
      expiresAt: request.expiresAt,
      ...(request.grantId !== undefined ? { grantId: request.grantId, grantValidFrom: request.grantValidFrom, grantValidUntil: request.grantValidUntil } : {}),
    },
  };
}

/** `[tvm <stage>] <type> <profile>: <requester>`, as SNS takes a subject. */
export function requestSubject(notice: RequestNotice, stage: string): string {
  return snsSubject(`[tvm ${stage}] ${notice.type} ${notice.request.profile}: ${notice.request.requester}`);
}

/** Each notice as JSON, with `type` and `profile` as message attributes (for subscription filter policies). */
export class SnsRequestNotifier implements RequestNotifier {
  constructor(
    private readonly client: SNSClient,
    private readonly options: { readonly topicArn: string; readonly stage: string },
  ) {}

  async notify(notice: RequestNotice): Promise<void> {
    await this.client.send(
      new PublishCommand({
        TopicArn: this.options.topicArn,
        Subject: requestSubject(notice, this.options.stage),
        Message: JSON.stringify(requestMessage(notice)),
        MessageAttributes: {
          type: { DataType: 'String', StringValue: notice.type },
          profile: { DataType: 'String', StringValue: notice.request.profile },
        },
      }),
    );
  }
}

export interface NoticeLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
}

/** The log line is the delivery; the webhook is a convenience on top (failures are logged, not thrown). */
export class LogRequestNotifier implements RequestNotifier {
  constructor(
    private readonly logger: NoticeLogger,
    private readonly options: { readonly webhookUrl?: string; readonly timeoutMs?: number } = {},
  ) {}

  async notify(notice: RequestNotice): Promise<void> {
    const message = requestMessage(notice);
    this.logger.info('tvm request', { notice: message });
    const url = this.options.webhookUrl;
    if (url) await postToWebhook(url, message, { timeoutMs: this.options.timeoutMs ?? 2_000, logger: this.logger, what: 'request', context: { accessRequestId: notice.request.id } });
  }
}
