// Generates the typed gRPC stubs in src/engine/gen from proto/ (buf + ts-proto, offline).
// The output is not committed: build, typecheck and tests run this first, so it can never be stale.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
rmSync(`${root}src/engine/gen`, { recursive: true, force: true });
for (const args of [['lint'], ['generate']]) {
  const r = spawnSync('npx', ['--no-install', 'buf', ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`buf ${args[0]} failed (exit ${r.status}); see the messages above`);
    process.exit(1);
  }
}
