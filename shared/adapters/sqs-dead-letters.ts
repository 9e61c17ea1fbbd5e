// The dead-letter queue as a port: where a function puts what it gives up on itself (rather than
// letting the platform retry in vain), in the form Lambda's own failure records have, so one redrive
// (ops/redrive.ts) reads both.
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { DeadLetters } from '../domain/ports.js';


export class SqsDeadLetters implements DeadLetters {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async put(event: unknown, rejection: { readonly functionArn: string; readonly condition: string; readonly reason: string }): Promise<void> {
    const { functionArn, condition, reason } = rejection;
    const record = { version: '1.0', timestamp: new Date().toISOString(), requestContext: { functionArn, condition }, requestPayload: event, reason };
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(record) }));
  }
}

/** The local stack has no queue: what would be dead-lettered is logged. */
export class LogDeadLetters implements DeadLetters {
  constructor(private readonly logger: Pick<Logger, 'error'>) {}

  async put(_event: unknown, rejection: { readonly functionArn: string; readonly condition: string; readonly reason: string }): Promise<void> {
    this.logger.error('dead-lettered (the local stack has no queue: logged only)', { ...rejection });
  }
}
