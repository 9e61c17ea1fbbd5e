// A step-up for a person at a terminal signed in with `tvm login`: the API asked for a fresher or
// stronger sign-in (STEP_UP_REQUIRED), so tvm signs them in again in the browser at the issuer of
// the kept token, with the challenge's max_age and acr_values, keeps the new token and hands it
// back for one more try. Loaded only then (api.ts), never for credential_process.
import { openInBrowser } from './browser.js';
import type { CliContext } from './context.js';
import { CliError, EXIT } from './errors.js';
import { claimsOf, DEFAULT_CLIENT_ID, login } from './login.js';
import { configFilePath, readConfigFile } from './settings.js';
import type { StepUpRequiredError } from './step-up.js';
import { loadLogin, saveLogin } from './token-store.js';

/** Signs the person in again as `refusal` asks; the new token. Throws the refusal when there is no kept login to renew. */
export async function signInAgain(context: CliContext, refusal: StepUpRequiredError): Promise<string> {
  const kept = await loadLogin(context);
  if (kept === undefined) throw refusal;
  const { challenge } = refusal;
  const config = await readConfigFile(configFilePath(context));
  context.stderr.write(`tvm: ${refusal.code}: ${refusal.reason}\n`);
  context.stderr.write(`tvm: signing you in again in your browser at ${kept.issuer}: sign in with MFA, and tvm tries once more\n`);
  const result = await login({
    issuer: kept.issuer,
    clientId: config.client_id ?? DEFAULT_CLIENT_ID,
    // No max_age named: a new sign-in, not the one the IdP's session cookie remembers.
    maxAgeSeconds: challenge.maxAgeSeconds ?? 0,
    ...(challenge.acrValues === undefined ? {} : { acrValues: challenge.acrValues }),
    open: (url) => (context.openUrl ?? openInBrowser)(url),
    // stderr: stdout may be going to `eval`.
    tell: (url) => context.stderr.write(`tvm: open this URL in a browser on this machine to sign in:\n${url}\n`),
  });
  // The retry acts for whoever asked: another person signing in at this browser does not inherit it.
  const { sub } = claimsOf(kept.token);
  const before = typeof sub === 'string' ? sub : undefined;
  if (result.subject !== before) {
    throw new CliError(`signed in as ${result.subject ?? 'nobody named'}, not ${before ?? 'the kept sign-in'}: nothing was retried, and the kept sign-in stays`, EXIT.auth, 'STEP_UP_FAILED');
  }
  await saveLogin(context, { token: result.token, issuer: kept.issuer, expiresAt: result.expiresAt });
  return result.token;
}

