// Runs the local STS endpoint on its own: `tsx local/sts/main.ts --port 3005 [--host 127.0.0.1]`.
// Roles come from local/sts/roles.json; the only caller is LOCAL_TVM_CALLER.
import { parseArgs } from 'node:util';
import { LOCAL_TVM_CALLER, loadLocalRoles, startLocalSts } from './local-sts.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '3005' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be an integer from 0 to 65535, got ${values.port}`);
  process.exit(2);
}

const roles = loadLocalRoles();
const sts = await startLocalSts({ host: values.host, port, roles, callers: [LOCAL_TVM_CALLER] });
console.log(`local STS listening on ${sts.url} (roles: ${roles.map((role) => role.arn).join(', ')})`);

let stopping = false;
const stop = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  console.log(`local STS: ${signal}, stopping`);
  sts.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('local STS: failed to close', error);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
