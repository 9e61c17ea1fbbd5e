// An anchored head names its chain's hash in that chain's encoding: hex for a legacy chain
// (`<day>#<shard>`), base64url for a chain-keyed one (`<day>#x<shard>`). A head in the other encoding
// is no head of that chain, and is not anchored.
import { createHash } from 'node:crypto';
import { anchoredHeadSchema } from '../../shared/domain/chain-anchor-records.js';

const digest = createHash('sha256').update('head').digest();
const [HEX, BASE64URL] = [digest.toString('hex'), digest.toString('base64url')];

describe('anchoredHeadSchema', () => {
  it.each([
    ['a legacy chain, hex', '2026-06-01#0', HEX],
    ['a legacy chain of uses, hex', '2026-06-01#u3', HEX],
    ['a chain-keyed chain, base64url', '2026-06-01#x0', BASE64URL],
    ['a chain-keyed chain of uses, base64url', '2026-06-01#xu3', BASE64URL],
  ])('takes the head of %s', (_, chain, hash) => {
    expect(anchoredHeadSchema.safeParse({ chain, seq: 1, hash }).success).toBe(true);
  });

  it.each([
    ['a legacy chain, base64url', '2026-06-01#0', BASE64URL],
    ['a chain-keyed chain, hex', '2026-06-01#x0', HEX],
    ['a chain-keyed chain of uses, hex', '2026-06-01#xu3', HEX],
  ])('refuses the head of %s', (_, chain, hash) => {
    expect(anchoredHeadSchema.safeParse({ chain, seq: 1, hash }).success).toBe(false);
  });
});
