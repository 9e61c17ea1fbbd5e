// HTTP agents whose connect timeout is not fooled by a busy event loop. The SDK's connectionTimeout
// is a plain timer: after a stall (CPU starvation, a long GC), Node runs the timers that came due
// before it looks at I/O, so the timer destroys a socket whose `connect` event is merely queued
// behind it. Under 200 concurrent vends on two cores that failed vends with a "did not establish a
// connection" that was false (BENCHMARKS.md, finding 6). Here the timer first lets pending I/O be
// handled (setImmediate runs after the poll phase), then gives up only on a socket still connecting.
import { Agent as HttpAgent, type ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Duplex } from 'node:stream';

/** What the SDK's own connect timeout says; sts-credential-issuer.ts retries it (nothing was sent). */
export const NOT_CONNECTED = 'the request socket did not establish a connection with the server';

/** Destroys `socket` with a TimeoutError if, `ms` after now and once pending I/O is handled, it is still connecting. */
export function guardConnect<T extends Duplex>(socket: T, ms: number): T {
  const connecting = socket as T & { connecting?: boolean };
  const timer = setTimeout(
    () => setImmediate(() => connecting.connecting === true && socket.destroy(Object.assign(new Error(`${NOT_CONNECTED} within ${ms} ms`), { name: 'TimeoutError' }))),
    ms,
  );
  const clear = () => clearTimeout(timer);
  socket.once('connect', clear).once('close', clear);
  return socket;
}

type Callback = (err: Error | null, stream: Duplex) => void;

/** Keep-alive agents (as the SDK's defaults: 50 sockets) with a connect timeout of `ms`. */
export function patientAgents(ms: number): { httpAgent: HttpAgent; httpsAgent: HttpsAgent } {
  const options = { keepAlive: true, maxSockets: 50 };
  class PatientHttpAgent extends HttpAgent {
    override createConnection(args: ClientRequestArgs, callback?: Callback) {
      const socket = super.createConnection(args, callback);
      return socket ? guardConnect(socket, ms) : socket;
    }
  }
  class PatientHttpsAgent extends HttpsAgent {
    override createConnection(args: ClientRequestArgs, callback?: Callback) {
      const socket = super.createConnection(args, callback);
      return socket ? guardConnect(socket, ms) : socket;
    }
  }
  return { httpAgent: new PatientHttpAgent(options), httpsAgent: new PatientHttpsAgent(options) };
}
