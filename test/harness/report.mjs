// The suite's reporter (test/suite/reporter.ts) appends one JSON object per line to a file;
// the launchers follow that file to print progress live and read the final counts from it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** Prints new report lines as they are appended; returns a function that stops following. */
export function followReport(file, print = console.log) {
  let printed = 0;
  const tick = () => {
    if (!existsSync(file)) return;
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    for (; printed < lines.length; printed++) print(formatLine(JSON.parse(lines[printed])));
  };
  const timer = setInterval(tick, 250);
  return () => { clearInterval(timer); tick(); };
}

function formatLine(e) {
  switch (e.event) {
    case 'suite': return `\n  ${e.title}`;
    case 'pass': return `    ✓ ${e.title} (${e.ms} ms)`;
    case 'pending': return `    - ${e.title} (skipped)`;
    case 'fail': return `    ✗ ${e.title}\n${indent(e.error)}`;
    case 'note': return `    · ${e.text}`;
    case 'end': return `\n  ${e.passes} passing, ${e.failures} failing, ${e.pending} pending (${e.ms} ms)`;
    default: return `    ${JSON.stringify(e)}`;
  }
}

const indent = (text) => String(text).split('\n').map((l) => `        ${l}`).join('\n');

/** The counts of a finished (or crashed) run; a run that never reached `end` counts one failure more. */
export function readCounts(file) {
  const counts = { passes: 0, failures: 0, pending: 0, ended: false };
  if (!existsSync(file)) return counts;
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const e = JSON.parse(line);
    if (e.event === 'pass') counts.passes++;
    else if (e.event === 'fail') counts.failures++;
    else if (e.event === 'pending') counts.pending++;
    else if (e.event === 'end') counts.ended = true;
  }
  return counts;
}

/** Writes {passes, failures, pending} where scripts/test.mjs asked for them ($RINGDB_TEST_STATS). */
export function writeStats(counts) {
  const out = process.env.RINGDB_TEST_STATS;
  const { passes, failures, pending } = counts;
  if (out) writeFileSync(out, JSON.stringify({ passes, failures, pending }));
}
