// Where access requests' notices go: the requests topic (the exact Publish input, failures thrown)
// and the local log line with its optional webhook (a real HTTP server on this machine, port 0).
import 'aws-sdk-client-mock-jest';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { LogRequestNotifier, SnsRequestNotifier, requestMessage } from '../../shared/adapters/request-notifiers.js';
import type { PublicRequest } from '../../shared/domain/model.js';
import type { RequestNotice } from '../../shared/domain/ports.js';

const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:tvm-dev-requests';

const REQUEST: PublicRequest = {
  id: 'request-0001',
  profile: 'prod-read',
  roleArn: 'arn:aws:iam::123456789012:role/tvm-prod-read',
  requester: 'alice@example.com',
  durationSeconds: 7200,
  reason: 'INC-4711',
  status: 'pending',
  approvals: [],
  approvalsRequired: 2,
  approverGroups: ['prod-approvers'],
  createdAt: '2026-12-05T10:00:00.000Z',
  expiresAt: '2026-12-06T10:00:00.000Z',
  history: [{ action: 'created', by: 'alice@example.com', at: '2026-12-05T10:00:00.000Z', comment: 'INC-4711' }],
  version: 1,
};

const NOTICE: RequestNotice = { type: 'request.created', request: REQUEST, by: 'alice@example.com', link: 'https://d1.cloudfront.net/console/requests/request-0001' };

describe('SnsRequestNotifier', () => {
  const sns = mockClient(SNSClient);
  beforeEach(() => sns.reset());

  it('publishes the notice as JSON, with a printable subject and type and profile as attributes for filter policies', async () => {
    // Prepare
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const notifier = new SnsRequestNotifier(new SNSClient({ region: 'eu-west-1' }), { topicArn: TOPIC_ARN, stage: 'prod' });

    // Act
    await notifier.notify({ ...NOTICE, request: { ...REQUEST, requester: 'ålice@example.com' } });

    // Assess
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC_ARN,
      Subject: '[tvm prod] request.created prod-read: ?lice@example.com',
      MessageAttributes: {
        type: { DataType: 'String', StringValue: 'request.created' },
        profile: { DataType: 'String', StringValue: 'prod-read' },
      },
    });
    const message = JSON.parse(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '') as ReturnType<typeof requestMessage>;
    expect(message).toMatchObject({ type: 'request.created', link: NOTICE.link, request: { id: 'request-0001', reason: 'INC-4711', approvalsRequired: 2 } });
  });

  it('throws what SNS reports (the use case logs it; the step stands)', async () => {
    // Prepare
    sns.on(PublishCommand).rejects(new Error('throttled'));
    const notifier = new SnsRequestNotifier(new SNSClient({ region: 'eu-west-1' }), { topicArn: TOPIC_ARN, stage: 'prod' });

    // Act, Assess
    await expect(notifier.notify(NOTICE)).rejects.toThrow('throttled');
  });
});

describe('LogRequestNotifier', () => {
  it('logs the notice and POSTs it to the webhook, logging only the webhook’s origin when it refuses', async () => {
    // Prepare
    const received: unknown[] = [];
    const server: Server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(received.length === 1 ? 204 : 500).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/secret-token`;
    const lines: { level: string; message: string; attributes: Record<string, unknown> }[] = [];
    const logger = {
      info: (message: string, attributes: Record<string, unknown>) => lines.push({ level: 'info', message, attributes }),
      warn: (message: string, attributes: Record<string, unknown>) => lines.push({ level: 'warn', message, attributes }),
    };
    const notifier = new LogRequestNotifier(logger, { webhookUrl: url });

    try {
      // Act
      await notifier.notify(NOTICE);
      await notifier.notify(NOTICE);

      // Assess
      expect(received).toEqual([requestMessage(NOTICE), requestMessage(NOTICE)]);
      expect(lines.map((line) => `${line.level} ${line.message}`)).toEqual(['info tvm request', 'info tvm request', 'warn request webhook refused the notification']);
      expect(JSON.stringify(lines)).not.toContain('secret-token');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
