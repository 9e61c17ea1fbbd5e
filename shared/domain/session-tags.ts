// The session tags tvm sets on every session it vends, which its revocation statements match on
// (`aws:PrincipalTag/<key>`). Set only from stored rules: a caller cannot choose them.

/** The grant a session was vended under: revoking the grant cuts off exactly its sessions. */
export const GRANT_TAG = 'tvm:grant';
/** On an allowed caller's session during a lockdown, the lockdown's version: its Deny spares it. */
export const LOCKDOWN_TAG = 'tvm:lockdown';
