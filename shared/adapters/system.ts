import { randomBytes } from 'node:crypto';
import type { Clock, IdGenerator } from '../domain/ports.js';

export const systemClock: Clock = { now: () => new Date() };

/** 128 random bits, URL-safe: unguessable grant and event ids. */
export const randomIds: IdGenerator = { next: () => randomBytes(16).toString('base64url') };
