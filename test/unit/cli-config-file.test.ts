// ~/.config/tvm/config.json is checked by hand (zod would slow every credential_process call):
// every field tvm knows is accepted, and every mistake is named with its field.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError, EXIT } from '../../cli/errors.js';
import { readConfigFile } from '../../cli/settings.js';

let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tvm-config-'));
  path = join(dir, 'config.json');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function problemOf(content: string): Promise<CliError> {
  await writeFile(path, content);
  const error = await readConfigFile(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof CliError)) throw new Error(`expected a CliError, got ${String(error)}`);
  return error;
}

describe('readConfigFile', () => {
  it('reads every setting tvm knows, and a missing file as no settings', async () => {
    // Prepare
    const config = { url: 'https://tvm.example.com', token_command: 'sso token', issuer: 'https://idp.example.com/', client_id: 'tvm-cli' };
    await writeFile(path, JSON.stringify(config));

    // Act / Assess
    expect(await readConfigFile(path)).toEqual(config);
    expect(await readConfigFile(join(dir, 'missing.json'))).toEqual({});
  });

  it.each<[string, string, string]>([
    ['a URL that is not one', '{"url":"tvm.example.com"}', 'url: expected a URL'],
    ['an issuer that is not a string', '{"issuer":42}', 'issuer: expected a URL'],
    ['an empty token command', '{"token_command":""}', 'token_command: expected a non-empty string'],
    ['a field tvm does not know', '{"token":"secret"}', 'token: not a setting tvm knows'],
    ["an object's inherited name", '{"toString":"x","__proto__":{}}', 'toString: not a setting tvm knows; __proto__: not a setting tvm knows'],
    ['a list', '["https://tvm.example.com"]', 'file: expected an object'],
    ['null', 'null', 'file: expected an object'],
  ])('names %s, as a usage error', async (_name, content, problem) => {
    // Act
    const error = await problemOf(content);

    // Assess
    expect({ exitCode: error.exitCode, code: error.code, message: error.message }).toEqual({ exitCode: EXIT.usage, code: 'BAD_CONFIG', message: `${path}: ${problem}` });
  });

  it('names every problem at once', async () => {
    expect((await problemOf('{"url":"x","client_id":""}')).message).toBe(`${path}: url: expected a URL; client_id: expected a non-empty string`);
  });
});
