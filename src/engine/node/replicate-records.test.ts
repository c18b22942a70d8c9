// Replicate carrying the sender's log records instead of protocol ops, over real node processes:
// verified record by record (a bad one is INVALID_ARGUMENT naming it, and changes nothing),
// applied exactly once like ops, and what a cluster without a partition map ships between nodes.
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { OpKind, type ReplicateRequest } from '../gen/ringdb/v1/node';
import { measureOps, writeOps, type Op } from '../replication/op-codec';
import { TestCluster, waitFor } from './test-harness';

const b = (s: string) => Buffer.from(s);
const EMPTY = Buffer.alloc(0);

function records(ops: readonly Op[]): { bytes: Buffer; sizes: number[] } {
  const sizes: number[] = [];
  const bytes = Buffer.alloc(measureOps(ops, sizes));
  writeOps(ops, bytes, 0);
  return { bytes, sizes };
}

/** Ops of origin n9 from seq `from` to `to`. */
const n9 = (from: number, to: number): Op[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ origin: 'n9', seq: from + i, ts: 1000 + from + i, key: b(`rec-${from + i}`), value: (from + i) % 4 === 0 ? null : b(`v${from + i}`) }));

describe('Replicate with log records (real process)', function () {
  this.timeout(60_000);
  let c: TestCluster;
  before(async () => {
    c = await TestCluster.start(2);
  });
  after(async () => {
    await c?.stop();
  });

  const replicate = (request: ReplicateRequest) => c.call('n1', (x) => x.replicate, request);

  /** Everything a refused call could have changed on n1. */
  async function observable(): Promise<string> {
    const s = (await c.call('n1', (x) => x.stats, {})).stats!;
    const scan = await c.call('n1', (x) => x.scan, { start: b('rec-'), end: b('rec.'), limit: 0, continuationToken: EMPTY, includeTombstones: true });
    return JSON.stringify({ vv: s.versionVector, c: { ...s.counters, gets: 0, scans: 0 }, log: s.logNextLsn, rows: scan.entries });
  }

  async function refused(request: ReplicateRequest, details: RegExp): Promise<void> {
    const before = await observable();
    await assert.rejects(replicate(request), (err: ServiceError) => {
      assert.equal(err.code, status.INVALID_ARGUMENT, `${err.code}: ${err.details}`);
      assert.match(err.details, details);
      return true;
    });
    assert.equal(await observable(), before);
  }

  it('applies valid records, and refuses corrupted, truncated or invalid ones naming the record, changing nothing', async () => {
    const first = records(n9(1, 3));
    let r = await replicate({ sender: 'n9', ops: [], records: first.bytes });
    assert.deepEqual({ applied: r.applied, duplicates: r.duplicates, lastSeen: r.lastSeen }, { applied: 3, duplicates: 0, lastSeen: { n9: 3 } });
    assert.equal((await c.call('n1', (x) => x.get, { key: b('rec-2') })).value.toString(), 'v2');

    const next = records(n9(4, 6));
    const corrupt = Buffer.from(next.bytes);
    corrupt[next.sizes[0] + 30] ^= 0x40; // inside record 1's payload
    await refused({ sender: 'n9', ops: [], records: corrupt }, new RegExp(`^records: record 1 \\(byte ${next.sizes[0]}\\): record payload fails its checksum`));
    await refused({ sender: 'n9', ops: [], records: next.bytes.subarray(0, next.bytes.length - 3) },
      new RegExp(`^records: record 2 \\(byte ${next.sizes[0] + next.sizes[1]}\\): record of \\d+ bytes runs 3 bytes past the end`));
    await refused({ sender: 'n9', ops: [], records: records([{ ...n9(4, 4)[0], origin: 'bad id' }]).bytes }, /^records\[0\]\.origin: /);
    await refused({ sender: 'n9', ops: [], records: records([{ ...n9(4, 4)[0], seq: 0 }, ...n9(5, 5)]).bytes }, /^records\[0\]\.seq: /);
    await refused({ sender: 'n9', ops: [{ origin: 'n9', seq: 4, ts: 1004, kind: OpKind.OP_KIND_PUT, key: b('k'), value: b('v') }], records: next.bytes }, /^ops: must be empty when records is set/);

    // Overlapping what was applied: the duplicates are dropped, the rest applied once.
    r = await replicate({ sender: 'n9', ops: [], records: records(n9(2, 6)).bytes });
    assert.deepEqual({ applied: r.applied, duplicates: r.duplicates, lastSeen: r.lastSeen }, { applied: 3, duplicates: 2, lastSeen: { n9: 6 } });
    const log = await c.call('n1', (x) => x.replicationLog, { fromLsn: 0, limit: 0 });
    assert.deepEqual(log.entries.filter((e) => e.origin === 'n9').map((e) => e.opId), ['n9:1', 'n9:2', 'n9:3', 'n9:4', 'n9:5', 'n9:6']);
    assert.equal((await c.call('n1', (x) => x.get, { key: b('rec-4') })).found, false, 'n9:4 is a delete');
    assert.equal((await c.call('n1', (x) => x.get, { key: b('rec-6') })).value.toString(), 'v6');

    // A sender of the previous build sends ops: still applied.
    r = await replicate({ sender: 'n9', ops: [{ origin: 'n9', seq: 7, ts: 1007, kind: OpKind.OP_KIND_PUT, key: b('rec-7'), value: b('v7') }] });
    assert.deepEqual(r.lastSeen, { n9: 7 });
  });

  it('ships writes between nodes without a partition map', async () => {
    await c.call('n2', (x) => x.batchPut, { entries: Array.from({ length: 50 }, (_, i) => ({ key: b(`mesh-${i}`), value: b(`m${i}`) })) });
    await c.call('n2', (x) => x.delete, { key: b('mesh-7') });
    await waitFor('n2 writes on n1', async () => (await c.call('n1', (x) => x.stats, {})).stats!.versionVector.n2 === 51);
    assert.equal((await c.call('n1', (x) => x.get, { key: b('mesh-49') })).value.toString(), 'm49');
    assert.equal((await c.call('n1', (x) => x.get, { key: b('mesh-7') })).found, false);
    const n1 = (await c.call('n1', (x) => x.stats, {})).stats!;
    assert.equal(n1.counters!.replicatedApplied, 51 + 7, 'n2\'s ops and the n9 ops above, each once');
  });
});
