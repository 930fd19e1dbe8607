// A dfc server in its own process, for the availability suites (load, reload, database
// outages, slow clients): its memory can be sampled and it can be signalled. Options come
// as JSON in DFC_TEST_SERVER; secrets from the environment. Uses the built packages
// (`npm run build`). Logs go to stdout; "DFC_READY <json>" on stderr when it listens.
import { createServer } from '@dfc/runtime';

const o = JSON.parse(process.env.DFC_TEST_SERVER ?? '{}');
const server = await createServer({
  policy: o.policy,
  baseDir: o.baseDir,
  env: process.env,
  host: '127.0.0.1',
  port: 0,
  logger: o.logLevel ? { level: o.logLevel } : false,
  logStream: { write: (line) => process.stdout.write(line) },
  admin: { port: 0, token: o.adminToken },
  authFailures: o.authFailures ?? false,
  ...(o.timeouts ? { timeouts: o.timeouts } : {}),
  ...(o.importTimeoutMs ? { importTimeoutMs: o.importTimeoutMs } : {}),
});
const addresses = await server.listen();
process.stderr.write(`DFC_READY ${JSON.stringify(addresses)}\n`);
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  process.stderr.write('DFC_STOPPING\n');
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
