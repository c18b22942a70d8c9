// `npm run stop`: ends what `npm start` left running: the background code-server (and with it
// the extension's controller and nodes) and the CLI cluster in ./.ringdb/data.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EDITOR_DIR, root, stopEditor } from './lib/editor.mjs';

const stopped = await stopEditor(EDITOR_DIR);
console.log(stopped ? `stop: code-server (pid ${stopped}) and everything it started ended` : 'stop: no code-server of npm start was running');

const cli = join(root, 'dist/engine/cli.js');
if (!existsSync(cli)) {
  console.log('stop: dist/engine/cli.js is missing (not built), so no CLI cluster can be running from it');
} else if (spawnSync(process.execPath, [cli, 'status'], { cwd: root, stdio: 'ignore' }).status !== 0) {
  console.log('stop: no CLI cluster runs in .ringdb/data');
} else {
  const r = spawnSync(process.execPath, [cli, 'stop'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`stop: "ringdb stop" failed (exit ${r.status ?? r.signal}); see .ringdb/data/controller.log`);
    process.exit(1);
  }
}
