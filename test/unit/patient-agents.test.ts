// guardConnect's own rule: a socket still connecting once its time is up (and pending I/O handled)
// is destroyed with the SDK's wording, which the STS issuer retries as never sent; one that
// connected, or closed, is left alone. The stall it exists for: test/integration/patient-agents.test.ts.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { guardConnect, NOT_CONNECTED } from '../../shared/adapters/patient-agents.js';

/** A socket that connects only when told to. */
function aSocket(): Duplex & { connecting: boolean; destroyedWith: Error[] } {
  const socket = Object.assign(new EventEmitter(), { connecting: true, destroyedWith: [] as Error[] });
  return Object.assign(socket, { destroy: (error: Error) => socket.destroyedWith.push(error) }) as unknown as Duplex & {
    connecting: boolean;
    destroyedWith: Error[];
  };
}

const after = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('destroys a socket still connecting after the timeout with a TimeoutError in the SDK’s words', async () => {
  // Prepare
  const socket = guardConnect(aSocket(), 5);

  // Act
  await after(30);

  // Assess
  expect(socket.destroyedWith).toEqual([expect.objectContaining({ name: 'TimeoutError', message: `${NOT_CONNECTED} within 5 ms` })]);
  expect(NOT_CONNECTED).toMatch(/did not establish a connection/);
});

it('leaves alone a socket that connected or closed in time', async () => {
  // Prepare
  const connected = guardConnect(aSocket(), 5);
  const closed = guardConnect(aSocket(), 5);

  // Act
  connected.connecting = false;
  connected.emit('connect');
  closed.emit('close');
  await after(30);

  // Assess
  expect(connected.destroyedWith).toEqual([]);
  expect(closed.destroyedWith).toEqual([]);
});
