// Identifiers, ARNs, secrets compared in constant time, and the two time formats AWS writes, for the
// local STS/IAM endpoint.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const UPPER_ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function randomUpperAlphanumeric(length: number): string {
  let result = '';
  while (result.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 252 = 7 × 36: drop the bytes that would bias the first few characters.
      if (byte < 252 && result.length < length) result += UPPER_ALPHANUMERIC.charAt(byte % 36);
    }
  }
  return result;
}

/** 16 upper-case alphanumerics derived from `seed`, so a role keeps its AROA id across restarts. */
export function stableId(seed: string): string {
  return [...createHash('sha256').update(seed).digest().subarray(0, 16)].map((byte) => UPPER_ALPHANUMERIC.charAt(byte % 36)).join('');
}

export function arnAccount(arn: string): string | undefined {
  const account = arn.split(':')[4];
  return account !== undefined && /^\d{12}$/.test(account) ? account : undefined;
}

export function parseRoleArn(arn: string, defaultAccountId: string): { partition: string; accountId: string; roleName: string } {
  const fields = arn.split(':');
  const resource = fields.slice(5).join(':');
  return {
    partition: fields[1] ?? 'aws',
    accountId: arnAccount(arn) ?? defaultAccountId,
    // The assumed-role ARN carries the role's name without its path.
    roleName: resource.slice(resource.lastIndexOf('/') + 1),
  };
}

export function equalHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

export function equalText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function toIsoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function toAmzDate(date: Date): string {
  return toIsoSeconds(date).replace(/[-:]/g, '');
}
