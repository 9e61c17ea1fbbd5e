// POST /credentials: one vend, answered as tvm's JSON, as a credential_process helper's, or as a
// console sign-in URL.
import { signInToConsole, type ConsoleSignInDeps } from '../../domain/console-sign-in.js';
import { ValidationError } from '../../domain/errors.js';
import { vendQuerySchema, vendRequestSchema } from '../../domain/schemas.js';
import { vendCredentials, type VendDeps } from '../../domain/vend-credentials.js';
import { logger } from '../../logger.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';
import { credentialProcessBody, vendBody } from '../vend-responses.js';

export interface VendHandlerDeps extends VendDeps, RouteAuth {
  readonly consoleSignIn: ConsoleSignInDeps;
}

export const makeVendCredentialsHandler = (deps: VendHandlerDeps) =>
  createRoute(deps, { access: 'caller', body: vendRequestSchema, query: vendQuerySchema }, async ({ principal, body, query, requestId, meta }) => {
    const { destination, ...request } = body;
    const forConsole = query.format === 'console';
    if (destination !== undefined && !forConsole) throw new ValidationError('body.destination: only with ?format=console');
    const vended = await vendCredentials(deps, principal, request, meta, forConsole ? { format: 'console' } : {});
    logger.info('credentials issued', { profile: vended.profile, grantId: vended.grantId, accessKeyId: vended.credentials.accessKeyId });
    // Recorded already: should the federation endpoint fail, the credentials are simply dropped.
    if (forConsole) return json(200, await signInToConsole(deps.consoleSignIn, vended.credentials, destination), requestId);
    return json(200, query.format === 'credential_process' ? credentialProcessBody(vended.credentials) : vendBody(vended), requestId);
  });
