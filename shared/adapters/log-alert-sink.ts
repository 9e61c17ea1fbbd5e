import { alertNotification } from '../domain/alert-rules.js';
import type { AlertRaisedEvent } from '../domain/audit.js';
import type { AlertSink } from '../domain/ports.js';

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
    if (this.options.webhookUrl) await this.post(this.options.webhookUrl, notification);
  }

  private async post(url: string, notification: ReturnType<typeof alertNotification>): Promise<void> {
    // A webhook URL often embeds its secret (Slack, Teams): only its origin is ever logged.
    const webhook = new URL(url).origin;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(notification),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
      // Drain it, so the connection is released.
      await response.arrayBuffer();
      if (!response.ok) {
        this.logger.warn('alert webhook refused the alert', { webhook, status: response.status, alertId: notification.id });
      }
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.logger.warn('alert webhook failed', { webhook, reason, alertId: notification.id });
    }
  }
}
