// The local stand-in for CloudFront (dev only): one origin for the console and the API, as deployed.
// `/console/…` is the built console (console/dist), every path that is not a file answered with its
// index.html so deep links work, under the same security headers as in AWS (but HSTS: plain http
// here); everything else is proxied to serverless-offline. `/console/config.json` tells the console
// which issuer to sign in with.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listenOn } from './processes.js';

export const CONSOLE_ROOT = fileURLToPath(new URL('../console/', import.meta.url));
/** What the console imports from outside console/src: the step-up challenge's reader, shared with the CLI. */
const CONSOLE_SHARED_SOURCES = [fileURLToPath(new URL('../shared/http/step-up-challenge.ts', import.meta.url))];
export const CONSOLE_DIST = join(CONSOLE_ROOT, 'dist');
export const CONSOLE_BASE = '/console/';
/** The console's client id at the dev issuer. */
export const CONSOLE_CLIENT_ID = 'tvm-console';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The console's headers, the same as CloudFront's response-headers policy (serverless.yml): no
 * inline or eval'd script or style, no framing, no plugins, no referrer; connections only to the
 * API (this origin) and the issuer.
 */
export function consoleSecurityHeaders(issuer: string): Record<string, string> {
  const issuerOrigin = new URL(issuer).origin;
  return {
    'content-security-policy': [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      `connect-src 'self' ${issuerOrigin}`,
      "form-action 'self'",
      "frame-ancestors 'none'",
      "object-src 'none'",
      "base-uri 'none'",
    ].join('; '),
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
  };
}

/** Whether console/dist is missing or older than any source of the console. */
export function consoleBuildIsStale(): boolean {
  const built = join(CONSOLE_DIST, 'index.html');
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((entry) =>
        entry.isDirectory() ? newest(join(dir, entry.name)) : statSync(join(dir, entry.name)).mtimeMs,
      ),
    );
  const files = [join(CONSOLE_ROOT, 'index.html'), join(CONSOLE_ROOT, 'vite.config.ts'), ...CONSOLE_SHARED_SOURCES];
  return Math.max(newest(join(CONSOLE_ROOT, 'src')), ...files.map((file) => statSync(file).mtimeMs)) > builtAt;
}

/** Builds the console into console/dist with Vite (a second or two). */
export async function buildConsole(): Promise<void> {
  const { build } = await import('vite');
  await build({ configFile: join(CONSOLE_ROOT, 'vite.config.ts'), logLevel: 'warn' });
}

export interface Edge {
  /** `http://localhost:<port>/console/`. */
  readonly consoleUrl: string;
  readonly url: string;
  close(): Promise<void>;
}

export async function startEdge(options: { port: number; apiUrl: string; issuer: string }): Promise<Edge> {
  const api = new URL(options.apiUrl);
  const headers = consoleSecurityHeaders(options.issuer);
  let origin = '';
  const config = () => JSON.stringify({ issuer: options.issuer, clientId: CONSOLE_CLIENT_ID, apiUrl: origin });

  const serveConsole = (req: IncomingMessage, res: ServerResponse, path: string) => {
    let relative: string;
    try {
      relative = decodeURIComponent(path.slice(CONSOLE_BASE.length));
    } catch {
      // A malformed escape (any web page can send one here) is refused, never a crash of the stack.
      res.writeHead(400, { 'content-type': 'text/plain' }).end('malformed path');
      return;
    }
    if (relative === 'config.json') {
      res.writeHead(200, { ...headers, 'content-type': TYPES['.json'] as string, 'cache-control': 'no-store' }).end(config());
      return;
    }
    const file = resolve(CONSOLE_DIST, relative);
    const inside = file.startsWith(CONSOLE_DIST + sep);
    const isAsset = inside && relative.startsWith('assets/') && existsSync(file) && statSync(file).isFile();
    // Anything else under /console/ is a page of the app: its index.html, which routes on the path.
    const target = isAsset ? file : join(CONSOLE_DIST, 'index.html');
    if (!existsSync(target)) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('the console is not built: run npm start again (it builds console/dist)');
      return;
    }
    res.writeHead(200, {
      ...headers,
      'content-type': TYPES[extname(target)] ?? 'application/octet-stream',
      // Assets carry a content hash in their names; the page itself is never cached.
      'cache-control': isAsset ? 'public, max-age=31536000, immutable' : 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : readFileSync(target));
  };

  const proxy = (req: IncomingMessage, res: ServerResponse) => {
    const upstream = request(
      { hostname: api.hostname, port: api.port, method: req.method, path: req.url, headers: { ...req.headers, host: api.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'UPSTREAM_UNAVAILABLE', message: `the local API did not answer: ${error.message}` } }));
    });
    req.pipe(upstream);
  };

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/console') {
      res.writeHead(308, { location: CONSOLE_BASE }).end();
    } else if (path.startsWith(CONSOLE_BASE) && (req.method === 'GET' || req.method === 'HEAD')) {
      serveConsole(req, res, path);
    } else {
      proxy(req, res);
    }
  });
  origin = `http://localhost:${await listenOn(server, options.port, '127.0.0.1')}`;
  return {
    url: origin,
    consoleUrl: `${origin}${CONSOLE_BASE}`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
