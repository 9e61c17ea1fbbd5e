// What tvm denies when it cuts sessions off, and whom each kind of revocation reaches. The policy
// that enforces them is revocation-policy.ts's; this part is small enough for the vend to carry
// (recent-cut-offs.ts).

/** `before` is an ISO 8601 date-time; sessions issued strictly before it are denied. */
export type Revocation =
  | { readonly kind: 'person'; readonly sourceIdentity: string; readonly before: string }
  /** The sessions vended under one grant (their `tvm:grant` session tag). */
  | { readonly kind: 'grant'; readonly grantId: string; readonly before: string }
  | {
      readonly kind: 'lockdown';
      /**
       * SourceIdentities that keep working. Sessions WITHOUT a SourceIdentity are cut too, on
       * purpose: IAM evaluates a negated operator on a missing key as true, and a session that does
       * not say who it is cannot be on an allow list.
       */
      readonly allowedSourceIdentities: readonly string[];
      /** Sessions tagged `tvm:lockdown` with this value keep working too (see lockdownExemption). */
      readonly exemptTag?: string;
      readonly before: string;
    }
  | { readonly kind: 'role-wide'; readonly before: string };

/** What a revocation is matched against: a session as its issuance recorded it. */
export interface SessionFacts {
  readonly sourceIdentity: string;
  readonly grantId?: string;
  readonly lockdownExemption?: string;
  /** When it was issued, or a moment after (STS's TokenIssueTime is no later). */
  readonly issuedAt: string;
}

/**
 * Whether the revocation's test, its time aside, matches the session: the person, the grant, or
 * everyone but a lockdown's allowed (role-wide: everyone).
 */
export function matchesSession(revocation: Revocation, session: Omit<SessionFacts, 'issuedAt'>): boolean {
  switch (revocation.kind) {
    case 'role-wide':
      return true;
    case 'person':
      return session.sourceIdentity === revocation.sourceIdentity;
    case 'grant':
      return session.grantId === revocation.grantId;
    case 'lockdown':
      return (
        !revocation.allowedSourceIdentities.includes(session.sourceIdentity) &&
        (revocation.exemptTag === undefined || session.lockdownExemption !== revocation.exemptTag)
      );
  }
}
