// One-click AWS console sign-in: a vended session handed to the console through the AWS
// federation endpoint, getSigninToken then a login URL, as aws-vault and Granted do. The URL
// carries a sign-in token, a bearer for the session: never logged, never stored. (The 1-hour rule
// is the vend's, in duration.ts.)
import { ValidationError } from './errors.js';
import type { IssuedCredentials } from './model.js';
import type { SigninTokenIssuer } from './ports.js';

export interface ConsoleSignInDeps {
  readonly signin: SigninTokenIssuer;
  /** The federation endpoint, e.g. https://signin.aws.amazon.com/federation. */
  readonly federationEndpoint: string;
  /** The console's address, ending in `/`: destinations are resolved under it. */
  readonly consoleUrl: string;
}

/**
 * 1. Trade the session for a sign-in token (getSigninToken). 2. Answer the login URL that spends
 * it at the destination, which expires with the session.
 */
export async function signInToConsole(
  deps: ConsoleSignInDeps,
  credentials: IssuedCredentials,
  destination?: string,
): Promise<{ signinUrl: string; expiration: string }> {
  const landing = consoleDestination(deps.consoleUrl, destination);
  const token = await deps.signin.getSigninToken(credentials);
  const url = new URL(deps.federationEndpoint);
  url.search = new URLSearchParams({ Action: 'login', Issuer: 'tvm', Destination: landing, SigninToken: token }).toString();
  return { signinUrl: url.href, expiration: credentials.expiration };
}

/** `destination` under the console's address, and never anywhere else (vendRequestSchema refuses the rest first). */
export function consoleDestination(consoleUrl: string, destination = ''): string {
  const base = new URL(consoleUrl);
  const url = new URL(destination.replace(/^\//, ''), base);
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname) || /[\\\s]/.test(destination)) {
    throw new ValidationError('body.destination: must be a path in the AWS console');
  }
  return url.href;
}
