import { randomBytes } from 'node:crypto';
import type { Clock, IdGenerator } from '../domain/ports.js';

export const systemClock: Clock = { now: () => new Date() };

/**
 * 128 random bits, URL-safe: unguessable grant and event ids. Never starting with `-`: ids are typed
 * as command-line arguments (`tvm grants revoke <id>`), where a leading dash reads as an option.
 */
export const randomIds: IdGenerator = {
  next: () => {
    for (;;) {
      const id = randomBytes(16).toString('base64url');
      if (!id.startsWith('-')) return id;
    }
  },
};
