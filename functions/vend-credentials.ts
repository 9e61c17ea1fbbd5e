import { randomIds, systemClock } from '../shared/adapters/system.js';
import { auditWriter, credentialIssuer, lockdownStore, profileReader, tokenVerifier, vendRateLimiter } from '../shared/composition.js';
import { vendQuerySchema, vendRequestSchema } from '../shared/domain/schemas.js';
import { vendCredentials } from '../shared/domain/vend-credentials.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';
import { logger } from '../shared/logger.js';

const deps = {
  store: profileReader(),
  lockdown: lockdownStore(),
  issuer: credentialIssuer(),
  audit: auditWriter(),
  limiter: vendRateLimiter(),
  clock: systemClock,
  ids: randomIds,
  warn: (message: string, data: Record<string, unknown>) => logger.warn(message, data),
};

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: 'caller', body: vendRequestSchema, query: vendQuerySchema },
  async ({ principal, body, query, requestId, sourceIp, userAgent }) => {
    const vended = await vendCredentials(deps, principal, body, { requestId, sourceIp, userAgent });
    const { credentials } = vended;
    logger.info('credentials issued', { profile: vended.profile, grantId: vended.grantId, accessKeyId: credentials.accessKeyId });
    if (query.format === 'credential_process') {
      // Exactly the shape the AWS CLI and SDKs expect from a credential_process helper.
      return json(
        200,
        {
          Version: 1,
          AccessKeyId: credentials.accessKeyId,
          SecretAccessKey: credentials.secretAccessKey,
          SessionToken: credentials.sessionToken,
          Expiration: credentials.expiration,
        },
        requestId,
      );
    }
    return json(
      200,
      {
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
      },
      requestId,
    );
  },
);
