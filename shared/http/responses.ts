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

/**
 * `body` as JSON with its entity tag, or `304 Not Modified` (no body) when the caller's
 * If-None-Match names that tag already (RFC 9110 13.1.2: weak comparison, a list, or `*`).
 */
export function notModifiedOr(
  body: unknown,
  etag: string,
  ifNoneMatch: string | undefined,
  requestId: string,
): APIGatewayProxyStructuredResultV2 {
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  const known = ifNoneMatch?.split(',').map(opaque) ?? [];
  if (known.includes('*') || known.includes(opaque(etag))) {
    return { statusCode: 304, headers: { etag, 'cache-control': 'no-store', 'x-request-id': requestId } };
  }
  return json(200, body, requestId, { etag });
}
