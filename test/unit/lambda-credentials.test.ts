// What stands in for the SDK's default credential chain in the Lambda bundles (serverless.yml's
// esbuild alias): the execution role's credentials from Lambda's environment, and nothing else.
import { defaultProvider } from '../../shared/adapters/lambda-credentials.js';

const VARIABLES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CREDENTIAL_EXPIRATION', 'AWS_PROFILE'];
let saved: Record<string, string | undefined>;

beforeEach(() => {
  saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of VARIABLES) delete process.env[name];
});

afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('lambda credentials', () => {
  it("reads the execution role's session from the environment Lambda sets", async () => {
    // Prepare
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'ASIAEXAMPLEEXAMPLE01',
      AWS_SECRET_ACCESS_KEY: 'example-secret',
      AWS_SESSION_TOKEN: 'example-session-token',
    });

    // Act
    const credentials = await defaultProvider({})();

    // Assess
    expect(credentials).toMatchObject({
      accessKeyId: 'ASIAEXAMPLEEXAMPLE01',
      secretAccessKey: 'example-secret',
      sessionToken: 'example-session-token',
    });
  });

  it('fails when the variables are missing, and looks nowhere else (not at a profile)', async () => {
    // Prepare: a profile that the default chain would have followed
    process.env.AWS_PROFILE = 'someone-else';

    // Act
    const failure = defaultProvider({})();

    // Assess
    await expect(failure).rejects.toThrow('Unable to find environment variable credentials');
  });
});
