// The local edge (local/edge.ts), which serves the console and proxies the API on one origin: a
// path any web page can make the browser send must never take the local stack down, nor reach a
// file outside the console's build.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startEdge, type Edge } from '../../local/edge.js';

let api: Server;
let edge: Edge;

beforeAll(async () => {
  api = createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ proxied: req.url })));
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  edge = await startEdge({ port: 0, apiUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`, issuer: 'http://localhost:1' });
});

afterAll(async () => {
  await edge.close();
  api.closeAllConnections();
  await new Promise((resolve) => api.close(resolve));
});

it('refuses a malformed escape under /console/ with 400, and keeps serving', async () => {
  // Act
  const malformed = await fetch(`${edge.url}/console/%E0%A4%A`);
  const after = await fetch(`${edge.url}/console/config.json`);

  // Assess
  expect(malformed.status).toBe(400);
  expect(after.status).toBe(200);
  expect(await after.json()).toEqual({ issuer: 'http://localhost:1', clientId: 'tvm-console', apiUrl: edge.url });
});

it.each(['/console/..%2f..%2fpackage.json', '/console/assets/..%2f..%2f..%2fpackage.json', '/console/%2e%2e/%2e%2e/package.json'])(
  'never serves a file outside the console build for %s',
  async (path) => {
    // Act
    const response = await fetch(`${edge.url}${path}`);

    // Assess
    expect(await response.text()).not.toContain('"name": "tvm"');
  },
);

it('proxies everything else to the API', async () => {
  // Act
  const response = await fetch(`${edge.url}/me?x=1`);

  // Assess
  expect(await response.json()).toEqual({ proxied: '/me?x=1' });
});
