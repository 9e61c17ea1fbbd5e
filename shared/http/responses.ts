import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** A text response (an export), never cached either. */
export function text(status: number, body: string, requestId: string, headers: Readonly<Record<string, string>>): APIGatewayProxyStructuredResultV2 {
  return { statusCode: status, headers: { ...headers, 'cache-control': 'no-store', 'x-request-id': requestId }, body };
}

/** A JSON response. Nothing tvm returns may be cached: some of it is credentials. */
export function json(
  status: number,
  body: unknown,
  requestId: string,
  extraHeaders: Readonly<Record<string, string>> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: {
      ...extraHeaders,
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'x-request-id': requestId,
    },
    body: JSON.stringify(body),
  };
}
