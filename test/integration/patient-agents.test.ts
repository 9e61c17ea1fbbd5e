// The STS client's connect timeout under a stalled event loop (BENCHMARKS.md, finding 6): 200
// concurrent vends on two cores failed with "did not establish a connection" although the
// connection was up, because after a stall Node runs due timers before it looks at I/O. The stall
// is made here the moment a client socket is created (diagnostics_channel), so the connection
// completes in the kernel while the process is busy, exactly as under load.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRequest } from '@smithy/protocol-http';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { patientAgents } from '../../shared/adapters/patient-agents.js';

const TIMEOUT_MS = 100;
const STALL_MS = 400;

let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/**
 * Busy for STALL_MS as soon as the next client socket has sent its connect (before the loop sees
 * it connected), once. The connection completes in the kernel meanwhile, as it does under load.
 */
function stallOnNextConnect(): void {
  const onSocket = () => {
    unsubscribe('net.client.socket', onSocket);
    process.nextTick(() => {
      const until = Date.now() + STALL_MS;
      while (Date.now() < until) {
        // The event loop is starved, as by 200 workers on two cores.
      }
    });
  };
  subscribe('net.client.socket', onSocket);
}

/** A GET sent from the check phase, as a vend sends its AssumeRole from an I/O callback: the next loop turn runs timers first. */
async function getWith(handler: NodeHttpHandler): Promise<number | undefined> {
  await new Promise((resolve) => setImmediate(resolve));
  const request = new HttpRequest({ protocol: 'http:', hostname: '127.0.0.1', port, method: 'GET', path: '/', headers: { host: `127.0.0.1:${port}` } });
  const { response } = await handler.handle(request);
  return response.statusCode;
}

it("fails a connection that is up with the SDK's own connect timeout (the failure seen under load)", async () => {
  // Prepare
  const handler = new NodeHttpHandler({ connectionTimeout: TIMEOUT_MS, requestTimeout: 3_000 });
  stallOnNextConnect();

  // Act
  const outcome = await getWith(handler).catch((error: Error) => error);
  handler.destroy();

  // Assess
  expect(outcome).toMatchObject({ name: 'TimeoutError', message: expect.stringContaining('did not establish a connection') });
});

it("keeps a connection that came up during the stall with tvm's agents", async () => {
  // Prepare
  const handler = new NodeHttpHandler({ requestTimeout: 3_000, ...patientAgents(TIMEOUT_MS) });
  stallOnNextConnect();

  // Act
  const status = await getWith(handler);
  handler.destroy();

  // Assess
  expect(status).toBe(200);
});
