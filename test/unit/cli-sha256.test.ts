// The credential cache's file names come from a SHA-256 in plain JavaScript (node:crypto would cost
// every cached credential_process call ~4 ms to load): it must be SHA-256, byte for byte.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { sha256Hex } from '../../cli/sha256.js';

const nodeSha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('sha256Hex', () => {
  it('gives the FIPS 180-4 test vectors', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it.each([55, 56, 63, 64, 65, 119, 120, 128])('equals node:crypto at the padding edge of %i bytes', (length) => {
    expect(sha256Hex('a'.repeat(length))).toBe(nodeSha256('a'.repeat(length)));
  });

  it('equals node:crypto for any text, hashed as UTF-8', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 600 }), (text) => {
        expect(sha256Hex(text)).toBe(nodeSha256(text));
      }),
      { numRuns: 500 },
    );
  });
});
