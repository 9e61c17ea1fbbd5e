import { randomIds, systemClock } from '../shared/adapters/system.js';
import { auditWriter, consoleSignInDeps, credentialIssuer, lockdownReader, profileReader, tokenVerifier, vendRateLimiter } from '../shared/composition.js';
import { signInToConsole } from '../shared/domain/console-sign-in.js';
import { ValidationError } from '../shared/domain/errors.js';
import { vendQuerySchema, vendRequestSchema } from '../shared/domain/schemas.js';
import { vendCredentials } from '../shared/domain/vend-credentials.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';
import { logger } from '../shared/logger.js';

const deps = {
  store: profileReader(),
  lockdown: lockdownReader(),
  issuer: credentialIssuer(),
  audit: auditWriter(),
  limiter: vendRateLimiter(),
  clock: systemClock,
  ids: randomIds,
  warn: (message: string, data: Record<string, unknown>) => logger.warn(message, data),
};
const consoleSignIn = consoleSignInDeps();

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: 'caller', body: vendRequestSchema, query: vendQuerySchema },
  async ({ principal, body, query, requestId, sourceIp, userAgent }) => {
    const { destination, ...request } = body;
    const forConsole = query.format === 'console';
    if (destination !== undefined && !forConsole) throw new ValidationError('body.destination: only with ?format=console');
    const vended = await vendCredentials(deps, principal, request, { requestId, sourceIp, userAgent }, forConsole ? { format: 'console' } : {});
    const { credentials } = vended;
    logger.info('credentials issued', { profile: vended.profile, grantId: vended.grantId, accessKeyId: credentials.accessKeyId });
    // Recorded already: should the federation endpoint fail, the credentials are simply dropped.
    if (forConsole) return json(200, await signInToConsole(consoleSignIn, credentials, destination), requestId);
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
        cutOffEpoch: vended.cutOffEpoch,
      },
      requestId,
    );
  },
);
