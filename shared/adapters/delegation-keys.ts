// Key construction for the delegations table, in one place (see resources/tables.yml).
import type { CutOffOrder, Engagement, Grant, Profile, Subject } from '../domain/model.js';
import { roleKey } from '../domain/roles.js';

export const PROFILE_SK = '#PROFILE';
export const PROFILES_GSI1PK = 'PROFILES';
export const BY_SUBJECT_INDEX = 'bySubject';
export const BY_GRANT_ID_INDEX = 'byGrantId';
export const BY_PARENT_INDEX = 'byParent';

export const profilePk = (name: string) => `PROFILE#${name}`;
export const subjectKey = (subject: Subject) => `${subject.type}#${subject.id}`;
export const subjectGsi1Pk = (subject: Subject) => `SUBJECT#${subjectKey(subject)}`;
export const grantIdGsi2Pk = (id: string) => `GRANT#${id}`;
export const parentGsi3Pk = (parentId: string) => `PARENT#${parentId}`;
export const grantSkPrefix = 'GRANT#';

export function profileItem(profile: Profile): Record<string, unknown> {
  return {
    PK: profilePk(profile.name),
    SK: PROFILE_SK,
    GSI1PK: PROFILES_GSI1PK,
    GSI1SK: profile.name,
    entity: 'profile',
    ...profile,
  };
}

export function grantKey(grant: Pick<Grant, 'profile' | 'subject' | 'id'>): { PK: string; SK: string } {
  return { PK: profilePk(grant.profile), SK: `${grantSkPrefix}${subjectKey(grant.subject)}#${grant.id}` };
}

export function grantItem(grant: Grant): Record<string, unknown> {
  return {
    ...grantKey(grant),
    GSI1PK: subjectGsi1Pk(grant.subject),
    GSI1SK: `PROFILE#${grant.profile}#${grant.id}`,
    GSI2PK: grantIdGsi2Pk(grant.id),
    ...(grant.parentGrantId ? { GSI3PK: parentGsi3Pk(grant.parentGrantId) } : {}),
    entity: 'grant',
    subjectKey: subjectKey(grant.subject),
    ...grant,
  };
}

const KEY_ATTRIBUTES = ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI3PK', 'entity', 'subjectKey'];

function stripKeys(item: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...item };
  for (const key of KEY_ATTRIBUTES) delete copy[key];
  return copy;
}

export const toProfile = (item: Record<string, unknown>) => stripKeys(item) as unknown as Profile;
export const toGrant = (item: Record<string, unknown>) => stripKeys(item) as unknown as Grant;

// Engagements: ENGAGEMENT#<id> / #ENGAGEMENT, in no index. The item keeps the keys of the grants
// the engagement made, so its grants are read by key (consistently) rather than through an index.
export const ENGAGEMENT_SK = '#ENGAGEMENT';
export const engagementPk = (id: string) => `ENGAGEMENT#${id}`;
export const engagementKey = (id: string) => ({ PK: engagementPk(id), SK: ENGAGEMENT_SK });

export type GrantKey = ReturnType<typeof grantKey>;

export function engagementItem(engagement: Engagement, grantKeys: readonly GrantKey[]): Record<string, unknown> {
  return { ...engagementKey(engagement.id), entity: 'engagement', ...engagement, grantKeys };
}

export function toEngagement(item: Record<string, unknown>): Engagement {
  const { PK: _pk, SK: _sk, entity: _entity, grantKeys: _grantKeys, ...engagement } = item;
  return engagement as unknown as Engagement;
}

export const grantKeysOf = (item: Record<string, unknown>): GrantKey[] => (item.grantKeys as GrantKey[] | undefined) ?? [];

// Revocation ledgers: REVOCATIONS / ROLE#<role key>, one per role (as IAM tells roles apart), in no
// index; all in one partition, so the schedule lists them with one Query (cut-offs are rare).
export const LEDGER_PK = 'REVOCATIONS';
export const ledgerKey = (roleArn: string) => ({ PK: LEDGER_PK, SK: `ROLE#${roleKey(roleArn)}` });

// Cut-off orders: CUTOFF / <order id>, from the decision that wrote one until it is carried out.
export const ORDERS_PK = 'CUTOFF';
export const cutOffOrderKey = (id: string) => ({ PK: ORDERS_PK, SK: id });

export function cutOffOrderItem(order: CutOffOrder): Record<string, unknown> {
  return { ...cutOffOrderKey(order.id), entity: 'cutoff', ...order };
}

/** The order as one action of the decision's transaction: it exists exactly when the decision does. */
export function putCutOffOrder(tableName: string, order: CutOffOrder) {
  return { Put: { TableName: tableName, Item: cutOffOrderItem(order), ConditionExpression: 'attribute_not_exists(PK)' } };
}
