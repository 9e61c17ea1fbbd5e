// Who a caller is to tvm, by the groups in their verified token: the rule every use case asks.
import type { Principal } from './model.js';

/** Members of the admin group administer every grant, profile and engagement. */
export const isAdmin = (deps: { readonly adminGroup: string }, principal: Principal): boolean => principal.groups.includes(deps.adminGroup);

/** Admins and the security team see every engagement, request and record. */
export const isOverseer = (deps: { readonly adminGroup: string; readonly securityGroup: string }, principal: Principal): boolean =>
  isAdmin(deps, principal) || principal.groups.includes(deps.securityGroup);
