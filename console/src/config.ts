// Where the console signs in and what it calls: /console/config.json, written beside the build by
// whoever serves it (the local stack, or the deploy), so one build serves every stage.
export interface ConsoleConfig {
  /** The OIDC issuer people sign in with (its discovery document names the endpoints). */
  readonly issuer: string;
  /** This console's public client id at the issuer. */
  readonly clientId: string;
  /** The API's base URL: the console's own origin unless configured. */
  readonly apiUrl: string;
}

let loaded: Promise<ConsoleConfig> | undefined;

export function consoleConfig(): Promise<ConsoleConfig> {
  loaded ??= fetch(`${import.meta.env.BASE_URL}config.json`, { cache: 'no-store' }).then(async (response) => {
    if (!response.ok) throw new Error(`the console's config.json could not be read (HTTP ${response.status})`);
    const config = (await response.json()) as Partial<ConsoleConfig>;
    if (typeof config.issuer !== 'string' || typeof config.clientId !== 'string') throw new Error("the console's config.json names no issuer or client id");
    return { issuer: config.issuer, clientId: config.clientId, apiUrl: (config.apiUrl ?? location.origin).replace(/\/$/, '') };
  });
  return loaded;
}
