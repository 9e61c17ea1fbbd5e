// The CLI's transport (node:http instead of the platform's fetch, which costs a first call 50-200 ms
// to load) against a real server on this machine: what it sends, what it hands back, and that it
// fails the way the API client expects fetch to fail.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpFetch } from '../../cli/http-fetch.js';
import { unusedUrl } from './support/cli-harness.js';

interface Received {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

let server: Server;
let url: string;
let received: Received[];
let answer: (res: ServerResponse) => void;

beforeEach(async () => {
  received = [];
  answer = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('httpFetch', () => {
  it('sends the method, path and query, headers and body, and hands back status and text', async () => {
    // Act
    const response = await httpFetch(`${url}/credentials?x=1`, {
      method: 'POST',
      headers: { authorization: 'Bearer a.b.c', 'content-type': 'application/json' },
      body: '{"profile":"démo"}',
      signal: AbortSignal.timeout(5_000),
    });

    // Assess
    expect({ ok: response.ok, status: response.status, text: await response.text() }).toEqual({ ok: true, status: 200, text: '{"ok":true}' });
    expect(received).toEqual([
      expect.objectContaining({ method: 'POST', url: '/credentials?x=1', body: '{"profile":"démo"}', headers: expect.objectContaining({ authorization: 'Bearer a.b.c' }) }),
    ]);
  });

  it('sends a body with DELETE too (framed by its length)', async () => {
    // Act
    const response = await httpFetch(`${url}/lockdown`, { method: 'DELETE', headers: {}, body: '{"reason":"all clear"}', signal: AbortSignal.timeout(5_000) });

    // Assess
    expect(response.status).toBe(200);
    expect(received).toEqual([expect.objectContaining({ method: 'DELETE', body: '{"reason":"all clear"}', headers: expect.objectContaining({ 'content-length': '22' }) })]);
  });

  it('hands back a refusal as it is, and follows no redirect', async () => {
    // Prepare
    answer = (res) => res.writeHead(302, { location: 'https://elsewhere.example.com/' }).end();

    // Act
    const response = await httpFetch(`${url}/me`, { method: 'GET', headers: {}, signal: AbortSignal.timeout(5_000) });

    // Assess
    expect({ ok: response.ok, status: response.status }).toEqual({ ok: false, status: 302 });
    expect(received).toHaveLength(1);
  });

  it('fails as fetch does: a TypeError caused by the network error, the timeout as TimeoutError', async () => {
    // Prepare
    const nobody = await unusedUrl();
    answer = () => undefined; // never answers

    // Act
    const refused = await httpFetch(`${nobody}/me`, { method: 'GET', headers: {}, signal: AbortSignal.timeout(5_000) }).catch((e: unknown) => e);
    const timedOut = await httpFetch(`${url}/me`, { method: 'GET', headers: {}, signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);

    // Assess
    expect(refused).toBeInstanceOf(TypeError);
    expect((refused as Error & { cause: NodeJS.ErrnoException }).cause.code).toBe('ECONNREFUSED');
    expect((timedOut as Error).name).toBe('TimeoutError');
  });
});
