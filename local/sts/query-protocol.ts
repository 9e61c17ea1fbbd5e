// The AWS Query protocol as @aws-sdk/client-sts and @aws-sdk/client-iam speak it to the local
// endpoint: parameters in the query or a form-encoded POST body, lists as `Name.member.N`, answers
// and errors as XML in the API's namespace.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stsErrors, type ServiceError } from './errors.js';

/** One of the two Query APIs the endpoint serves. */
export interface QueryApi {
  /** The service in the SigV4 credential scope. */
  signingService: 'sts' | 'iam';
  version: string;
  namespace: string;
}
export const STS_API: QueryApi = { signingService: 'sts', version: '2011-06-15', namespace: 'https://sts.amazonaws.com/doc/2011-06-15/' };
export const IAM_API: QueryApi = { signingService: 'iam', version: '2010-05-08', namespace: 'https://iam.amazonaws.com/doc/2010-05-08/' };

const MAX_BODY_BYTES = 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    // Keep draining past the limit so the client gets the error rather than a reset connection.
    if (size <= MAX_BODY_BYTES) chunks.push(buffer);
  }
  if (size > MAX_BODY_BYTES) throw stsErrors.requestTooLarge();
  return Buffer.concat(chunks);
}

/** Query parameters, overlaid by a form-encoded body (the SDK's POST). */
export function readParams(req: IncomingMessage, url: URL, body: Buffer): URLSearchParams {
  const params = new URLSearchParams(url.search);
  const contentType = singleHeader(req, 'content-type') ?? '';
  if (req.method === 'POST' && contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    for (const [key, value] of new URLSearchParams(body.toString('utf8'))) params.set(key, value);
  }
  return params;
}

/**
 * Query-protocol lists: `Name.member.N` (scalars, field '') or `Name.member.N.Field` (structures),
 * returned in index order.
 */
export function readMemberList(params: URLSearchParams, name: string): Map<string, string>[] {
  const members = new Map<number, Map<string, string>>();
  const prefix = `${name}.member.`;
  for (const [key, value] of params) {
    if (!key.startsWith(prefix)) continue;
    const match = /^(\d+)(?:\.(.+))?$/.exec(key.slice(prefix.length));
    if (match === null) continue;
    const index = Number(match[1]);
    const fields = members.get(index) ?? new Map<string, string>();
    fields.set(match[2] ?? '', value);
    members.set(index, fields);
  }
  return [...members.entries()].sort(([a], [b]) => a - b).map(([, fields]) => fields);
}

export function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export function sendXml(res: ServerResponse, status: number, xml: string, requestId: string, serverTime: Date): void {
  res.writeHead(status, {
    'content-type': 'text/xml',
    'content-length': Buffer.byteLength(xml),
    'x-amzn-requestid': requestId,
    date: serverTime.toUTCString(),
  });
  res.end(xml);
}

export function errorDocument(queryApi: QueryApi, error: ServiceError, requestId: string): string {
  return xmlDocument(queryApi, 'ErrorResponse', [
    xmlElement('Error', [
      xmlText('Type', error.status >= 500 ? 'Receiver' : 'Sender'),
      xmlText('Code', error.code),
      xmlText('Message', error.message),
    ]),
    xmlText('RequestId', requestId),
  ]);
}

export function responseMetadata(requestId: string): string {
  return xmlElement('ResponseMetadata', [xmlText('RequestId', requestId)]);
}

export function xmlDocument(queryApi: QueryApi, root: string, children: string[]): string {
  return `<${root} xmlns="${queryApi.namespace}">\n${children.filter((child) => child !== '').join('\n')}\n</${root}>\n`;
}

export function xmlElement(name: string, children: string[]): string {
  return `<${name}>${children.filter((child) => child !== '').join('')}</${name}>`;
}

export function xmlText(name: string, value: string): string {
  return `<${name}>${escapeXml(value)}</${name}>`;
}

/** Escapes a value for a text node (the only place values go, so quotes need no escaping). */
function escapeXml(value: string): string {
  return value
    .replace(XML_FORBIDDEN_CHARS, '\uFFFD')
    .replace(/[&<>\r]/g, (char) => XML_ESCAPES[char] ?? char);
}

// Characters XML 1.0 cannot carry even as references; error messages echo raw input, so they can occur.
const XML_FORBIDDEN_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const XML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  // A raw CR would be normalised away by the client's XML parser.
  '\r': '&#13;',
};
