// A replication log segment damaged on disk, with real node processes: n1's log holds 20,000 ops
// n2 has not got (n2 was down), one record of its first segment gets a flipped byte, and both
// restart (n1's record cache starts empty, so its sender reads the segment from disk). n1 ships
// every other op, a skip for the lost one, and repairs n2's copy of that key with a Merkle round
// it starts itself (the periodic rounds are an hour apart here). Before, n1's sender stayed at
// the damaged record for good and n2 never got any op past it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { RECORD_HEADER_BYTES } from '../storage/wal-format';
import { TestCluster, waitFor } from './test-harness';

const BATCHES = 20;
const PER_BATCH = 1000;
const OPS = BATCHES * PER_BATCH;
const keyOf = (i: number) => `key-${String(i).padStart(6, '0')}`;

describe('a damaged replication log segment (real processes)', function () {
  this.timeout(180_000);
  let c: TestCluster;

  before(async () => {
    c = await TestCluster.start(2, { merkleIntervalMs: 3_600_000 });
  });
  after(async () => {
    await c?.stop();
  });

  it('ships every op around the damaged record and a skip for it, and repairs the lost op\'s key with a Merkle round', async () => {
    await c.kill('n2');
    const value = Buffer.alloc(1000, 0x61);
    for (let b = 0; b < BATCHES; b++) {
      const entries = Array.from({ length: PER_BATCH }, (_, i) => ({ key: Buffer.from(keyOf(b * PER_BATCH + i)), value }));
      await c.call('n1', (x) => x.batchPut, { entries });
    }
    const logDir = path.join(c.node('n1').config.dataDir, 'replication_log');
    const segments = () => readdirSync(logDir).filter((f) => f.endsWith('.log')).sort();
    assert.ok(segments().length >= 2, `${segments().length} segments: the first one is closed`);
    const first = path.join(logDir, segments()[0]);
    // A segment indexed on open is not read then: the damage is found by the sender that needs it.
    await waitFor('the first segment\'s index', () => existsSync(first.replace(/\.log$/, '.idx')));
    await c.terminate('n1');

    // Flip a byte inside the value of the segment's 101st op (after its header record).
    const bytes = readFileSync(first);
    let p = 0;
    for (let record = 0; record < 101; record++) p += RECORD_HEADER_BYTES + bytes.readUInt32LE(p);
    const payload = p + RECORD_HEADER_BYTES;
    const keyAt = payload + 19 + bytes[payload + 18];
    const lostKey = bytes.subarray(keyAt + 4, keyAt + 4 + bytes.readUInt32LE(keyAt)).toString();
    bytes[p + RECORD_HEADER_BYTES + bytes.readUInt32LE(p) - 10] ^= 0xff;
    writeFileSync(first, bytes);

    const n1 = await c.restart('n1');
    await c.restart('n2');
    await waitFor('n2 has every seq of n1', async () => Number((await c.call('n2', (x) => x.stats, {})).stats?.versionVector.n1 ?? 0) === OPS, 60_000);
    const logged = () => n1.output.join('');
    await waitFor('n1 reports the lost op and its Merkle round', () => /Merkle round with n2 after the lost log records: \d+ keys sent/.test(logged()), 30_000);
    assert.match(logged(), new RegExp(`replication log ${path.basename(first)} is damaged \\(first at byte ${p}: record payload fails its checksum\\): 1 op in it cannot be read \\(n1:\\d+\\)\\. n2 got it as skipped`));
    assert.doesNotMatch(logged(), /replication to n2 is stuck/);

    const got = await c.call('n2', (x) => x.get, { key: Buffer.from(lostKey) });
    assert.ok(got.found && got.value.equals(value), `n2 holds ${lostKey}, the lost op's key, after the repair`);
    for (const i of [0, 99, 101, 5000, OPS - 1]) {
      const g = await c.call('n2', (x) => x.get, { key: Buffer.from(keyOf(i)) });
      assert.ok(g.found && g.value.equals(value), `n2 holds ${keyOf(i)}`);
    }
  });
});
