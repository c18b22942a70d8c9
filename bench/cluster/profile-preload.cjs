// Loaded with `NODE_OPTIONS=--require <this file>` by `run.ts --profile <dir>` (Node refuses
// --cpu-prof in NODE_OPTIONS): profiles the whole life of a RingDB controller or node process and
// writes <dir>/<label>-<pid>.cpuprofile when it exits normally (a node's SIGTERM path ends in
// process.exit, which runs this). Does nothing unless RINGDB_BENCH_PROFILE_DIR is set.
'use strict';
const dir = process.env.RINGDB_BENCH_PROFILE_DIR;
if (dir) {
  const inspector = require('node:inspector');
  const fs = require('node:fs');
  const path = require('node:path');
  const script = process.argv[1] ? path.basename(process.argv[1], path.extname(process.argv[1])) : 'node';
  const config = process.argv.indexOf('--config');
  // A node's config file lives in its own folder, named after the node id.
  const label = config > 0 ? `${script}-${path.basename(path.dirname(process.argv[config + 1]))}` : script;
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // The main-thread session answers synchronously, so this completes inside the exit handler.
    session.post('Profiler.stop', (err, res) => {
      if (err || !res) return;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${label}-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
