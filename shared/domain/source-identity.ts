// Maps a verified principal id to the value tvm passes to STS as both SourceIdentity and
// RoleSessionName. SourceIdentity is what CloudTrail shows for every call made with the vended
// credentials and what the per-person revocation policy matches on (`aws:SourceIdentity`), so two
// different principals must never share one: the mapping is injective.
//
// Why it is injective:
// - Escaped form: every char outside [A-Za-z0-9_+,.@-] (including `=` itself) becomes `=` plus two
//   uppercase hex digits per UTF-8 byte, quoted-printable style. Because a literal `=` never
//   survives unescaped, every `=` starts an escape and decoding is unambiguous.
// - Hashed form (escaped form shorter than 2 or longer than 64): a readable prefix, then `==`, then
//   96 bits of sha256(principalId). The digest alone tells principals apart (up to negligible hash
//   collisions); the prefix is only for humans reading CloudTrail.
// - The families cannot meet: in an escaped form every `=` is followed by a hex digit, so `==` never
//   occurs there, while every hashed form contains it.
// Neither form can start with `aws:` (reserved by STS) because `:` is always escaped.
import { createHash } from 'node:crypto';

/** STS's limits for RoleSessionName and SourceIdentity: 2–64 chars of `[\w+=,.@-]`. */
export const SESSION_NAME_MIN_LENGTH = 2;
export const SESSION_NAME_MAX_LENGTH = 64;

const SESSION_NAME_PATTERN = /^[A-Za-z0-9_+=,.@-]{2,64}$/;
const UNESCAPED_CHAR = /^[A-Za-z0-9_+,.@-]$/;
const HASH_MARKER = '==';
const HASH_HEX_CHARS = 24;
const MAX_READABLE_PREFIX = SESSION_NAME_MAX_LENGTH - HASH_MARKER.length - HASH_HEX_CHARS; // 38

/** True when `s` is accepted by STS as a RoleSessionName and as a SourceIdentity. */
export function isValidSessionName(s: string): boolean {
  return SESSION_NAME_PATTERN.test(s) && !s.toLowerCase().startsWith('aws:');
}

export function toSourceIdentity(principalId: string): string {
  const bytes = utf8Bytes(principalId);
  const escaped = escapeForSessionName(principalId);
  if (escaped.length >= SESSION_NAME_MIN_LENGTH && escaped.length <= SESSION_NAME_MAX_LENGTH) {
    return escaped;
  }
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, HASH_HEX_CHARS);
  return readablePrefix(escaped) + HASH_MARKER + digest;
}

function escapeForSessionName(value: string): string {
  let out = '';
  // for…of walks code points, yielding a lone surrogate as a char of its own.
  for (const char of value) {
    if (UNESCAPED_CHAR.test(char)) {
      out += char;
    } else {
      for (const byte of utf8Bytes(char)) {
        out += '=' + byte.toString(16).toUpperCase().padStart(2, '0');
      }
    }
  }
  return out;
}

/** Cuts the escaped form to fit before the hash, without leaving half an escape at the end. */
function readablePrefix(escaped: string): string {
  const cut = escaped.slice(0, MAX_READABLE_PREFIX);
  const lastEquals = cut.lastIndexOf('=');
  return lastEquals !== -1 && lastEquals > cut.length - 3 ? cut.slice(0, lastEquals) : cut;
}

/**
 * UTF-8 bytes of `value`, encoding a lone surrogate as its own three bytes (WTF-8) instead of the
 * U+FFFD replacement that TextEncoder and Buffer use: replacement would map different ids to the
 * same bytes. For well-formed strings this is exactly UTF-8.
 */
function utf8Bytes(value: string): Uint8Array {
  const bytes: number[] = [];
  for (const char of value) {
    const cp = char.codePointAt(0) ?? 0;
    if (cp < 0x80) {
      bytes.push(cp);
    } else if (cp < 0x800) {
      bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    } else {
      bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    }
  }
  return Uint8Array.from(bytes);
}
