// The CLI's question before a cached credential leaves (cli/cut-off-check.ts), against real local
// servers: asked on a bare socket with the epoch as If-None-Match and the token as a bearer; `304`
// alone lets the credential out; any other status line is asked again through the full client,
// whose answer decides; a server that closes without a status line, or says something that is not
// HTTP, lets nothing out.
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { noCutOffSince } from '../../cli/cut-off-check.js';
import { CliError } from '../../cli/errors.js';

const TOKEN = 'header.payload.signature';
let servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  servers = [];
});

async function listening<S extends Server>(server: S): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An API whose GET /cut-off-epoch is at `epoch`, recording the requests it gets. */
async function api(epoch: number, requests: { ifNoneMatch?: string; authorization?: string }[] = []): Promise<string> {
  return listening(
    createHttpServer((req, res) => {
      requests.push({ ifNoneMatch: req.headers['if-none-match'], authorization: req.headers.authorization });
      if (req.url !== '/cut-off-epoch') return res.writeHead(404).end();
      if (req.headers['if-none-match'] === `"${epoch}"`) return res.writeHead(304, { etag: `"${epoch}"` }).end();
      res.writeHead(200, { 'content-type': 'application/json', etag: `"${epoch}"` }).end(JSON.stringify({ cutOffEpoch: epoch }));
    }),
  );
}

describe('noCutOffSince', () => {
  it('is true on 304, asked once, with the epoch and the token', async () => {
    // Prepare
    const requests: { ifNoneMatch?: string; authorization?: string }[] = [];
    const url = await api(7, requests);

    // Act
    const current = await noCutOffSince({ url, token: TOKEN }, 7);

    // Assess
    expect(current).toBe(true);
    expect(requests).toEqual([{ ifNoneMatch: '"7"', authorization: `Bearer ${TOKEN}` }]);
  });

  it('is false once the epoch moved on, asking the full client the second time', async () => {
    // Prepare
    const requests: { ifNoneMatch?: string }[] = [];
    const url = await api(8, requests);

    // Act
    const current = await noCutOffSince({ url, token: TOKEN }, 7);

    // Assess
    expect(current).toBe(false);
    expect(requests).toHaveLength(2);
  });

  it('is true for a 200 naming the same epoch (a proxy that drops If-None-Match)', async () => {
    // Prepare
    const url = await listening(
      createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ cutOffEpoch: 7 }))),
    );

    // Act + Assess
    expect(await noCutOffSince({ url, token: TOKEN }, 7)).toBe(true);
  });

  it.each([
    ['closes without a word', (socket: import('node:net').Socket) => socket.end()],
    ['answers something that is not HTTP', (socket: import('node:net').Socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n')],
    ['answers 304 in a status line it cannot have sent', (socket: import('node:net').Socket) => socket.end('HTTP/1.1 3040 Not Modified\r\n\r\n')],
  ])('lets nothing out when the server %s', async (_name, answer) => {
    // Prepare
    const url = await listening(createTcpServer((socket) => socket.once('data', () => answer(socket))));

    // Act
    const outcome = await noCutOffSince({ url, token: TOKEN }, 7).catch((error: unknown) => error);

    // Assess: the full client asks again and finds no HTTP answer either
    expect(outcome).toBeInstanceOf(CliError);
    expect((outcome as CliError).code).toBe('UNREACHABLE');
  });

  it("takes the API's refusal from the full client (401: the token's code, exit 3)", async () => {
    // Prepare
    const url = await listening(
      createHttpServer((_req, res) =>
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'UNAUTHENTICATED', message: 'token expired', requestId: 'r' } })),
      ),
    );

    // Act
    const outcome = await noCutOffSince({ url, token: TOKEN }, 7).catch((error: unknown) => error);

    // Assess
    expect(outcome).toBeInstanceOf(CliError);
    expect({ code: (outcome as CliError).code, exitCode: (outcome as CliError).exitCode, message: (outcome as CliError).message }).toEqual({
      code: 'UNAUTHENTICATED',
      exitCode: 3,
      message: 'token expired; sign in again with tvm login (or refresh TVM_TOKEN / token_command; locally: tvm dev-token --sub <you>)',
    });
  });

  it('never puts a token with a line break on the wire: the full client refuses it', async () => {
    // Prepare
    const requests: { authorization?: string }[] = [];
    const url = await api(7, requests);

    // Act
    const outcome = await noCutOffSince({ url, token: `${TOKEN}\r\nx-injected: 1` }, 7).catch((error: unknown) => error);

    // Assess
    expect(outcome).toBeInstanceOf(CliError);
    expect(requests).toEqual([]);
  });
});
