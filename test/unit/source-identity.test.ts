import { createHash } from 'node:crypto';
import { isValidSessionName, toSourceIdentity } from '../../shared/domain/source-identity.js';

/** Deterministic PRNG (mulberry32) so a failing case can be reproduced. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Chars chosen to stress the escaping: the escape char itself, hex digits that follow it, chars that
// are escaped, multi-byte and astral chars, and a lone surrogate.
const ALPHABET = ['a', 'Z', '3', 'D', 'F', '=', '@', '.', '-', '_', ':', '/', '#', ' ', 'é', '€', '😀', '\ud800'];

function randomId(random: () => number, maxLength: number): string {
  const length = Math.floor(random() * (maxLength + 1));
  let id = '';
  for (let i = 0; i < length; i++) id += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return id;
}

function expectInjective(ids: Iterable<string>): void {
  const seen = new Map<string, string>();
  for (const id of ids) {
    const identity = toSourceIdentity(id);
    const earlier = seen.get(identity);
    if (earlier !== undefined && earlier !== id) {
      throw new Error(`collision: ${JSON.stringify(earlier)} and ${JSON.stringify(id)} both map to ${identity}`);
    }
    seen.set(identity, id);
  }
}

describe('toSourceIdentity', () => {
  it('keeps an id made only of session-name chars readable', () => {
    // Prepare
    const id = 'alice@example.com';

    // Act
    const identity = toSourceIdentity(id);

    // Assess
    expect(identity).toBe('alice@example.com');
  });

  it('escapes "=" and other chars as "=" plus uppercase hex of each UTF-8 byte', () => {
    // Prepare
    const id = 'https://idp.example.com#a=b é';

    // Act
    const identity = toSourceIdentity(id);

    // Assess
    expect(identity).toBe('https=3A=2F=2Fidp.example.com=23a=3Db=20=C3=A9');
  });

  it.each([
    ['€', '=E2=82=AC'],
    ['😀', '=F0=9F=98=80'],
    ['\ud800', '=ED=A0=80'],
    ['\ud800\udc00', '=F0=90=80=80'],
  ])('escapes %j as its UTF-8 bytes (a lone surrogate as its own three bytes)', (char, escaped) => {
    // Prepare
    const id = 'u-' + char;

    // Act
    const identity = toSourceIdentity(id);

    // Assess
    expect(identity).toBe('u-' + escaped);
  });

  it('never produces a value starting with "aws:"', () => {
    // Prepare
    const ids = ['aws:admin', 'AWS:admin', 'aws:', 'aws:' + 'x'.repeat(80)];

    // Act
    const identities = ids.map(toSourceIdentity);

    // Assess
    for (const identity of identities) {
      expect(identity.toLowerCase().startsWith('aws:')).toBe(false);
      expect(isValidSessionName(identity)).toBe(true);
    }
  });

  it('keeps an escaped form of exactly 64 chars as it is and hashes one of 65', () => {
    // Prepare
    const sixtyFour = 'u'.repeat(64);
    const sixtyFive = 'u'.repeat(65);

    // Act
    const kept = toSourceIdentity(sixtyFour);
    const hashed = toSourceIdentity(sixtyFive);

    // Assess
    expect(kept).toBe(sixtyFour);
    expect(hashed).toHaveLength(64);
    expect(hashed).toContain('==');
  });

  it('turns a long id into a readable prefix, "==" and the first 24 hex chars of its sha256', () => {
    // Prepare
    const id = 'https://login.example.com/tenant/0123456789/users/alice@example.com';
    const digest = createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 24);

    // Act
    const identity = toSourceIdentity(id);

    // Assess
    expect(identity).toBe('https=3A=2F=2Flogin.example.com=2Ftena==' + digest);
    expect(isValidSessionName(identity)).toBe(true);
  });

  it('does not end the readable prefix with half an escape', () => {
    // Prepare: 36 plain chars then an escape, so a 38-char cut would end in "=2".
    const id = 'x'.repeat(36) + '/' + 'y'.repeat(40);

    // Act
    const identity = toSourceIdentity(id);

    // Assess
    expect(identity.startsWith('x'.repeat(36) + '==')).toBe(true);
    expect(identity).toMatch(/^x{36}==[0-9a-f]{24}$/);
  });

  it('hashes ids whose escaped form is shorter than 2 chars, including the empty id', () => {
    // Prepare
    const ids = ['', 'a', 'Z'];

    // Act
    const identities = ids.map(toSourceIdentity);

    // Assess
    expect(identities[0]).toMatch(/^==[0-9a-f]{24}$/);
    expect(identities[1]).toMatch(/^a==[0-9a-f]{24}$/);
    expect(identities[2]).toMatch(/^Z==[0-9a-f]{24}$/);
  });

  it('maps tricky pairs of different ids to different values', () => {
    // Prepare
    const longPrefix = 'p'.repeat(60);
    const pairs: Array<[string, string]> = [
      ['a=3D', 'a='],
      ['=3D', '='],
      ['a:b', 'a=3Ab'],
      ['a b', 'a=20b'],
      [longPrefix + 'x1', longPrefix + 'x2'],
      [longPrefix + 'aaaaa', longPrefix + 'aaaab'],
      ['a', 'b'],
      ['a', 'a=='],
      ['é', 'e'],
      ['é', 'e\u0301'],
      ['\ud800', '\ud801'],
      ['\ud800', '\ufffd'],
      ['😀', '\ud83d'],
    ];

    // Act
    const mapped = pairs.map(([x, y]) => [toSourceIdentity(x), toSourceIdentity(y)]);

    // Assess
    for (const [x, y] of mapped) expect(x).not.toBe(y);
  });

  it('maps every id of up to 2 chars over a tricky alphabet to a distinct valid value', () => {
    // Prepare
    const ids = [''];
    for (const first of ALPHABET) {
      ids.push(first);
      for (const second of ALPHABET) ids.push(first + second);
    }

    // Act
    const identities = ids.map(toSourceIdentity);

    // Assess
    expect(new Set(identities).size).toBe(ids.length);
    expect(identities.filter((identity) => !isValidSessionName(identity))).toEqual([]);
  });

  it('maps 20,000 generated ids, short and long, to distinct valid values', () => {
    // Prepare
    const random = seededRandom(20260601);
    const ids = new Set<string>();
    const sharedPrefix = 'https://idp.example.com/' + 'u'.repeat(40);
    while (ids.size < 20_000) {
      const roll = random();
      if (roll < 0.4) ids.add(randomId(random, 8));
      else if (roll < 0.7) ids.add(randomId(random, 40));
      else ids.add(sharedPrefix + randomId(random, 12));
    }

    // Act
    const identities = [...ids].map(toSourceIdentity);

    // Assess
    expect(() => expectInjective(ids)).not.toThrow();
    expect(identities.filter((identity) => !isValidSessionName(identity))).toEqual([]);
  });

  it('gives the same value for the same id every time', () => {
    // Prepare
    const id = 'https://idp.example.com#' + 'z'.repeat(70);

    // Act
    const first = toSourceIdentity(id);
    const second = toSourceIdentity(id);

    // Assess
    expect(second).toBe(first);
  });
});

describe('isValidSessionName', () => {
  it.each([
    ['ab', true],
    ['alice@example.com', true],
    ['a_b+c=d,e.f@g-h', true],
    ['x'.repeat(64), true],
    ['a', false],
    ['', false],
    ['x'.repeat(65), false],
    ['a:b', false],
    ['aws:x', false],
    ['a b', false],
    ['a/b', false],
    ['é1', false],
  ])('says %j is %s', (name, expected) => {
    // Act
    const valid = isValidSessionName(name);

    // Assess
    expect(valid).toBe(expected);
  });
});
