// The two alert sinks: SNS (the exact Publish input, failures thrown) and the local log line with
// its optional webhook (a real HTTP server on this machine, port 0; failures logged, not thrown).
import 'aws-sdk-client-mock-jest';
import { jest } from '@jest/globals';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PublishCommand, SNSClient, SNSServiceException } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { LogAlertSink, type AlertLogger } from '../../shared/adapters/log-alert-sink.js';
import { SnsAlertSink, alertSubject } from '../../shared/adapters/sns-alert-sink.js';
import type { AlertRaisedEvent } from '../../shared/domain/audit.js';
import { ACCESS_KEY_ID } from '../fixtures/alert-events.js';

const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:tvm-dev-alerts';

function anAlert(overrides: Partial<AlertRaisedEvent> = {}): AlertRaisedEvent {
  return {
    id: '2026-06-01T12:10:00.000Z#alert-1',
    type: 'alert.raised',
    at: '2026-06-01T12:10:00.000Z',
    principal: 'alice@example.com',
    requestId: 'lambda-request-1',
    profile: 'dev-readonly',
    accessKeyId: ACCESS_KEY_ID,
    rule: 'use-after-revocation',
    severity: 'critical',
    dedupeKey: `use-after-revocation#${ACCESS_KEY_ID}`,
    summary: `alice@example.com's key ${ACCESS_KEY_ID} was used after its session was cut off`,
    evidence: ['2026-06-01T12:00:00.000Z#revoked-1', '2026-06-01T12:03:00.000Z#use-1'],
    ...overrides,
  };
}

/** What subscribers receive: the alert's fields (it carries nothing secret). */
const NOTIFICATION = {
  id: '2026-06-01T12:10:00.000Z#alert-1',
  type: 'alert.raised',
  at: '2026-06-01T12:10:00.000Z',
  rule: 'use-after-revocation',
  severity: 'critical',
  principal: 'alice@example.com',
  accessKeyId: ACCESS_KEY_ID,
  profile: 'dev-readonly',
  summary: `alice@example.com's key ${ACCESS_KEY_ID} was used after its session was cut off`,
  evidence: ['2026-06-01T12:00:00.000Z#revoked-1', '2026-06-01T12:03:00.000Z#use-1'],
  dedupeKey: `use-after-revocation#${ACCESS_KEY_ID}`,
};

describe('SnsAlertSink', () => {
  const sns = mockClient(SNSClient);
  beforeEach(() => sns.reset());

  it('publishes the alert as JSON with rule and severity as message attributes', async () => {
    // Prepare
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const sink = new SnsAlertSink(new SNSClient({ region: 'eu-west-1' }), { topicArn: TOPIC_ARN, stage: 'dev' });

    // Act
    await sink.publish(anAlert());

    // Assess
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC_ARN,
      Subject: '[tvm dev] critical use-after-revocation: alice@example.com',
      Message: JSON.stringify(NOTIFICATION),
      MessageAttributes: {
        rule: { DataType: 'String', StringValue: 'use-after-revocation' },
        severity: { DataType: 'String', StringValue: 'critical' },
      },
    });
    expect(JSON.parse(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '')).toEqual(NOTIFICATION);
  });

  it('throws what SNS reports, so the alert is not recorded and the platform retries', async () => {
    // Prepare
    const refusal = new SNSServiceException({ name: 'InternalError', $fault: 'server', $metadata: {}, message: 'try again' });
    sns.on(PublishCommand).rejects(refusal);
    const sink = new SnsAlertSink(new SNSClient({ region: 'eu-west-1' }), { topicArn: TOPIC_ARN, stage: 'dev' });

    // Act
    const publishing = sink.publish(anAlert());

    // Assess
    await expect(publishing).rejects.toBe(refusal);
  });

  it('keeps the subject within 100 printable ASCII characters', () => {
    // Prepare
    const alert = anAlert({ principal: `jürgen\u0007${'x'.repeat(200)}@example.com` });

    // Act
    const subject = alertSubject(alert, 'dev');

    // Assess
    expect(subject).toHaveLength(100);
    expect(subject).toMatch(/^\[tvm dev\] critical use-after-revocation: j\?rgen\?x+\.\.\.$/);
  });
});

