import { alertNotification } from '../domain/alert-rules.js';
import type { AlertRaisedEvent } from '../domain/audit.js';
import type { AlertSink } from '../domain/ports.js';
import { postToWebhook } from './webhook.js';

/** The part of the logger the sink uses (the powertools Logger fits). */
export interface AlertLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface LogAlertSinkOptions {
  /** Also POST each alert here as JSON. */
  readonly webhookUrl?: string;
  /** How long one POST may take, connection included. */
  readonly webhookTimeoutMs?: number;
}

const DEFAULT_WEBHOOK_TIMEOUT_MS = 2_000;

/**
 * Where alerts go without an SNS topic (the local stack): one structured log line per alert, and
 * optionally a webhook.
 *
 * The log line is the delivery; the webhook is a convenience on top of it, so a webhook that is
 * down, slow or answers non-2xx is logged, not thrown. Throwing would make the platform retry the
 * whole evaluation and log every alert again, and a dead local hook would stall the stream, while
 * the alert is already in the log and (right after) in the audit trail, where GET /alerts serves it.
 */
export class LogAlertSink implements AlertSink {
  private readonly timeoutMs: number;

  constructor(
    private readonly logger: AlertLogger,
    private readonly options: LogAlertSinkOptions = {},
  ) {
    this.timeoutMs = options.webhookTimeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  }

  async publish(alert: AlertRaisedEvent): Promise<void> {
    const notification = alertNotification(alert);
    this.logger.warn('tvm alert', { alert: notification });
    if (this.options.webhookUrl) {
      await postToWebhook(this.options.webhookUrl, notification, { timeoutMs: this.timeoutMs, logger: this.logger, what: 'alert', context: { alertId: notification.id } });
    }
  }
}
