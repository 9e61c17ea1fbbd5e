// POSTing a notification to a webhook, for the local stack's sinks: best effort, bounded in time,
// never following a redirect, and logging only the hook's origin (its URL often embeds a secret).

export interface WebhookLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

/** POSTs `payload` as JSON; a refusal or failure is logged under `what` (with `context`), never thrown. */
export async function postToWebhook(
  url: string,
  payload: unknown,
  options: { readonly timeoutMs: number; readonly logger: WebhookLogger; readonly what: string; readonly context: Record<string, unknown> },
): Promise<void> {
  const webhook = new URL(url).origin;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(options.timeoutMs),
      redirect: 'error',
    });
    // Drain it, so the connection is released.
    await response.arrayBuffer();
    if (!response.ok) options.logger.warn(`${options.what} webhook refused the notification`, { webhook, status: response.status, ...options.context });
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    options.logger.warn(`${options.what} webhook failed`, { webhook, reason, ...options.context });
  }
}
