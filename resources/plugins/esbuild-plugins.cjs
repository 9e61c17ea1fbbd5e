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

// The SDK's HTTP protocols load event-stream support (~15 kB) on demand, for operations that stream
// events (S3 SelectObjectContent, Bedrock, Transcribe): tvm calls none. Only that on-demand import
// is replaced (S3's client imports its configuration statically, and keeps it). Should such an
// operation ever be called, it fails saying why.
const EVENT_STREAMS_MESSAGE = 'tvm: AWS SDK event streams are not bundled (resources/plugins/esbuild-plugins.cjs)';
const noEventStreams = {
  name: 'no-event-streams',
  setup(build) {
    build.onResolve({ filter: /^@smithy\/core\/event-streams$/ }, ({ importer }) =>
      /[\\/]protocols[\\/]HttpProtocol\.js$/.test(importer) ? { path: 'event-streams', namespace: 'tvm-no-event-streams' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'tvm-no-event-streams' }, () => ({
      contents: `const refuse = () => { throw new Error(${JSON.stringify(EVENT_STREAMS_MESSAGE)}); };
export class EventStreamSerde { constructor() { refuse(); } }
export const eventStreamSerdeProvider = refuse;`,
      loader: 'js',
    }));
  },
};

module.exports = [sdkPackageVersion, noEventStreams];
