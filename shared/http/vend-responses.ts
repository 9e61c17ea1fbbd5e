// What a vend answers: tvm's own JSON, or exactly what the AWS CLI and SDKs expect from a
// credential_process helper.
import type { IssuedCredentials } from '../domain/model.js';
import type { VendResult } from '../domain/vend-credentials.js';

export function vendBody(vended: VendResult) {
  const { credentials } = vended;
  return {
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
      expiration: credentials.expiration,
    },
    profile: vended.profile,
    roleArn: vended.roleArn,
    sessionName: vended.sessionName,
    sourceIdentity: vended.sourceIdentity,
    grantId: vended.grantId,
    requestId: vended.requestId,
    cutOffEpoch: vended.cutOffEpoch,
  };
}

export function credentialProcessBody(credentials: IssuedCredentials) {
  return {
    Version: 1,
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    SessionToken: credentials.sessionToken,
    Expiration: credentials.expiration,
  };
}
