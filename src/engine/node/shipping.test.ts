// What each destination receives for a log window under a partition map: the window itself when
// the destination replicates every op of it (so the batch can travel as the log's records), else
// skips in place of ops of partitions it does not replicate, and hints where the coordinator
// picked it as a stand-in.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createPartitionMap, preferenceList } from '../partitioning';
import type { Op } from '../replication/op-codec';
import { isSkip } from '../replication/op-codec';
import { partitionMapToProto } from '../rpc/partition-map-proto';
import { NodeFileSystem } from '../storage/node-fs';
import { PartitionState } from './partition-state';
import { PartitionedShipping, type ShippedOp, WriteAcks } from './shipping';

function window(count: number): Op[] {
  return Array.from({ length: count }, (_, i) => ({ origin: 'n1', seq: i + 1, ts: i + 1, key: Buffer.from(`key-${i}`), value: Buffer.from('v') }));
}

describe('partitioned shipping', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'ringdb-shipping-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function stateWith(nodes: string[], replicationFactor: number): PartitionState {
    const state = PartitionState.open(new NodeFileSystem(), dir);
    assert.equal(state.update(partitionMapToProto(createPartitionMap({ numPartitions: 16, replicationFactor }, nodes)), new Map()), true);
    return state;
  }

  it('hands back the window itself when the destination replicates every op of it (no map, or N = every node)', () => {
    const ops = window(50);
    const unmapped = new PartitionedShipping(PartitionState.open(new NodeFileSystem(), dir));
    assert.equal(unmapped.batchFor('n2', ops), ops);
    const everywhere = new PartitionedShipping(stateWith(['n1', 'n2', 'n3'], 3));
    assert.equal(everywhere.batchFor('n2', ops), ops);
    assert.equal(everywhere.batchFor('n3', ops), ops);
  });

  it('places each op again once a newer map stops a destination from replicating everything', () => {
    const state = stateWith(['n1', 'n2', 'n3'], 3);
    const shipping = new PartitionedShipping(state);
    const ops = window(200);
    assert.equal(shipping.batchFor('n2', ops), ops);
    assert.equal(state.update(partitionMapToProto(state.map!.next({ replicationFactor: 1 })), new Map()), true);
    const shaped = shipping.batchFor('n2', ops);
    assert.notEqual(shaped, ops);
    assert.ok(shaped.some(isSkip) && !shaped.every(isSkip), 'with N=1 of 3, n2 replicates some of 200 keys, not all');
  });

  it('puts a skip where the destination does not replicate the partition, keeping every origin seq in order', () => {
    const state = stateWith(['n1', 'n2', 'n3', 'n4', 'n5'], 2);
    const shipping = new PartitionedShipping(state);
    const ops = window(200);
    const map = state.map!;
    for (const dest of ['n2', 'n3', 'n4', 'n5']) {
      const shaped = shipping.batchFor(dest, ops);
      assert.notEqual(shaped, ops, `with N=2 of 5 nodes, ${dest} misses some of 200 keys`);
      assert.deepEqual(shaped.map((op) => op.seq), ops.map((op) => op.seq));
      shaped.forEach((op, i) => {
        const replicates = preferenceList(map, state.partitionOf(map, ops[i].key)).includes(dest);
        if (replicates) assert.equal(op, ops[i]);
        else assert.ok(isSkip(op) && op.origin === ops[i].origin && op.ts === ops[i].ts, `op ${i} to ${dest} is a skip`);
      });
    }
  });

  it('tags an op as a hint for the destination the coordinator picked as a stand-in, and only that one', () => {
    const shipping = new PartitionedShipping(stateWith(['n1', 'n2', 'n3'], 3));
    const ops = window(10);
    shipping.recordHints('n1', 4, new Map([['n3', 'n2']]));
    assert.equal(shipping.batchFor('n2', ops), ops);
    const toN3 = shipping.batchFor('n3', ops) as readonly ShippedOp[];
    assert.notEqual(toN3, ops);
    toN3.forEach((op, i) => assert.equal(op.hintedFor, i === 3 ? 'n2' : undefined));
  });
});

describe('write acknowledgements', () => {
  it('count a destination once its sender cursor passes the op or its heartbeat says it holds the seq, and answer with fewer at the deadline', async () => {
    const cursors = new Map<string, number>([['n2', 11]]);
    const acks = new WriteAcks((dest) => cursors.get(dest));
    // n2's cursor is already past LSN 10: acknowledged at once.
    assert.deepEqual(await acks.wait({ lsn: 10, seq: 5 }, ['n2'], 1, 1000), ['n2']);
    const waiting = acks.wait({ lsn: 20, seq: 7 }, ['n2', 'n3', 'n4'], 2, 5000);
    acks.onSeen('n3', 6); // holds seq 6, not 7
    acks.onCursor('n2', 20); // not past LSN 20
    acks.onSeen('n3', 7);
    acks.onCursor('n4', 21);
    assert.deepEqual(await waiting, ['n3', 'n4']);
    // What a heartbeat said is kept: a later wait for an older seq is answered at once.
    assert.deepEqual(await acks.wait({ lsn: 15, seq: 7 }, ['n3'], 1, 1000), ['n3']);
    assert.deepEqual(await acks.wait({ lsn: 30, seq: 9 }, ['n2', 'n3'], 2, 50), [], 'nobody holds seq 9: fewer than asked at the deadline');
  });
});
