// Explicit-deny evaluation for the local STS/IAM endpoint: decides whether a role's inline policies
// deny a request made with one of its sessions. This is how tvm cuts off credentials already handed
// out (an inline Deny on the role, see the README's "Security model"), so locally that cut-off has to
// have an effect a test can observe.
//
// Only explicit denies are evaluated; nothing here grants anything (the endpoint serves what sessions
// may call without any Allow). A statement denies when all of these hold:
// - Effect is "Deny";
// - Action (string or list) matches the request's action, e.g. "*", "sts:*", "sts:GetAccessKeyInfo"
//   (`*` and `?` wildcards, case-insensitive as in AWS);
// - Resource (string or list) is "*" or a wildcard pattern matching the request's resource ARN;
// - every condition in Condition holds (operators AND-ed, keys within an operator AND-ed, the values
//   listed for one key OR-ed, except that StringNotEquals needs the value to differ from all of them).
// Supported operators: StringEquals, StringNotEquals, StringLike, DateLessThan, DateGreaterThan.
// Supported keys (names case-insensitive, as in AWS): aws:SourceIdentity, aws:TokenIssueTime,
// aws:userid, aws:PrincipalTag/<tag key>.
// As in AWS, a key absent from the session (no SourceIdentity, no such tag) fails every operator
// except StringNotEquals, which it satisfies.
// Deliberately conservative where it is not faithful: a condition with an operator or key not listed
// above (…IfExists, ForAnyValue:, Null, Bool, aws:SourceIp, …) does NOT hold, so such a statement
// never denies; statements with NotAction, NotResource or NotPrincipal never deny; policy variables
// such as ${aws:username} are compared literally.

export interface SessionAttributes {
  /** AROA…:<session name>, the value of aws:userid. */
  userId: string;
  sourceIdentity: string | undefined;
  tokenIssueTime: Date;
  tags: ReadonlyArray<{ key: string; value: string }>;
}

export interface DenyCheckRequest {
  /** In policy form, e.g. `sts:GetAccessKeyInfo`. */
  action: string;
  /** The resource ARN, or `*` for actions without resource-level permissions. */
  resource: string;
  session: SessionAttributes;
}

/**
 * The first statement among `documents` (policy JSON texts) that explicitly denies the request, or
 * undefined. Documents that do not parse are skipped: IAM validated them when they were stored.
 */
export function findExplicitDeny(documents: Iterable<string>, request: DenyCheckRequest): Readonly<Record<string, unknown>> | undefined {
  for (const document of documents) {
    for (const statement of statementsOf(document)) {
      if (statementDenies(statement, request)) return statement;
    }
  }
  return undefined;
}

function statementsOf(document: string): Record<string, unknown>[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    return [];
  }
  if (!isRecord(parsed)) return [];
  const statement = parsed['Statement'];
  return (Array.isArray(statement) ? statement : [statement]).filter(isRecord);
}

function statementDenies(statement: Record<string, unknown>, request: DenyCheckRequest): boolean {
  if (statement['Effect'] !== 'Deny') return false;
  if ('NotAction' in statement || 'NotResource' in statement || 'NotPrincipal' in statement) return false;
  const actions = stringList(statement['Action']);
  const resources = stringList(statement['Resource']);
  if (actions === undefined || !actions.some((pattern) => wildcardMatch(pattern, request.action, true))) return false;
  if (resources === undefined || !resources.some((pattern) => resourceMatches(pattern, request.resource))) return false;
  return conditionsHold(statement['Condition'], request.session);
}

function resourceMatches(pattern: string, resource: string): boolean {
  if (pattern === '*') return true;
  return resource !== '*' && wildcardMatch(pattern, resource, false);
}

function conditionsHold(condition: unknown, session: SessionAttributes): boolean {
  if (condition === undefined) return true;
  if (!isRecord(condition)) return false;
  return Object.entries(condition).every(([operatorName, block]) => {
    const operator = OPERATORS[operatorName];
    if (operator === undefined || !isRecord(block)) return false;
    return Object.entries(block).every(([key, policyValue]) => {
      const context = contextValue(key, session);
      const values = scalarList(policyValue);
      return context.known && values !== undefined && operator(context.value, values);
    });
  });
}

type Operator = (contextValue: string | undefined, policyValues: string[]) => boolean;

const OPERATORS: Readonly<Record<string, Operator>> = {
  StringEquals: (value, policyValues) => value !== undefined && policyValues.includes(value),
  // Negated operators match a missing key (IAM UG, "Condition operators", negated matching).
  StringNotEquals: (value, policyValues) => value === undefined || !policyValues.includes(value),
  StringLike: (value, policyValues) => value !== undefined && policyValues.some((pattern) => wildcardMatch(pattern, value, false)),
  DateLessThan: (value, policyValues) => compareDates(value, policyValues, (context, policy) => context < policy),
  DateGreaterThan: (value, policyValues) => compareDates(value, policyValues, (context, policy) => context > policy),
};

function compareDates(value: string | undefined, policyValues: string[], holds: (context: number, policy: number) => boolean): boolean {
  const context = value === undefined ? undefined : parseConditionDate(value);
  if (context === undefined) return false;
  return policyValues.some((policyValue) => {
    const policy = parseConditionDate(policyValue);
    return policy !== undefined && holds(context, policy);
  });
}

/** ISO 8601 (date, or date and time with Z or an offset) or epoch seconds, the two forms IAM accepts. */
function parseConditionDate(value: string): number | undefined {
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?$/.test(value)) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}

type ContextValue = { known: false } | { known: true; value: string | undefined };

function contextValue(key: string, session: SessionAttributes): ContextValue {
  const name = key.toLowerCase();
  if (name === 'aws:sourceidentity') return { known: true, value: session.sourceIdentity };
  if (name === 'aws:tokenissuetime') return { known: true, value: session.tokenIssueTime.toISOString() };
  if (name === 'aws:userid') return { known: true, value: session.userId };
  const tagPrefix = 'aws:principaltag/';
  if (name.startsWith(tagPrefix) && name.length > tagPrefix.length) {
    // Session tag keys are case-insensitive.
    const tagKey = name.slice(tagPrefix.length);
    return { known: true, value: session.tags.find((tag) => tag.key.toLowerCase() === tagKey)?.value };
  }
  return { known: false };
}

/** `*` any run of characters, `?` any one character. */
function wildcardMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\*?]/g, (char) => (char === '*' ? '.*' : char === '?' ? '.' : `\\${char}`));
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value);
}

function stringList(value: unknown): string[] | undefined {
  const list = Array.isArray(value) ? value : [value];
  return list.every((item): item is string => typeof item === 'string') ? list : undefined;
}

/** Condition values: a string, number or boolean, or a list of them, compared as text. */
function scalarList(value: unknown): string[] | undefined {
  const list: unknown[] = Array.isArray(value) ? value : [value];
  if (!list.every((item) => typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean')) return undefined;
  return list.map(String);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
