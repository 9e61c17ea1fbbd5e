// `npm run pack:cli [-- --out <dir>]`: the CLI as people install it. esbuild bundles the CLI and every
// dependency into ES modules (no tsx, no node_modules), beside a package.json of its own (tvm-cli,
// bin `tvm`, no dependencies, no scripts), a README and the bundled packages' licences; `npm pack`
// makes the tarball, whose path is the last line printed. `npm install -g <tarball>` then needs
// nothing but Node 20+.
import { execFile } from 'node:child_process';
import { copyFile, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { build, type Metafile, type Plugin } from 'esbuild';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_OUT_DIR = join(REPO_ROOT, '.esbuild-cli');
export const PACKAGE_NAME = 'tvm-cli';
/** The ceiling for the tarball: the CLI is a download on every laptop. */
export const MAX_TARBALL_BYTES = 1_000_000;

export interface PackedCli {
  /** The unpacked package: package.json, README.md, THIRD-PARTY-LICENSES.md, bin/tvm.cjs, lib/main.js. */
  readonly packageDir: string;
  /** bin/tvm.cjs in packageDir, the command: runnable as `node <bundle>`. */
  readonly bundle: string;
  /** bin/tvm.cjs's and lib/main.js's bytes. */
  readonly bundleBytes: number;
  /** The source files in bin/tvm.cjs, relative to the repository: what every call loads. */
  readonly entryInputs: readonly string[];
  readonly tarball: string;
  readonly tarballBytes: number;
  readonly version: string;
}

/** cli/tvm.ts's `import('./main.js')`: the other bundle, lib/main.js, not a copy of it. */
const mainBesideBin: Plugin = {
  name: 'main-beside-bin',
  setup(build) {
    build.onResolve({ filter: /^\.\/main\.js$/ }, (args) => (args.importer.endsWith('tvm.ts') ? { path: '../lib/main.js', external: true } : undefined));
  },
};

// commander is CommonJS and requires Node's built-ins: an ES module has no `require` of its own.
const REQUIRE = "import { createRequire as __tvmCreateRequire } from 'node:module';\nconst require = __tvmCreateRequire(import.meta.url);";
// bin/tvm.cjs is CommonJS, which has no import.meta: its URL from __filename instead.
const IMPORT_META_URL = 'var __tvmImportMetaUrl = require("node:url").pathToFileURL(__filename).href;';

/** Builds the package into `<outDir>/package` and packs it into `<outDir>/tvm-cli-<version>.tgz`. */
export async function packCli(outDir: string = DEFAULT_OUT_DIR): Promise<PackedCli> {
  const root = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; description: string };
  const packageDir = join(outDir, 'package');
  await rm(packageDir, { recursive: true, force: true });
  const bundle = join(packageDir, 'bin', 'tvm.cjs');
  const main = join(packageDir, 'lib', 'main.js');
  const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', minify: true, metafile: true, logLevel: 'warning' } as const;
  // Two files: bin/tvm.cjs holds only what a cached `credentials` call runs (fast-path.ts), and
  // imports lib/main.js (commander, zod, jose, every command) for anything else. As one file, Node
  // would parse it all on every call: ~6 ms, half of what that call may add to Node's start-up.
  // CommonJS, as Node starts it ~3 ms sooner than an ES module (it need not set up its ESM loader).
  const entry = await build({
    ...common,
    format: 'cjs',
    entryPoints: [join(REPO_ROOT, 'cli/tvm.ts')],
    outfile: bundle,
    banner: { js: IMPORT_META_URL },
    define: { 'import.meta.url': '__tvmImportMetaUrl' },
    plugins: [mainBesideBin],
  });
  const rest = await build({ ...common, entryPoints: [join(REPO_ROOT, 'cli/main.ts')], outfile: main, banner: { js: REQUIRE } });
  const manifest = {
    name: PACKAGE_NAME,
    version: root.version,
    description: `The tvm command line: ${root.description}`,
    type: 'module',
    bin: { tvm: 'bin/tvm.cjs' },
    files: ['bin/', 'lib/', 'THIRD-PARTY-LICENSES.md'],
    engines: { node: '>=20' },
  };
  await writeFile(join(packageDir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  await copyFile(join(REPO_ROOT, 'cli/release/README.md'), join(packageDir, 'README.md'));
  await writeFile(join(packageDir, 'THIRD-PARTY-LICENSES.md'), await thirdPartyLicenses([entry.metafile, rest.metafile]));

  const tarball = join(outDir, `${PACKAGE_NAME}-${root.version}.tgz`);
  await rm(tarball, { force: true });
  await promisify(execFile)('npm', ['pack', '--pack-destination', outDir, '--silent'], {
    cwd: packageDir,
    // Only npm's own settings: nothing of the repository's npm config applies to this package.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', npm_config_update_notifier: 'false' },
  });
  const tarballBytes = (await stat(tarball)).size;
  if (tarballBytes > MAX_TARBALL_BYTES) throw new Error(`${tarball} is ${tarballBytes} bytes, over ${MAX_TARBALL_BYTES}`);
  const bundleBytes = (await stat(bundle)).size + (await stat(main)).size;
  const entryInputs = Object.keys(entry.metafile.inputs);
  return { packageDir, bundle, bundleBytes, entryInputs, tarball, tarballBytes, version: root.version };
}

/** The licence of every package the bundles hold: their terms ask that copies carry them. */
async function thirdPartyLicenses(metafiles: readonly Metafile[]): Promise<string> {
  const packages = new Set<string>();
  for (const metafile of metafiles) {
    for (const input of Object.keys(metafile.inputs)) {
      const name = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
      if (name) packages.add(name);
    }
  }
  const sections: string[] = [];
  for (const name of [...packages].sort()) {
    const dir = join(REPO_ROOT, 'node_modules', name);
    const { version, license } = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version: string; license?: string };
    const file = (await readdir(dir)).find((entry) => /^licen[cs]e(\.|$)/i.test(entry));
    if (!file) throw new Error(`${name} has no licence file to ship with the bundle`);
    sections.push(`## ${name} ${version} (${license ?? 'see below'})\n\n${(await readFile(join(dir, file), 'utf8')).trim()}\n`);
  }
  return `# Third-party licences\n\nThe tvm CLI bundles these packages.\n\n${sections.join('\n')}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const packed = await packCli(values.out === undefined ? undefined : resolve(values.out));
  process.stdout.write(`${PACKAGE_NAME} ${packed.version}: JavaScript ${(packed.bundleBytes / 1000).toFixed(1)} kB, tarball ${(packed.tarballBytes / 1000).toFixed(1)} kB\n`);
  process.stdout.write(`install: npm install -g ${packed.tarball}\n`);
  process.stdout.write(`${packed.tarball}\n`);
}
