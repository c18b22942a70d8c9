// Mocha's spec reporter, plus the run's counts written to $RINGDB_TEST_STATS so that
// scripts/test.mjs can add up every suite into one closing line.
const fs = require('node:fs');
const Mocha = require('mocha');

class SpecWithStats extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once('end', () => {
      const out = process.env.RINGDB_TEST_STATS;
      if (!out) return;
      const { passes, failures, pending } = runner.stats;
      fs.writeFileSync(out, JSON.stringify({ passes, failures, pending }));
    });
  }
}

module.exports = SpecWithStats;
