// What the STS and IAM APIs of the local endpoint both check of their parameters: the service
// models' constraints, reported all at once as AWS reports them, and the shape of a policy document.
import { stsErrors } from './errors.js';

// A policy's characters: the STS model's Policy and the IAM model's policyDocumentType alike.
export const POLICY_PATTERN = /^[\t\n\r\u0020-\u00FF]+$/;
export const POLICY_PATTERN_TEXT = '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+';

export interface StringConstraint {
  required?: boolean;
  min?: number;
  max?: number;
  pattern?: readonly [RegExp, string];
}

/** Collects model-constraint violations and reports them as AWS does: "N validation errors detected: …". */
export class ConstraintViolations {
  private readonly messages: string[] = [];

  string(at: string, value: string | undefined, constraint: StringConstraint): void {
    if (value === undefined) {
      if (constraint.required === true) this.add(`Value null at '${at}' failed to satisfy constraint: Member must not be null`);
      return;
    }
    const fail = (rule: string) => this.add(`Value '${value}' at '${at}' failed to satisfy constraint: ${rule}`);
    if (constraint.min !== undefined && value.length < constraint.min) fail(`Member must have length greater than or equal to ${constraint.min}`);
    if (constraint.max !== undefined && value.length > constraint.max) fail(`Member must have length less than or equal to ${constraint.max}`);
    if (constraint.pattern !== undefined && !constraint.pattern[0].test(value)) {
      fail(`Member must satisfy regular expression pattern: ${constraint.pattern[1]}`);
    }
  }

  integer(at: string, value: string | undefined, min: number, max: number): void {
    if (value === undefined) return;
    if (!/^-?\d+$/.test(value)) {
      this.add(`Value '${value}' at '${at}' failed to satisfy constraint: Member must be an integer`);
      return;
    }
    const number = Number(value);
    if (number < min) this.add(`Value '${value}' at '${at}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`);
    if (number > max) this.add(`Value '${value}' at '${at}' failed to satisfy constraint: Member must have value less than or equal to ${max}`);
  }

  listSize(at: string, size: number, max: number): void {
    if (size > max) this.add(`Value with ${size} members at '${at}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
  }

  throwIfAny(): void {
    const count = this.messages.length;
    if (count === 0) return;
    throw stsErrors.validation(`${count} validation error${count === 1 ? '' : 's'} detected: ${this.messages.join('; ')}`);
  }

  private add(message: string): void {
    this.messages.push(message);
  }
}

/**
 * A session policy (AssumeRole's Policy) or an identity policy (PutRolePolicy's PolicyDocument). IAM
 * defaults a missing Version to 2008-10-17 in identity policies, and refuses a Principal in them.
 */
export function validatePolicyDocument(policy: string, kind: 'session' | 'identity' = 'session'): void {
  let document: unknown;
  try {
    document = JSON.parse(policy);
  } catch {
    throw stsErrors.malformedPolicy('Syntax errors in policy.');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw stsErrors.malformedPolicy('Syntax errors in policy.');
  }
  const { Version: version, Statement: statement } = document as Record<string, unknown>;
  const versionOptional = kind === 'identity' && version === undefined;
  if (!versionOptional && version !== '2012-10-17' && version !== '2008-10-17') {
    throw stsErrors.malformedPolicy('The policy must contain a valid version string');
  }
  const statements: unknown[] = Array.isArray(statement) ? statement : [statement];
  if (statement === undefined || statements.length === 0 || !statements.every((s) => typeof s === 'object' && s !== null && !Array.isArray(s))) {
    throw stsErrors.malformedPolicy('The policy must contain at least one statement in a Statement element');
  }
  if (kind === 'identity' && statements.some((s) => 'Principal' in (s as object) || 'NotPrincipal' in (s as object))) {
    throw stsErrors.malformedPolicy('Policy document should not specify a principal.');
  }
}
