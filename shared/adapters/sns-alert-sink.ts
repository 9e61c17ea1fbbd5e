import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { alertNotification } from '../domain/alert-rules.js';
import type { AlertRaisedEvent } from '../domain/audit.js';
import type { AlertSink } from '../domain/ports.js';

export interface SnsAlertSinkOptions {
  readonly topicArn: string;
  /** Named in the subject, so one inbox can tell the stages apart. */
  readonly stage: string;
}

/** SNS refuses a Subject over 100 characters, or with anything but printable ASCII. */
const MAX_SUBJECT_LENGTH = 100;

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
  const subject = `[tvm ${stage}] ${alert.severity} ${alert.rule}: ${alert.principal}`.replace(/[^\x20-\x7e]/g, '?');
  return subject.length <= MAX_SUBJECT_LENGTH ? subject : `${subject.slice(0, MAX_SUBJECT_LENGTH - 3)}...`;
}
