import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { alertNotification } from '../domain/alert-rules.js';
import type { AlertRaisedEvent } from '../domain/audit.js';
import type { AlertSink } from '../domain/ports.js';
import { snsSubject } from './sns-subject.js';

export interface SnsAlertSinkOptions {
  readonly topicArn: string;
  /** Named in the subject, so one inbox can tell the stages apart. */
  readonly stage: string;
}

/**
 * Publishes each alert to the alerts topic as JSON, with `rule` and `severity` as message
 * attributes (for subscription filter policies). A failure is thrown as the SDK reports it: the
 * alert is not recorded then, and the platform retries.
 */
export class SnsAlertSink implements AlertSink {
  constructor(
    private readonly client: SNSClient,
    private readonly options: SnsAlertSinkOptions,
  ) {}

  async publish(alert: AlertRaisedEvent): Promise<void> {
    await this.client.send(
      new PublishCommand({
        TopicArn: this.options.topicArn,
        Subject: alertSubject(alert, this.options.stage),
        Message: JSON.stringify(alertNotification(alert)),
        MessageAttributes: {
          rule: { DataType: 'String', StringValue: alert.rule },
          severity: { DataType: 'String', StringValue: alert.severity },
        },
      }),
    );
  }
}

/** `[tvm <stage>] <severity> <rule>: <principal>`, in printable ASCII, cut to SNS's limit. */
export function alertSubject(alert: AlertRaisedEvent, stage: string): string {
  return snsSubject(`[tvm ${stage}] ${alert.severity} ${alert.rule}: ${alert.principal}`);
}
