// Where the CLI finds the API and the caller's token: flags, then the environment, then
// ~/.config/tvm/config.json, then (for the URL) the running local stack; the token from TVM_TOKEN
// or a token_command, held only in memory.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError, EXIT } from '../../cli/errors.js';
import type { CliContext } from '../../cli/main.js';
import { resolveSettings } from '../../cli/settings.js';

let home: string;
const stderr: string[] = [];

function aContext(env: Record<string, string | undefined> = {}): CliContext {
  return {
    repoRoot: join(home, 'repo'),
    env,
    homeDir: home,
    stdout: { write: () => true },
    stderr: { write: (chunk) => stderr.push(String(chunk)) },
  };
}

async function writeConfig(config: unknown): Promise<void> {
  await mkdir(join(home, '.config', 'tvm'), { recursive: true });
  await writeFile(join(home, '.config', 'tvm', 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
}

const LOCAL_ISSUER = 'http://localhost:1';

/** The local stack's stack.json; by default its process is this one (alive). */
async function writeStackFile(apiUrl: string, pid: number = process.pid): Promise<void> {
  await mkdir(join(home, 'repo', '.tvm'), { recursive: true });
  await writeFile(join(home, 'repo', '.tvm', 'stack.json'), JSON.stringify({ apiUrl, issuer: LOCAL_ISSUER, pid }));
}

/** A process id no process holds any more. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid;
}

/** An unsigned token with this issuer: what the CLI reads of it before sending it anywhere. */
function tokenFrom(iss: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part({ iss, sub: 'alice@example.com' })}.c2ln`;
}

async function failureOf(work: Promise<unknown>): Promise<CliError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof CliError)) throw new Error(`expected a CliError, got ${String(error)}`);
  return error;
}

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'tvm-settings-'));
  stderr.length = 0;
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('resolveSettings: the URL', () => {
  it('takes --url over TVM_URL over the config file over the local stack', async () => {
    // Prepare
    await writeConfig({ url: 'https://from-config.example.com' });
    await writeStackFile('http://localhost:3000');

    // Act
    const fromFlag = await resolveSettings(aContext({ TVM_URL: 'https://from-env.example.com' }), { url: 'https://from-flag.example.com/' });
    const fromEnv = await resolveSettings(aContext({ TVM_URL: 'https://from-env.example.com' }), {});
    const fromConfig = await resolveSettings(aContext(), {});
    await rm(join(home, '.config'), { recursive: true });
    const fromStack = await resolveSettings(aContext(), {});

    // Assess
    expect([fromFlag.url, fromEnv.url, fromConfig.url, fromStack.url]).toEqual([
      'https://from-flag.example.com',
      'https://from-env.example.com',
      'https://from-config.example.com',
      'http://localhost:3000',
    ]);
  });

  it('reads the config file from $XDG_CONFIG_HOME and the stack file from $TVM_STACK_FILE', async () => {
    // Prepare
    const xdg = join(home, 'xdg');
    await mkdir(join(xdg, 'tvm'), { recursive: true });
    await writeFile(join(xdg, 'tvm', 'config.json'), JSON.stringify({ url: 'https://xdg.example.com' }));
    const stackFile = join(home, 'elsewhere.json');
    await writeFile(stackFile, JSON.stringify({ apiUrl: 'http://localhost:4000', issuer: LOCAL_ISSUER, pid: process.pid }));

    // Act
    const fromXdg = await resolveSettings(aContext({ XDG_CONFIG_HOME: xdg }), {});
    const fromStack = await resolveSettings(aContext({ TVM_STACK_FILE: stackFile }), {});

    // Assess
    expect(fromXdg.url).toBe('https://xdg.example.com');
    expect(fromStack.url).toBe('http://localhost:4000');
  });

  it('is a usage error when there is no URL anywhere, or it is not http(s)', async () => {
    // Act
    const none = await failureOf(resolveSettings(aContext(), {}));
    const bad = await failureOf(resolveSettings(aContext({ TVM_URL: 'file:///etc/passwd' }), {}));

    // Assess
    expect({ exit: none.exitCode, code: none.code }).toEqual({ exit: EXIT.usage, code: 'NO_URL' });
    expect({ exit: bad.exitCode, code: bad.code }).toEqual({ exit: EXIT.usage, code: 'BAD_URL' });
  });

  // A token sent over plain http to another host is a token given away.
  it.each(['http://tvm.example.com', 'http://10.0.0.5:3000', 'http://localhost.example.com'])('refuses the plain-http URL %s: only loopback may skip TLS', async (url) => {
    // Act
    const error = await failureOf(resolveSettings(aContext({ TVM_URL: url }), {}));

    // Assess
    expect({ exit: error.exitCode, code: error.code }).toEqual({ exit: EXIT.usage, code: 'BAD_URL' });
    expect(error.message).toContain('https://');
  });

  it.each(['http://localhost:3000', 'http://127.0.0.1:3000', 'http://[::1]:3000'])('takes the loopback URL %s over plain http', async (url) => {
    // Act
    const settings = await resolveSettings(aContext({ TVM_URL: url }), {});

    // Assess
    expect(settings.url).toBe(url);
  });

  it('uses the local stack only while its process runs, and says so on stderr', async () => {
    // Prepare
    await writeStackFile('http://localhost:3000', deadPid());

    // Act
    const stale = await failureOf(resolveSettings(aContext(), {}));
    await writeStackFile('http://localhost:3000');
    const live = await resolveSettings(aContext(), {});

    // Assess
    expect(stale.code).toBe('NO_URL');
    expect(live.url).toBe('http://localhost:3000');
    expect(stderr.join('')).toContain(`using the local stack at http://localhost:3000 (${join(home, 'repo', '.tvm', 'stack.json')})`);
  });

  it('takes a stack.json for the local stack only when it names this machine', async () => {
    // Prepare: a planted stack.json naming a remote server with a real issuer
    await writeStackFile('https://collector.example.com');

    // Act
    const error = await failureOf(resolveSettings(aContext(), {}));

    // Assess
    expect(error.code).toBe('NO_URL');
  });

  it("never sends the local stack a token from another issuer: only its own dev issuer's", async () => {
    // Prepare
    await writeStackFile('http://localhost:3000');

    // Act
    const foreign = await failureOf(resolveSettings(aContext({ TVM_TOKEN: tokenFrom('https://login.example.com/') }), {}).then((s) => s.token()));
    const byFlag = await failureOf(
      resolveSettings(aContext({ TVM_TOKEN: tokenFrom('https://login.example.com/') }), { url: 'http://localhost:3000/' }).then((s) => s.token()),
    );
    // Another name for the same server is the same server.
    const byAlias = await failureOf(
      resolveSettings(aContext({ TVM_TOKEN: tokenFrom('https://login.example.com/') }), { url: 'http://127.0.0.1:3000' }).then((s) => s.token()),
    );
    const own = await (await resolveSettings(aContext({ TVM_TOKEN: tokenFrom(LOCAL_ISSUER) }), {})).token();

    // Assess
    expect({ exit: foreign.exitCode, code: foreign.code }).toEqual({ exit: EXIT.auth, code: 'FOREIGN_TOKEN' });
    expect(foreign.message).toContain('https://login.example.com/');
    expect(byFlag.code).toBe('FOREIGN_TOKEN');
    expect(byAlias.code).toBe('FOREIGN_TOKEN');
    expect(own).toBe(tokenFrom(LOCAL_ISSUER));
  });

  it.each([
    ['not JSON', '{url:'],
    ['an unknown field', { url: 'https://x.example.com', token: 'secret' }],
    ['a URL that is not one', { url: 'not a url' }],
  ])('refuses a config file with %s as a usage error naming the file', async (_name, config) => {
    // Prepare
    await writeConfig(config);

    // Act
    const error = await failureOf(resolveSettings(aContext({ TVM_URL: 'https://x.example.com' }), {}));

    // Assess
    expect(error.exitCode).toBe(EXIT.usage);
    expect(error.message).toContain(join(home, '.config', 'tvm', 'config.json'));
  });
});

