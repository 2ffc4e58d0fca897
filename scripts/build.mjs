// Builds nestvisor with the TypeScript compiler, installing the dev dependencies
// first when a fresh checkout has none, so that `npm start` and `npm test` are
// each a complete set-up on a new machine.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
if (!existsSync(join(root, 'node_modules', 'typescript', 'bin', 'tsc'))) {
  console.error('nestvisor: installing build dependencies (npm install) ...');
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error']);
}
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root]);
