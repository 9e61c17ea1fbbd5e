// After `serverless deploy`: builds the console and uploads it (console/dist) with
// its config.json (the issuer to sign in with, the console's client id) to the stack's console
// bucket, under console/. The page itself is never cached; its assets carry content hashes.
'use strict';

const { existsSync, readdirSync, readFileSync, statSync } = require('node:fs');
const { join, relative, extname } = require('node:path');
const { spawnSync } = require('node:child_process');

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json' };

class DeployConsole {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'after:deploy:deploy': () => this.upload() };
  }

  async upload() {
    const { serverless } = this;
    const provider = serverless.getProvider('aws');
    const root = serverless.config.servicePath;
    const dist = join(root, 'console', 'dist');
    // Always built from the sources being deployed: never an older console/dist left on disk.
    const built = spawnSync(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', join(root, 'console')], { stdio: 'inherit' });
    if (built.status !== 0 || !existsSync(join(dist, 'index.html'))) throw new Error('the console could not be built (vite build console)');
    const stack = await provider.request('CloudFormation', 'describeStacks', { StackName: provider.naming.getStackName() });
    const outputs = Object.fromEntries((stack.Stacks[0].Outputs || []).map((output) => [output.OutputKey, output.OutputValue]));
    const bucket = outputs.ConsoleBucketName;
    if (!bucket) throw new Error('the stack has no ConsoleBucketName output');
    const files = [];
    const walk = (dir) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else files.push(path);
      }
    };
    walk(dist);
    for (const path of files) {
      const key = `console/${relative(dist, path).split('\\').join('/')}`;
      const isAsset = key.startsWith('console/assets/');
      await provider.request('S3', 'putObject', {
        Bucket: bucket,
        Key: key,
        Body: readFileSync(path),
        ContentType: TYPES[extname(path)] || 'application/octet-stream',
        CacheControl: isAsset ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
    }
    // Both as serverless.yml resolved them: the edge's issuer, and custom.console.clientId.
    const config = { issuer: serverless.service.provider.httpApi.authorizers.oidc.issuerUrl, clientId: serverless.service.custom.console.clientId };
    await provider.request('S3', 'putObject', { Bucket: bucket, Key: 'console/config.json', Body: JSON.stringify(config), ContentType: TYPES['.json'], CacheControl: 'no-cache' });
    serverless.cli.log(`console: ${files.length} files uploaded; ${outputs.ConsoleUrl}`);
  }
}

module.exports = DeployConsole;
