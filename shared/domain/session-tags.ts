// The session tags tvm sets on every session it vends, which its revocation statements match on
// (`aws:PrincipalTag/<key>`). Set only from stored rules: a caller cannot choose them.

/** The grant a session was vended under: revoking the grant cuts off exactly its sessions. */
export const GRANT_TAG = 'tvm:grant';
/**
 * On an allowed caller's session during a lockdown, the lockdown's version: its Deny spares it.
 * On every other session NO_LOCKDOWN_EXEMPTION, never absent: aws:PrincipalTag includes the role's
 * own tags, and only a session tag of the same key overrides one.
 */
export const LOCKDOWN_TAG = 'tvm:lockdown';
/** The `tvm:lockdown` value of a session no lockdown spares (no lockdown version looks like it). */
export const NO_LOCKDOWN_EXEMPTION = 'none';
