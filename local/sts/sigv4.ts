// SigV4 for the local STS/IAM endpoint: every request must carry a signature, and it is verified by
// recomputing it with @smithy/signature-v4 (the SDK's own signer) and the secret held for the key,
// with AWS's error codes and wording for what is missing, malformed, out of scope or out of time.
// Only the Authorization header is accepted: no query-string (presigned) signatures.
import { createHash, createHmac } from 'node:crypto';
import type { Hash, Hmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { stsErrors } from './errors.js';
import { equalHex, toAmzDate } from './identifiers.js';
import { singleHeader } from './query-protocol.js';

const SIGNING_ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export interface ParsedAuthorization {
  credential: { accessKeyId: string; date: string; region: string; service: string; terminator: string };
  signedHeaders: string[];
  signature: string;
}

/** The request's X-Amz-Date, as sent and as a time. */
export interface SigningDate {
  amzDate: string;
  date: Date;
}

/** The Authorization header, parsed; MissingAuthenticationToken or IncompleteSignature without one. */
export function readAuthorization(req: IncomingMessage, url: URL): ParsedAuthorization {
  const header = req.headers.authorization;
  if (header === undefined) {
    if (url.searchParams.has('X-Amz-Signature') || url.searchParams.has('X-Amz-Credential')) {
      throw stsErrors.incompleteSignature('The local STS endpoint does not accept query-string (presigned) signatures.');
    }
    throw stsErrors.missingAuthenticationToken();
  }
  return parseAuthorization(header);
}

export function readSigningDate(req: IncomingMessage): SigningDate {
  const amzDate = singleHeader(req, 'x-amz-date');
  if (amzDate === undefined) {
    throw stsErrors.incompleteSignature(
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  }
  return { amzDate, date: parseAmzDate(amzDate) };
}

/**
 * Checks the credential scope (date, service, terminator), the 15-minute window around `serverTime`,
 * the declared payload hash and finally the signature itself; SignatureDoesNotMatch for the first
 * that fails.
 */
export async function verifySignature(input: {
  req: IncomingMessage;
  url: URL;
  body: Buffer;
  authorization: ParsedAuthorization;
  signingDate: SigningDate;
  service: string;
  secretAccessKey: string;
  serverTime: Date;
}): Promise<void> {
  const { req, authorization, serverTime } = input;
  const { credential } = authorization;
  const { amzDate } = input.signingDate;
  if (credential.date !== amzDate.slice(0, 8)) {
    throw stsErrors.signatureDoesNotMatch(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${credential.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    );
  }
  if (credential.service !== input.service) {
    throw stsErrors.signatureDoesNotMatch(`Credential should be scoped to correct service: '${input.service}'. `);
  }
  if (credential.terminator !== 'aws4_request') {
    throw stsErrors.signatureDoesNotMatch(
      `Credential should be scoped with a valid terminator: 'aws4_request', not '${credential.terminator}'. `,
    );
  }
  if (input.signingDate.date.getTime() < serverTime.getTime() - MAX_CLOCK_SKEW_MS) {
    throw stsErrors.signatureDoesNotMatch(
      `Signature expired: ${amzDate} is now earlier than ${toAmzDate(new Date(serverTime.getTime() - MAX_CLOCK_SKEW_MS))} (${toAmzDate(serverTime)} - 15 min.)`,
    );
  }
  if (input.signingDate.date.getTime() > serverTime.getTime() + MAX_CLOCK_SKEW_MS) {
    throw stsErrors.signatureDoesNotMatch(
      `Signature not yet current: ${amzDate} is still later than ${toAmzDate(new Date(serverTime.getTime() + MAX_CLOCK_SKEW_MS))} (${toAmzDate(serverTime)} + 15 min.)`,
    );
  }

  const declaredPayloadHash = singleHeader(req, 'x-amz-content-sha256');
  if (declaredPayloadHash !== undefined && declaredPayloadHash !== createHash('sha256').update(input.body).digest('hex')) {
    throw stsErrors.signatureDoesNotMatch();
  }
  const expected = await recomputeSignature({
    req,
    url: input.url,
    body: input.body,
    signedHeaders: authorization.signedHeaders,
    signingDate: input.signingDate.date,
    region: credential.region,
    service: input.service,
    accessKeyId: credential.accessKeyId,
    secretAccessKey: input.secretAccessKey,
  });
  if (expected.signedHeaders !== authorization.signedHeaders.join(';') || !equalHex(expected.signature, authorization.signature)) {
    throw stsErrors.signatureDoesNotMatch();
  }
}

function parseAuthorization(header: string): ParsedAuthorization {
  const space = header.indexOf(' ');
  const algorithm = space === -1 ? header : header.slice(0, space);
  if (algorithm !== SIGNING_ALGORITHM) throw stsErrors.incompleteSignature(`Unsupported AWS 'algorithm': '${algorithm}'`);
  const parts = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const equals = part.indexOf('=');
    if (equals !== -1) parts.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  const credential = parts.get('Credential');
  const signedHeaders = parts.get('SignedHeaders');
  const signature = parts.get('Signature');
  const missing = [
    credential === undefined ? "Authorization header requires 'Credential' parameter." : '',
    signature === undefined ? "Authorization header requires 'Signature' parameter." : '',
    signedHeaders === undefined ? "Authorization header requires 'SignedHeaders' parameter." : '',
  ].filter((message) => message !== '');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw stsErrors.incompleteSignature(missing.join(' '));
  }
  const scope = credential.split('/');
  const [accessKeyId, date, region, service, terminator] = scope;
  if (scope.length !== 5 || accessKeyId === undefined || date === undefined || region === undefined || service === undefined || terminator === undefined) {
    throw stsErrors.incompleteSignature(
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`,
    );
  }
  return {
    credential: { accessKeyId, date, region, service, terminator },
    signedHeaders: signedHeaders.split(';'),
    signature,
  };
}

function parseAmzDate(value: string): Date {
  const basicFormat = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
  const date = basicFormat.test(value) ? new Date(value.replace(basicFormat, '$1-$2-$3T$4:$5:$6Z')) : new Date(NaN);
  // The round trip also rejects dates like 20260231 that Date would roll over.
  if (Number.isNaN(date.getTime()) || toAmzDate(date) !== value) {
    throw stsErrors.incompleteSignature(`Date must be in ISO-8601 'basic format'. Got '${value}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  }
  return date;
}

/**
 * Signs a copy of the received request, holding only the headers the client says it signed, with
 * @smithy/signature-v4 (the SDK's own signer) and the secret we hold for the access key.
 */
async function recomputeSignature(input: {
  req: IncomingMessage;
  url: URL;
  body: Buffer;
  signedHeaders: string[];
  signingDate: Date;
  region: string;
  service: string;
  accessKeyId: string;
  secretAccessKey: string;
}): Promise<{ signature: string; signedHeaders: string }> {
  const headers: Record<string, string> = {};
  for (const name of input.signedHeaders) {
    const values = input.req.headersDistinct[name];
    if (values !== undefined) headers[name] = values.join(',');
  }
  const request = new HttpRequest({
    method: input.req.method ?? 'GET',
    protocol: 'http:',
    hostname: input.url.hostname,
    path: safeDecode(input.url.pathname),
    query: parseRawQuery(input.url.search),
    headers,
    body: input.body.length === 0 ? undefined : new Uint8Array(input.body),
  });
  const signer = new SignatureV4({
    credentials: { accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey },
    region: input.region,
    service: input.service,
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(request, {
    signingDate: input.signingDate,
    signingRegion: input.region,
    signingService: input.service,
    signableHeaders: new Set(input.signedHeaders),
  });
  const produced = parseAuthorization(String(signed.headers['authorization']));
  return { signature: produced.signature, signedHeaders: produced.signedHeaders.join(';') };
}

/** The query as SigV4 sees it: percent-decoded names and values, '+' left alone. */
function parseRawQuery(search: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const pair of search.replace(/^\?/, '').split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const key = safeDecode(equals === -1 ? pair : pair.slice(0, equals));
    const value = equals === -1 ? '' : safeDecode(pair.slice(equals + 1));
    const existing = query[key];
    query[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return query;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** SHA-256 and HMAC-SHA-256 from node:crypto, in the shape @smithy/signature-v4 expects. */
export class NodeSha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.create();
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }

  reset(): void {
    this.hash = this.create();
  }

  private create(): Hash | Hmac {
    if (this.secret === undefined) return createHash('sha256');
    const key =
      typeof this.secret === 'string'
        ? Buffer.from(this.secret, 'utf8')
        : ArrayBuffer.isView(this.secret)
          ? Buffer.from(this.secret.buffer, this.secret.byteOffset, this.secret.byteLength)
          : Buffer.from(this.secret);
    return createHmac('sha256', key);
  }
}
