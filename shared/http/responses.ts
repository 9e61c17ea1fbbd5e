import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

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
