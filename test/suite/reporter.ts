// A mocha reporter for the extension host, where stdout is not visible to the launcher: each
// event is appended as one JSON line to $RINGDB_TEST_REPORT, which the launchers follow.
import { appendFileSync } from 'node:fs';
import Mocha, { type MochaOptions, type Runner, type Suite, type Test } from 'mocha';

type ReportEvent =
  | { event: 'suite'; title: string }
  | { event: 'pass'; title: string; ms: number }
  | { event: 'pending'; title: string }
  | { event: 'fail'; title: string; error: string }
  | { event: 'end'; passes: number; failures: number; pending: number; ms: number };

/** A reporter class for `mocha.reporter()`, writing to `file` (or the console without one). */
export function reporterFor(file: string | undefined): Mocha.ReporterConstructor {
  const attach = attachTo(file);
  return class JsonLinesReporter extends Mocha.reporters.Base {
    constructor(runner: Runner, options?: MochaOptions) {
      super(runner, options);
      attach(runner);
    }
  };
}

function attachTo(file: string | undefined): (runner: Runner) => void {
  const write = (e: ReportEvent): void => {
    if (file) appendFileSync(file, `${JSON.stringify(e)}\n`);
    else console.log(JSON.stringify(e));
  };
  return (runner) => {
    const started = Date.now();
    let passes = 0;
    let failures = 0;
    let pending = 0;
    runner.on('suite', (s: Suite) => { if (s.title) write({ event: 'suite', title: s.fullTitle() }); });
    runner.on('pass', (t: Test) => { passes++; write({ event: 'pass', title: t.title, ms: t.duration ?? 0 }); });
    runner.on('pending', (t: Test) => { pending++; write({ event: 'pending', title: t.title }); });
    runner.on('fail', (t: Test, err: Error) => {
      failures++;
      write({ event: 'fail', title: t.fullTitle(), error: err.stack ?? String(err) });
    });
    runner.once('end', () => write({ event: 'end', passes, failures, pending, ms: Date.now() - started }));
  };
}