/** A logger that keeps every line. */
function capturedLogger(): AlertLogger & { lines: { message: string; attributes: Record<string, unknown> }[] } {
  const lines: { message: string; attributes: Record<string, unknown> }[] = [];
  return { lines, warn: (message, attributes) => lines.push({ message, attributes }) };
}

interface Received {
  readonly method?: string;
  readonly url?: string;
  readonly contentType?: string;
  readonly body: unknown;
}

/** A webhook on 127.0.0.1, port 0, answering each request with `respond`. */
async function startWebhook(respond: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(204).end()) {
  const received: Received[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    received.push({ method: req.method, url: req.url, contentType: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
    respond(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    received,
    origin,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('LogAlertSink', () => {
  it('logs one structured line per alert', async () => {
    // Prepare
    const logger = capturedLogger();
    const sink = new LogAlertSink(logger);

    // Act
    await sink.publish(anAlert());

    // Assess
    expect(logger.lines).toEqual([{ message: 'tvm alert', attributes: { alert: NOTIFICATION } }]);
  });

  it('also POSTs the alert as JSON to the webhook', async () => {
    // Prepare
    const webhook = await startWebhook();
    const logger = capturedLogger();
    const sink = new LogAlertSink(logger, { webhookUrl: `${webhook.origin}/hooks/alerts` });

    try {
      // Act
      await sink.publish(anAlert());

      // Assess
      expect(webhook.received).toEqual([{ method: 'POST', url: '/hooks/alerts', contentType: 'application/json', body: NOTIFICATION }]);
      expect(logger.lines).toHaveLength(1);
    } finally {
      await webhook.close();
    }
  });

  it('logs a webhook that answers with an error, naming only its origin, and does not throw', async () => {
    // Prepare: webhook URLs often carry their secret in the path.
    const webhook = await startWebhook((_req, res) => res.writeHead(500).end('boom'));
    const logger = capturedLogger();
    const sink = new LogAlertSink(logger, { webhookUrl: `${webhook.origin}/services/T000/B000/s3cr3t-token` });

    try {
      // Act
      await sink.publish(anAlert());

      // Assess
      expect(logger.lines[1]).toEqual({
        message: 'alert webhook refused the notification',
        attributes: { webhook: webhook.origin, status: 500, alertId: NOTIFICATION.id },
      });
      expect(JSON.stringify(logger.lines)).not.toContain('s3cr3t-token');
    } finally {
      await webhook.close();
    }
  });

  it('gives up on a webhook that does not answer within the timeout, and does not throw', async () => {
    // Prepare: the server reads the request and never responds.
    const webhook = await startWebhook(() => undefined);
    const logger = capturedLogger();
    const sink = new LogAlertSink(logger, { webhookUrl: `${webhook.origin}/hook`, webhookTimeoutMs: 200 });
    // The deadline the POST asks for; one left without it would hang past jest's timeout.
    const deadlines = jest.spyOn(AbortSignal, 'timeout');

    try {
      // Act
      await sink.publish(anAlert());

      // Assess
      expect(deadlines.mock.calls).toEqual([[200]]);
      expect(logger.lines[1]).toEqual({
        message: 'alert webhook failed',
        attributes: { webhook: webhook.origin, reason: expect.stringMatching(/TimeoutError/), alertId: NOTIFICATION.id },
      });
    } finally {
      deadlines.mockRestore();
      await webhook.close();
    }
  });

  it('logs a webhook nobody listens on, and does not throw', async () => {
    // Prepare: a port that was just free.
    const webhook = await startWebhook();
    await webhook.close();
    const logger = capturedLogger();
    const sink = new LogAlertSink(logger, { webhookUrl: `${webhook.origin}/hook` });

    // Act
    await sink.publish(anAlert());

    // Assess
    expect(logger.lines.map((line) => line.message)).toEqual(['tvm alert', 'alert webhook failed']);
  });
});