describe('resolveSettings: the token', () => {
  const env = { TVM_URL: 'https://tvm.example.com' };

  it('uses TVM_TOKEN when no token command is given on the command line', async () => {
    // Prepare
    await writeConfig({ token_command: 'echo from-config' });

    // Act
    const settings = await resolveSettings(aContext({ ...env, TVM_TOKEN: 'env-token' }), {});

    // Assess
    expect(await settings.token()).toBe('env-token');
  });

  it('runs --token-command over TVM_TOKEN, and token_command from the config file when neither is set', async () => {
    // Prepare
    await writeConfig({ token_command: 'echo "  from-config  "' });

    // Act
    const fromFlag = await resolveSettings(aContext({ ...env, TVM_TOKEN: 'env-token' }), { tokenCommand: 'printf from-flag' });
    const fromConfig = await resolveSettings(aContext(env), {});

    // Assess
    expect(await fromFlag.token()).toBe('from-flag');
    expect(await fromConfig.token()).toBe('from-config');
  });

  it('runs the token command once, passes its stderr through, and writes nothing to disk', async () => {
    // Prepare
    const counter = join(home, 'runs');
    const settings = await resolveSettings(aContext(env), { tokenCommand: `echo run >> '${counter}'; echo 'sso: opening browser' >&2; echo tok` });

    // Act
    const tokens = [await settings.token(), await settings.token()];

    // Assess
    expect(tokens).toEqual(['tok', 'tok']);
    await expect(readFile(counter, 'utf8')).resolves.toBe('run\n');
    expect(stderr.join('')).toBe('sso: opening browser\n');
    expect((await readdir(home)).sort()).toEqual(['runs']);
  });

  it.each([
    ['exits non-zero', 'echo tok; exit 3', /exited with status 3/],
    ['prints nothing', 'true', /printed no token/],
    ['does not exist', 'no-such-command-tvm-test', /exited with status 127/],
  ])('is an auth error when the token command %s', async (_name, command, message) => {
    // Prepare
    const settings = await resolveSettings(aContext(env), { tokenCommand: command });

    // Act
    const error = await failureOf(settings.token());

    // Assess
    expect({ exit: error.exitCode, code: error.code }).toEqual({ exit: EXIT.auth, code: 'TOKEN_COMMAND' });
    expect(error.message).toMatch(message);
  });

  it('is an auth error when there is no token at all, and only when one is needed', async () => {
    // Prepare
    const settings = await resolveSettings(aContext(env), {});

    // Act
    const error = await failureOf(settings.token());

    // Assess
    expect({ exit: error.exitCode, code: error.code }).toEqual({ exit: EXIT.auth, code: 'NO_TOKEN' });
    expect(error.message).toBe('no token: run tvm login (or set TVM_TOKEN or a token_command; locally, tvm dev-token)');
  });
});
