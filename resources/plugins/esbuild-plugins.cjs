// esbuild plugins for the functions' bundles (serverless.yml custom.esbuild.plugins).
//
// Each AWS SDK client imports its whole package.json for one field, the version it puts in its user
// agent: ~2.4 kB of dependency lists per client in every bundle. It gets that field alone.
'use strict';

const { readFile } = require('node:fs/promises');

const sdkPackageVersion = {
  name: 'sdk-package-version',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]@aws-sdk[\\/][^\\/]+[\\/]package\.json$/ }, async ({ path }) => {
      const { version } = JSON.parse(await readFile(path, 'utf8'));
      return { contents: JSON.stringify({ version }), loader: 'json' };
    });
  },
};

module.exports = [sdkPackageVersion];
