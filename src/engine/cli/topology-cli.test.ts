// The partitioning commands of the ringdb CLI as a user runs them: rows with --clustering and a
// paged scan, the ring and where views, split/merge/rebalance, hot counters and salting, with
// human and --json output and the usual exit codes (1 failed, 2 bad usage).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strict as assert } from 'node:assert';
import { ControllerClient, Driver } from '../client';
import { eventually } from '../cluster/test-support';
import { cliSuite, json } from './cli-test-support';


interface MapJson {
  version: number;
  nodeIds: string[];
  partitions: { id: number; owner: string; range: string }[];
  saltedKeys: { key: string; keyHex: string; buckets: number }[];
}

describe('ringdb CLI: partitioning commands', function () {
  this.timeout(180_000);
  const { ws, ringdb } = cliSuite();

  before(async () => {
    const started = await ringdb(ws.dir, 'start', '--nodes', '3');
    assert.equal(started.code, 0, started.stderr);
  });

  it('writes rows with --clustering and scans them in order, page by page', async () => {
    for (const ck of ['c', 'a', 'e', 'b', 'd']) {
      const r = await ringdb(ws.dir, 'put', 'orders', `order ${ck}`, '--clustering', ck);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^OK op n\d:\d+ ts \d+ on n\d \(acknowledged by n\d/);
    }
    const got = await ringdb(ws.dir, 'get', 'orders', '--clustering', 'b', '--json');
    assert.equal(json<{ value: string }>(got).value, 'order b');
    const scan = await ringdb(ws.dir, 'scan', 'orders', '--from', 'b', '--to', 'e', '--page', '1', '--json');
    assert.equal(scan.code, 0, scan.stderr);
    const s = json<{ rows: { clusteringKey: string; value: string }[]; pages: number }>(scan);
    assert.deepEqual(s.rows.map((r) => r.clusteringKey), ['b', 'c', 'd']);
    assert.ok(s.pages >= 3, `paged with the continuation token (${s.pages} pages)`);
    const human = await ringdb(ws.dir, 'scan', 'orders', '--limit', '2');
    assert.match(human.stdout, /^CLUSTERING\s+VALUE\s+VERSION\na\s+order a\s+op /);
    assert.match(human.stdout, /2 rows \(more after --limit 2\)/);
    const del = await ringdb(ws.dir, 'delete', 'orders', '--clustering', 'a');
    assert.equal(del.code, 0, del.stderr);
    const gone = await ringdb(ws.dir, 'get', 'orders', '--clustering', 'a');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /"orders"\/"a" not found \(deleted op /);
  });

  it('scan --json gives the bytes of a clustering key that is not printable text in base64, beside its 0x and hex', async () => {
    const controller = ControllerClient.fromDataDir(join(ws.dir, '.ringdb', 'data'));
    const driver = await Driver.connect(controller);
    try {
      for (const ck of [Buffer.from([0x63, 0xff]), 'c\n2', 'plain']) await driver.put({ partitionKey: 'binary-rows', clusteringKey: ck }, 'v');
    } finally {
      driver.close();
      controller.close();
    }
    const s = json<{ rows: { clusteringKey: string; clusteringKeyBase64: string | null }[] }>(await ringdb(ws.dir, 'scan', 'binary-rows', '--json'));
    assert.deepEqual(s.rows.map((r) => [r.clusteringKey, r.clusteringKeyBase64]), [['0x630a32', 'Ywoy'], ['0x63ff', 'Y/8='], ['plain', null]]);
    assert.match((await ringdb(ws.dir, 'scan', 'binary-rows')).stdout, /^CLUSTERING\s+VALUE\s+VERSION\n0x630a32\s+v\s+op .*\n0x63ff\s+v\s+op .*\nplain\s+v\s+op /);
  });

  it('scan --json gives a value that is not UTF-8 in base64 (valueBase64), as get --json does, where its 0x and hex could also be a text value', async () => {
    const binary = Buffer.from([0x76, 0xff, 0x00, 0x80]);
    const controller = ControllerClient.fromDataDir(join(ws.dir, '.ringdb', 'data'));
    const driver = await Driver.connect(controller);
    try {
      await driver.put({ partitionKey: 'binary-values', clusteringKey: 'bin' }, binary);
      await driver.put({ partitionKey: 'binary-values', clusteringKey: 'text' }, '0x76ff0080');
      await driver.put('binary-value', binary);
    } finally {
      driver.close();
      controller.close();
    }
    const s = json<{ rows: { clusteringKey: string; value: string; valueBase64: string | null }[] }>(await ringdb(ws.dir, 'scan', 'binary-values', '--json'));
    assert.deepEqual(s.rows.map((r) => [r.clusteringKey, r.value, r.valueBase64]), [['bin', '0x76ff0080', binary.toString('base64')], ['text', '0x76ff0080', null]]);
    assert.ok(Buffer.from(s.rows[0].valueBase64 ?? '', 'base64').equals(binary));
    // get builds the field with the same helper, on the plain path (--node alone) and through the driver.
    for (const args of [['binary-value'], ['binary-value', '--node', 'n1'], ['binary-values', '--clustering', 'bin']]) {
      const got = json<{ value: string | null; valueBase64: string | null }>(await ringdb(ws.dir, 'get', ...args, '--json'));
      assert.deepEqual([got.value, got.valueBase64], [null, binary.toString('base64')], args.join(' '));
    }
  });

  it('says who acknowledged a write and whose answers a read rests on, with --node as without it', async () => {
    const put = await ringdb(ws.dir, 'put', 'acked', 'v', '--node', 'n2');
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /^OK op n2:\d+ ts \d+ on n2 \(acknowledged by n2(, n\d)+\)$/m);
    const putJson = json<{ replicas: string[]; hinted: Record<string, string> }>(await ringdb(ws.dir, 'put', 'acked', 'w', '--node', 'n2', '--json'));
    assert.equal(putJson.replicas[0], 'n2');
    assert.deepEqual(putJson.hinted, {});

    const missing = await ringdb(ws.dir, 'get', 'never-put', '--node', 'n3');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^ringdb: "never-put" not found \(never written; coordinated by n3, answered by n\d, n\d\)$/m);
    const viaDriver = await ringdb(ws.dir, 'get', 'never-put');
    assert.equal(viaDriver.code, 1);
    assert.match(viaDriver.stderr, /^ringdb: "never-put" not found \(never written; coordinated by n\d, answered by n\d, n\d\)$/m);
    const getJson = json<{ node: string; replicas: string[] }>(await ringdb(ws.dir, 'get', 'never-put', '--node', 'n3', '--json'));
    assert.equal(getJson.node, 'n3');
    assert.equal(getJson.replicas.length, 2, 'R=2 answers');
  });

  it('takes W and R for one request with --w and --r, through --node too, and refuses 0 or one above N in the same words', async () => {
    const all = await ringdb(ws.dir, 'put', 'per-request', 'v', '--w', '3', '--node', 'n1');
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^OK op n1:\d+ ts \d+ on n1 \(acknowledged by n1, n\d, n\d\)$/m, 'W=3: every replica acknowledged, not the configured 2');
    const readAll = json<{ replicas: string[]; value: string }>(await ringdb(ws.dir, 'get', 'per-request', '--r', '3', '--json'));
    assert.deepEqual([readAll.value, readAll.replicas.length], ['v', 3]);
    const readOne = json<{ replicas: string[] }>(await ringdb(ws.dir, 'get', 'per-request', '--r', '1', '--node', 'n2', '--json'));
    assert.equal(readOne.replicas.length, 1);
    const del = json<{ replicas: string[] }>(await ringdb(ws.dir, 'delete', 'per-request', '--w', '3', '--json'));
    assert.equal(del.replicas.length, 3);
    const above = await ringdb(ws.dir, 'put', 'per-request', 'v', '--w', '4');
    assert.equal(above.code, 2);
    assert.match(above.stderr, /w: must be 1 to 3 \(the replication factor\), or unset for the configured 2; got 4/);
    // 0 is refused in the same words as a value above N (on the wire 0 means "the configured R").
    const zero = await ringdb(ws.dir, 'get', 'per-request', '--r', '0');
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /r: must be 1 to 3 \(the replication factor\), or unset for the configured 2; got 0/);
    const zeroW = await ringdb(ws.dir, 'put', 'per-request', 'v', '--w', '0', '--node', 'n1');
    assert.equal(zeroW.code, 2);
    assert.match(zeroW.stderr, /w: must be 1 to 3 \(the replication factor\), or unset for the configured 2; got 0/);
    const negative = await ringdb(ws.dir, 'scan', 'per-request', '--r', '-1');
    assert.equal(negative.code, 2);
    assert.match(negative.stderr, /r: must be 1 to 3 \(the replication factor\), or unset for the configured 2; got -1/);
    // --local answers from one node's copy with no quorum: an R there would be ignored, not applied.
    const local = await ringdb(ws.dir, 'get', 'per-request', '--r', '3', '--node', 'n1', '--local');
    assert.equal(local.code, 2, local.stdout);
    assert.match(local.stderr, /--local reads one node's own copy, without a quorum, so it takes no --r; drop --local to read with R=3/);
  });

  it('shows the ring and where a key lives', async () => {
    const ring = await ringdb(ws.dir, 'ring');
    assert.equal(ring.code, 0, ring.stderr);
    assert.match(ring.stdout, /^partition map version \d+: 128 hash partitions over n1, n2, n3; N=3 W=2 R=2/);
    assert.match(ring.stdout, /\nPID\s+RANGE\s+OWNER\s+REPLICAS\s+SHARE\s+OPS\n0\s+\[token 000000000000…, token 020000000000…\)\s+n\d\s+n\d,n\d,n\d\s+0\.78%/);
    const where = json<{ partitionId: number; replicas: string[] }>(await ringdb(ws.dir, 'where', 'orders', '--json'));
    assert.equal(where.replicas.length, 3);
    // The range in full: shortened to 12 hex digits it cannot show that the key's token is in it.
    const human = (await ringdb(ws.dir, 'where', 'orders')).stdout;
    const [, position, start, end] = /; position ([0-9a-f]{40}), in \[([0-9a-f]{40}), ([0-9a-f]{40}|the end)\);/.exec(human) ?? [];
    assert.ok(position && start <= position && (end === 'the end' || position < end), human);
    const map = json<MapJson>(await ringdb(ws.dir, 'ring', '--json'));
    assert.equal(map.partitions.find((p) => p.id === where.partitionId)?.owner, where.replicas[0]);
  });

  it('splits, merges and rebalances, and refuses bad arguments with exit codes 1 and 2', async () => {
    const before = json<MapJson>(await ringdb(ws.dir, 'ring', '--json'));
    const split = await ringdb(ws.dir, 'split', '5');
    assert.equal(split.code, 0, split.stderr);
    assert.match(split.stdout, /^split partition 5: new partition 128 \[token /);
    const merge = await ringdb(ws.dir, 'merge', '5', '128', '--json');
    assert.equal(merge.code, 0, merge.stderr);
    assert.equal(json<{ map: MapJson }>(merge).map.version, before.version + 2);
    const rebalance = await ringdb(ws.dir, 'rebalance');
    assert.equal(rebalance.code, 0, rebalance.stderr);
    assert.match(rebalance.stdout, /^rebalanced: n1: \d+, n2: \d+, n3: \d+ \(map version \d+; /);

    const cases: [string[], number, RegExp][] = [
      [['split', 'abc'], 2, /<pid> must be a partition id \(an integer from 0, see `ringdb ring`\), got "abc"/],
      [['split', '999'], 2, /pid: no partition 999 in map version \d+/],
      [['split', '0', '--at', 'k'.repeat(70_000)], 2, /--at must be a partition key of 1 to 65536 bytes, got 70000/],
      [['merge', '1', '9'], 1, /pid2: partition 9 is not adjacent to partition 1/],
      [['mark-hot', 'k', '--buckets', '1'], 2, /--buckets must be an integer from 2 to 1024, got "1"/],
    ];
    for (const [args, code, message] of cases) {
      const r = await ringdb(ws.dir, ...args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  it('counts hot keys, salts one, and resets the counters', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await ringdb(ws.dir, 'put', 'hot-key', `v${i}`)).code, 0);
    const hot = json<{ totalOps: number; keys: { key: string; count: number }[] }>(await ringdb(ws.dir, 'hot', '--json'));
    assert.ok(hot.totalOps >= 5);
    assert.ok(hot.keys.some((k) => k.key === 'hot-key' && k.count >= 5), JSON.stringify(hot.keys));
    const marked = await ringdb(ws.dir, 'mark-hot', 'hot-key', '--buckets', '3', '--migrate');
    assert.equal(marked.code, 0, marked.stderr);
    assert.match(marked.stdout, /^"hot-key" is salted over 3 buckets \(map version \d+; value copied to 3 variants\)/);
    const where = json<{ saltBuckets: number; variants: unknown[] }>(await ringdb(ws.dir, 'where', 'hot-key', '--json'));
    assert.deepEqual([where.saltBuckets, where.variants.length], [3, 3]);
    assert.equal((await ringdb(ws.dir, 'put', 'hot-key', 'newest')).code, 0);
    assert.equal((await ringdb(ws.dir, 'get', 'hot-key')).stdout, 'newest\n');
    // Fewer buckets would hide the values written to the others: refused, and the newest still reads.
    const shrink = await ringdb(ws.dir, 'mark-hot', 'hot-key', '--buckets', '2');
    assert.equal(shrink.code, 2, shrink.stderr);
    assert.match(shrink.stderr, /buckets: the key is salted over 3 buckets and can only get more/);
    assert.equal((await ringdb(ws.dir, 'get', 'hot-key')).stdout, 'newest\n');
    const reset = await ringdb(ws.dir, 'hot', '--reset');
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal(json<{ totalOps: number }>(await ringdb(ws.dir, 'hot', '--json')).totalOps, 0);
  });

  it('names a binary hot key by its bytes (0x and hex) in hot, in the ring\'s salted keys and in the map change\'s reason', async () => {
    const key = Buffer.from([0x6b, 0xff, 0x01]);
    const controller = ControllerClient.fromDataDir(join(ws.dir, '.ringdb', 'data'));
    const driver = await Driver.connect(controller);
    try {
      for (let i = 0; i < 5; i++) await driver.put(key, `v${i}`);
      const hot = await ringdb(ws.dir, 'hot');
      assert.equal(hot.code, 0, hot.stderr);
      assert.match(hot.stdout, /^0x6bff01\s+\d+\s+\d+$/m, hot.stdout);
      const asJson = json<{ keys: { key: string; keyHex: string }[] }>(await ringdb(ws.dir, 'hot', '--json'));
      assert.equal(asJson.keys.find((k) => k.keyHex === '6bff01')?.key, '0x6bff01', JSON.stringify(asJson.keys));
      // The map change's reason, sent to every watcher, names the key as the engine's messages do.
      const events = controller.watch();
      const reasons: string[] = [];
      let open = false;
      const following = (async () => {
        for await (const e of events) {
          open = true;
          if (e.type === 'partitionMap') reasons.push(e.reason);
        }
      })();
      // Every stream starts with a snapshot: once one came, the map change cannot be missed.
      await eventually('the watch stream', 15_000, async () => open || undefined);
      await controller.markHotKey(key, 2);
      await eventually('the new map', 15_000, async () => reasons.length > 0 || undefined);
      events.close();
      await following;
      assert.deepEqual(reasons, ['salted key 0x6bff01 over 2 buckets']);
      const ring = await ringdb(ws.dir, 'ring');
      assert.match(ring.stdout, /\nsalted keys: .*0x6bff01 x2/, ring.stdout);
      assert.doesNotMatch(ring.stdout, /\ufffd/);
      const map = json<MapJson>(await ringdb(ws.dir, 'ring', '--json'));
      assert.deepEqual(map.saltedKeys.find((s) => s.keyHex === '6bff01'), { key: '0x6bff01', keyHex: '6bff01', buckets: 2 });
    } finally {
      driver.close();
      controller.close();
    }
  });

  it('get --local answers from one node\'s own copy: a non-replica lacks the key its quorum read finds', async () => {
    const added = await ringdb(ws.dir, 'add-node');
    assert.equal(added.code, 0, added.stderr);
    const key = 'local-copy';
    assert.equal((await ringdb(ws.dir, 'put', key, 'here')).code, 0);
    const where = json<{ replicas: string[] }>(await ringdb(ws.dir, 'where', key, '--json'));
    const outsider = ['n1', 'n2', 'n3', 'n4'].find((id) => !where.replicas.includes(id));
    assert.ok(outsider, `N=3 of 4 nodes leaves one node without ${key} (replicas ${where.replicas.join(', ')})`);

    const quorum = await ringdb(ws.dir, 'get', key, '--node', outsider);
    assert.deepEqual([quorum.code, quorum.stdout], [0, 'here\n'], 'a quorum read coordinated by the outsider finds it');
    const own = await ringdb(ws.dir, 'get', key, '--node', outsider, '--local');
    assert.equal(own.code, 1);
    assert.match(own.stderr, new RegExp(`^ringdb: "${key}" not in ${outsider}'s own copy: ${outsider} is not a replica of "${key}" \\(replicas ${where.replicas.join(', ')}\\)$`, 'm'));
    const salted = await ringdb(ws.dir, 'get', 'hot-key', '--node', 'n1', '--local');
    assert.equal(salted.code, 2);
    assert.match(salted.stderr, /"hot-key" is salted over 3 buckets, whose values live under its variants: `ringdb get hot-key` reads them/);
    assert.match((await ringdb(ws.dir, 'where', 'hot-key')).stdout, /\n\(each replica's own copy is not shown for a salted key: its values live under the variants\)$/m);
    const replica = json<{ value: string; ownCopy: boolean; replicas: string[]; replica: boolean; version: { opId: string } }>(
      await ringdb(ws.dir, 'get', key, '--node', where.replicas[0], '--local', '--json'));
    assert.deepEqual([replica.value, replica.ownCopy, replica.replicas, replica.replica], ['here', true, [where.replicas[0]], true]);
    assert.equal(json<{ replica: boolean }>(await ringdb(ws.dir, 'get', key, '--node', outsider, '--local', '--json')).replica, false);

    const noNode = await ringdb(ws.dir, 'get', key, '--local');
    assert.equal(noNode.code, 2);
    assert.match(noNode.stderr, /--local reads one node's own copy: name the node with --node <id>/);
    const row = await ringdb(ws.dir, 'get', 'orders', '--clustering', 'b', '--node', 'n1', '--local');
    assert.equal(row.code, 2);
    assert.match(row.stderr, /--local reads a plain key/);
    const onPut = await ringdb(ws.dir, 'put', key, 'x', '--local');
    assert.equal(onPut.code, 2, 'put has no --local');

    // where: each replica's own copy, and a down one shown as down, not waited for.
    const copies = async () => json<{ copies: { node: string; holds: string; newest: boolean }[] }>(await ringdb(ws.dir, 'where', key, '--json')).copies;
    await eventually('every replica holding the write', 20_000, async () => ((await copies()).every((c) => c.holds === 'value' && c.newest) ? true : undefined));
    assert.deepEqual((await copies()).map((c) => c.node), where.replicas);
    assert.equal((await ringdb(ws.dir, 'kill', where.replicas[2])).code, 0);
    try {
      const human = await ringdb(ws.dir, 'where', key);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, new RegExp(`\\neach replica's own copy \\(no quorum, no read repair\\):\\n {2}REPLICA +HOLDS +VERSION\\n {2}${where.replicas[0]} +value +op n\\d:\\d+ ts \\d+ +newest heard\\n`));
      assert.match(human.stdout, new RegExp(`\\n {2}${where.replicas[2]} +down +-$`, 'm'));
    } finally {
      assert.equal((await ringdb(ws.dir, 'restart', where.replicas[2])).code, 0);
    }
    assert.match((await ringdb(ws.dir, 'where', 'orders')).stdout, /\nno replica holds "orders" as a plain key \(rows written with --clustering live under it: `ringdb scan orders`\)$/m);
  });
});

describe('ringdb hot --split on a range map (real processes)', function () {
  this.timeout(180_000);
  const { ws, ringdb } = cliSuite();

  it('says that a ring makes every node a replica (replicationFactor is the node count, not the default 3)', async () => {
    const spec = join(ws.dir, 'ring.json');
    writeFileSync(spec, JSON.stringify({ nodes: 4, topology: 'ring' }));
    const r = await ringdb(ws.dir, 'start', '--spec', spec, '--dir', 'ring-data');
    try {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /\nnote: topology "ring": every node holds every key, so replicationFactor is 4 \(the node count\)\n/);
    } finally {
      await ringdb(ws.dir, 'stop', '--dir', 'ring-data');
    }
  });

  it('fails, naming how to split, when a hot partition has no median to split at', async () => {
    const spec = join(ws.dir, 'range.json');
    writeFileSync(spec, JSON.stringify({ nodes: 2, replicationFactor: 2, writeQuorum: 1, readQuorum: 1, partitionStrategy: 'range',
      keyRanges: [{ start: '', end: 'm', node: 'n1' }, { start: 'm', end: null, node: 'n2' }] }));
    assert.equal((await ringdb(ws.dir, 'start', '--spec', spec)).code, 0);
    try {
      // One key makes all the load: its partition has one distinct key, so no median.
      for (let i = 0; i < 6; i++) assert.equal((await ringdb(ws.dir, 'put', 'ha', `v${i}`)).code, 0);
      const r = await ringdb(ws.dir, 'hot', '--split', '4');
      assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^ringdb: no partition split\n {2}\d+: not split: .*no median.*\nsplit it at a key of your choice \(`ringdb split <pid> --at <key>`\), or, when one key makes the load, spread that key \(`ringdb mark-hot <key>`/);
    } finally {
      await ringdb(ws.dir, 'stop');
    }
  });
});

describe('ringdb hot --split with a hot partition\'s owner down (real processes, range map)', function () {
  this.timeout(180_000);
  const { ws, ringdb } = cliSuite();

  it('says the owner is down, so no split key could be sampled, and to restart it', async () => {
    const spec = join(ws.dir, 'range-owner-down.json');
    writeFileSync(spec, JSON.stringify({ nodes: 3, replicationFactor: 2, writeQuorum: 1, readQuorum: 1, partitionStrategy: 'range',
      keyRanges: [{ start: '', end: 'm', node: 'n1' }, { start: 'm', end: null, node: 'n2' }] }));
    assert.equal((await ringdb(ws.dir, 'start', '--spec', spec)).code, 0);
    try {
      assert.equal((await ringdb(ws.dir, 'kill', 'n1')).code, 0);
      assert.equal((await ringdb(ws.dir, 'hot', '--reset')).code, 0);
      // Coordinated by n2, the partition's other replica, which counts them.
      for (let i = 0; i < 12; i++) assert.equal((await ringdb(ws.dir, 'put', `a:${i}`, 'x', '--node', 'n2')).code, 0);
      const r = await ringdb(ws.dir, 'hot', '--split', '10');
      assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^ringdb: no partition split\n {2}0: not split: its owner n1 is down, so no key could be sampled from it to split at\nrestart n1 \(`ringdb restart n1`\) and run `ringdb hot --split 10` again, or split it at a key of your choice/, r.stderr);
      const asJson = json<{ skipped: { pid: number; ownerDown?: string }[] }>(await ringdb(ws.dir, 'hot', '--split', '10', '--json'));
      assert.deepEqual(asJson.skipped.map((s) => [s.pid, s.ownerDown]), [[0, 'n1']]);
    } finally {
      await ringdb(ws.dir, 'stop');
    }
  });
});

describe('ringdb hot with the node that coordinated the workload down (real processes, 3 nodes)', function () {
  this.timeout(180_000);
  const { ws, ringdb } = cliSuite();

  it('says the down node\'s counts are not in the figures, where it read as no workload at all', async () => {
    assert.equal((await ringdb(ws.dir, 'start', '--nodes', '3')).code, 0);
    try {
      for (let i = 0; i < 12; i++) assert.equal((await ringdb(ws.dir, 'put', `w:${i}`, 'x', '--node', 'n1')).code, 0);
      const before = await ringdb(ws.dir, 'hot');
      assert.match(before.stdout, /^12 operations since the last reset\nPID/, before.stdout);
      assert.equal((await ringdb(ws.dir, 'kill', 'n1')).code, 0);
      const hot = await ringdb(ws.dir, 'hot');
      assert.equal(hot.code, 0, hot.stderr);
      assert.match(hot.stdout, /^0 operations since the last reset\nnot counted: n1, not up \(each node counts the requests it coordinated, in memory/, hot.stdout);
      const split = await ringdb(ws.dir, 'hot', '--split', '2');
      assert.equal(split.code, 0, split.stderr);
      assert.match(split.stdout, /^no partition split: none has more than 2 operations\nnot counted: n1, not up /, split.stdout);
    } finally {
      await ringdb(ws.dir, 'stop');
    }
  });
});

describe('ringdb remove-node --dead (real processes)', function () {
  this.timeout(240_000);
  const { ws, ringdb } = cliSuite();

  it('rebuilds a dead node\'s partitions from their other replicas, and refuses it for a node that runs', async () => {
    const spec = join(ws.dir, 'four.json');
    writeFileSync(spec, JSON.stringify({ nodes: 4, replicationFactor: 2, writeQuorum: 2, readQuorum: 1 }));
    assert.equal((await ringdb(ws.dir, 'start', '--spec', spec)).code, 0);
    const controller = ControllerClient.fromDataDir(join(ws.dir, '.ringdb', 'data'));
    const driver = await Driver.connect(controller);
    try {
      // W=2: every key is on both its replicas before n4 dies.
      for (let i = 0; i < 200; i++) await driver.put(`dead-${i}`, `v${i}`);
      const running = await ringdb(ws.dir, 'remove-node', 'n3', '--dead');
      assert.equal(running.code, 1, running.stderr);
      assert.match(running.stderr, /n3 is running \(up\); remove it without "dead", which hands its data over/);
      assert.equal((await ringdb(ws.dir, 'kill', 'n4')).code, 0);
      // Writes while n4 is down leave hints for it on the nodes that stand in.
      const hintedForN4: string[] = [];
      await eventually('writes hinted for n4', 30_000, async () => {
        for (let i = hintedForN4.length; i < 400 && hintedForN4.length < 10; i++) {
          const key = `hinted-${i}-${Date.now()}`;
          const w = await driver.put(key, 'while n4 was down').catch(() => undefined);
          if (w && w.hinted.n4) hintedForN4.push(key);
        }
        return hintedForN4.length >= 10 || undefined;
      });
      const refused = await ringdb(ws.dir, 'remove-node', 'n4');
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /node n4 is down; it must be up\. Restart it, or, if it is gone for good, remove it as dead \(`ringdb remove-node n4 --dead`\)/);
      const removed = await ringdb(ws.dir, 'remove-node', 'n4', '--dead');
      assert.equal(removed.code, 0, removed.stderr);
      assert.match(removed.stdout, /^removed n4 \(\d+ partitions moved, \d+ entries copied to the nodes that took over, from the other replicas\)/);
      const status = json<{ nodes: { id: string }[] }>(await ringdb(ws.dir, 'status', '--json'));
      assert.deepEqual(status.nodes.map((n) => n.id), ['n1', 'n2', 'n3']);
      // Every key is on two of the three remaining nodes, each one's own copy: none was lost.
      for (let i = 0; i < 200; i += 7) {
        const where = json<{ copies: { node: string; holds: string }[] }>(await ringdb(ws.dir, 'where', `dead-${i}`, '--json'));
        assert.deepEqual(where.copies.map((c) => c.holds), ['value', 'value'], `dead-${i}: ${JSON.stringify(where.copies)}`);
      }
      // The hints for n4 cannot reach it any more: they go to their keys' current replicas, not on waiting forever.
      await eventually('no hint left for n4', 30_000, async () => {
        const s = json<{ hints?: { target: string; count: number }[] }>(await ringdb(ws.dir, 'status', '--json'));
        return (s.hints ?? []).every((h) => h.target !== 'n4' || h.count === 0) || undefined;
      });
      assert.doesNotMatch((await ringdb(ws.dir, 'status')).stdout, /for n4/);
      for (const key of hintedForN4) {
        const where = json<{ copies: { holds: string }[] }>(await ringdb(ws.dir, 'where', key, '--json'));
        assert.deepEqual(where.copies.map((c) => c.holds), ['value', 'value'], `${key}: ${JSON.stringify(where.copies)}`);
      }
    } finally {
      driver.close();
      controller.close();
      await ringdb(ws.dir, 'stop');
    }
  });
});

describe('ringdb put with every replica of the key down (real processes, 5 nodes, N=3)', function () {
  this.timeout(180_000);
  const { ws, ringdb } = cliSuite();

  it('keeps the write as hints on the nodes that are up, says so, where shows who holds them until the replicas are back, and scan refuses to list the partition until then', async () => {
    assert.equal((await ringdb(ws.dir, 'start', '--nodes', '5')).code, 0);
    try {
      const { replicas } = json<{ replicas: string[] }>(await ringdb(ws.dir, 'where', 'sloppy', '--json'));
      for (const id of replicas) assert.equal((await ringdb(ws.dir, 'kill', id)).code, 0);
      const others = ['n1', 'n2', 'n3', 'n4', 'n5'].filter((id) => !replicas.includes(id));
      const put = await eventually('the write kept as hints', 30_000, async () => {
        const r = await ringdb(ws.dir, 'put', 'sloppy', 'while-down');
        return r.code === 0 ? r : undefined;
      });
      assert.match(put.stdout, /^OK op n\d:\d+ ts \d+ on n\d \(acknowledged by n\d, n\d; hints: .+\)$/m);
      for (const id of replicas) assert.match(put.stdout, new RegExp(`n\\d for ${id}\\b`), `a hint for ${id}`);
      assert.equal((await ringdb(ws.dir, 'get', 'sloppy')).stdout, 'while-down\n');
      const scan = await ringdb(ws.dir, 'scan', 'sloppy');
      assert.equal(scan.code, 1, 'no replica can list the partition, so the scan fails rather than list it empty');
      assert.match(scan.stderr, new RegExp(`r: a scan of partition \\d+ needs 2 of its replicas \\(${replicas.join(', ')}\\) but only 0 answered \\(none\\); .*ringdb restart ${replicas[0]}`), scan.stderr);

      const where = await ringdb(ws.dir, 'where', 'sloppy');
      assert.equal(where.code, 0, where.stderr);
      assert.match(where.stdout, /\nhints of it \(kept for a replica that was down, handed over when it is back\):\n {2}HOLDER +FOR +VERSION +HOLDS\n/);
      for (const id of replicas) assert.match(where.stdout, new RegExp(`\\n {2}(${others.join('|')}) +${id} +op n\\d:\\d+ ts \\d+ +value`), `the hint for ${id}`);

      for (const id of replicas) assert.equal((await ringdb(ws.dir, 'restart', id)).code, 0);
      const after = await eventually('the hints handed over', 60_000, async () => {
        const w = json<{ copies: { holds: string }[]; hints: unknown[] }>(await ringdb(ws.dir, 'where', 'sloppy', '--json'));
        return w.hints.length === 0 && w.copies.every((c) => c.holds === 'value') ? w : undefined;
      });
      assert.equal(after.copies.length, 3);
      // The coordinator's heartbeat may not yet have seen every restarted replica up.
      await eventually('all three replicas answering --r 3', 30_000, async () => ((await ringdb(ws.dir, 'scan', 'sloppy', '--r', '3')).code === 0 ? true : undefined));
      assert.doesNotMatch((await ringdb(ws.dir, 'where', 'sloppy')).stdout, /hints of it/);
    } finally {
      await ringdb(ws.dir, 'stop');
    }
  });
});

describe('ringdb status with the read cache on (real processes)', function () {
  this.timeout(180_000);
  const { ws, ringdb } = cliSuite();

  it('shows each node\'s read-cache hits and misses', async () => {
    const spec = join(ws.dir, 'cached.json');
    writeFileSync(spec, JSON.stringify({ nodes: 2, cacheSize: 100 }));
    assert.equal((await ringdb(ws.dir, 'start', '--spec', spec)).code, 0);
    try {
      assert.equal((await ringdb(ws.dir, 'put', 'cached', 'v', '--node', 'n1')).code, 0);
      for (let i = 0; i < 3; i++) assert.equal((await ringdb(ws.dir, 'get', 'cached', '--node', 'n1')).code, 0);
      const status = await ringdb(ws.dir, 'status');
      assert.match(status.stdout, /\nread cache \(cacheSize 100 per node, since each node started\):\n {2}n1: \d+ hits? of \d+ reads?( \(\d+ %\))?, \d+ entr(y|ies) cached\n {2}n2: /);
      const json = JSON.parse((await ringdb(ws.dir, 'status', '--json')).stdout) as { readCache: Record<string, { hits: number; misses: number }> };
      assert.deepEqual(Object.keys(json.readCache).sort(), ['n1', 'n2']);
      const reads = Object.values(json.readCache).reduce((n, c) => n + c.hits + c.misses, 0);
      assert.ok(reads >= 3, `three gets and no read through a cache: ${JSON.stringify(json.readCache)}`);
      // A node that does not answer is named, with why, instead of being left out of the list.
      const n2 = (JSON.parse((await ringdb(ws.dir, 'status', '--json')).stdout) as { nodes: { id: string; pid: number }[] }).nodes.find((n) => n.id === 'n2')!;
      process.kill(n2.pid, 'SIGSTOP');
      try {
        const hung = await ringdb(ws.dir, 'status');
        assert.equal(hung.code, 0, hung.stderr);
        assert.match(hung.stdout, /\n {2}n1: \d+ hits? of \d+ reads?.*\n {2}n2: no counters: .*deadline.* \(a busy or hung node; `ringdb status` asks again\)/i);
      } finally {
        process.kill(n2.pid, 'SIGCONT');
      }
    } finally {
      await ringdb(ws.dir, 'stop');
    }
  });
});

describe('ringdb get and put with a node down or outside the key\'s replicas (real processes)', function () {
  this.timeout(180_000);
  const { ws, ringdb } = cliSuite();

  it('refuses a request sent with --node to a node that is down in the same words with --r, --w or --clustering as without, and writes nothing', async () => {
    assert.equal((await ringdb(ws.dir, 'start', '--nodes', '3')).code, 0);
    try {
      assert.equal((await ringdb(ws.dir, 'put', 'k', 'v', '--w', '3')).code, 0);
      assert.equal((await ringdb(ws.dir, 'kill', 'n3')).code, 0);
      const plain = await ringdb(ws.dir, 'get', 'k', '--node', 'n3');
      assert.equal(plain.code, 1, plain.stdout);
      assert.match(plain.stderr, /^ringdb: node n3 is down: /, plain.stderr);
      const refused = { code: plain.code, stdout: '', stderr: plain.stderr };
      const withR = await ringdb(ws.dir, 'get', 'k', '--node', 'n3', '--r', '3');
      assert.deepEqual(withR, refused, 'get --r 3 through the driver');
      const put = await ringdb(ws.dir, 'put', 'k', 'v2', '--node', 'n3', '--w', '2');
      assert.deepEqual(put, refused, 'put --w 2 through the driver');
      const row = await ringdb(ws.dir, 'put', 'k', 'v2', '--node', 'n3', '--clustering', 'c');
      assert.deepEqual(row, refused, 'put --clustering through the driver');
      // A --w no cluster accepts is a usage error, as without --node, whatever n3's state.
      const badW = await ringdb(ws.dir, 'put', 'k', 'v2', '--node', 'n3', '--w', '9');
      assert.deepEqual([badW.code, badW.stderr], [2, (await ringdb(ws.dir, 'put', 'k', 'v2', '--w', '9')).stderr], badW.stderr);
      const after = json<{ value: string; replicas: string[] }>(await ringdb(ws.dir, 'get', 'k', '--r', '2', '--json'));
      assert.deepEqual([after.value, after.replicas.length], ['v', 2], 'the refused put wrote nothing');
      const { rows } = json<{ rows: { clusteringKey: string | null }[] }>(await ringdb(ws.dir, 'scan', 'k', '--r', '2', '--json'));
      assert.deepEqual(rows.filter((r) => r.clusteringKey === 'c'), [], 'the refused row put wrote nothing');
    } finally {
      await ringdb(ws.dir, 'stop');
    }
  });
  it('says which node answered or coordinated instead when the node named with --node is not down but does not answer (SIGSTOPped)', async () => {
    const dir = ['--dir', 'hung'];
    assert.equal((await ringdb(ws.dir, 'start', '--nodes', '3', ...dir)).code, 0);
    try {
      assert.equal((await ringdb(ws.dir, 'put', 'k', 'v', '--w', '3', ...dir)).code, 0);
      const n2 = json<{ nodes: { id: string; pid: number }[] }>(await ringdb(ws.dir, 'status', '--json', ...dir)).nodes.find((n) => n.id === 'n2')!;
      process.kill(n2.pid, 'SIGSTOP');
      try {
        // The controller still lists a stopped process as up or suspect, so the request goes ahead and the driver passes n2 over.
        const got = await ringdb(ws.dir, 'get', 'k', '--node', 'n2', '--r', '1', ...dir);
        assert.deepEqual([got.code, got.stdout], [0, 'v\n'], got.stderr);
        const note = /^ringdb: asked n2 \(--node\) first: .+; n[13] answered instead \(n2 was not down but did not answer, hung or overloaded: `ringdb status` shows its state; `ringdb restart n2` replaces its process\)\n$/;
        assert.match(got.stderr, note, got.stderr);
        // Without --r too (it was sent to n2 alone and failed at the 10 s deadline): another node is asked beside it.
        const plain = await ringdb(ws.dir, 'get', 'k', '--node', 'n2', ...dir);
        assert.deepEqual([plain.code, plain.stdout], [0, 'v\n'], plain.stderr);
        assert.match(plain.stderr, /^ringdb: asked n2 \(--node\) first: not reached: no connection within 500 ms; asked another node beside it; n[13] answered instead/, plain.stderr);
        // A write no node took can go to another coordinator; the OK line's "on n1" alone said so.
        const put = await ringdb(ws.dir, 'put', 'k', 'v2', '--node', 'n2', '--w', '1', ...dir);
        assert.equal(put.code, 0, put.stderr);
        assert.match(put.stdout, /^OK op n[13]:\d+ ts \d+ on n[13] /, put.stdout);
        assert.match(put.stderr, note, put.stderr);
        // Scripts read the same from --json: the nodes tried first and what became of each.
        const asJson = json<{ node: string; passedOver: { node: string; answer: string }[] }>(await ringdb(ws.dir, 'get', 'k', '--node', 'n2', '--r', '1', '--json', ...dir));
        assert.deepEqual(asJson.passedOver.map((a) => a.node), ['n2']);
        assert.match(asJson.passedOver[0].answer, /^not reached: /);
        assert.notEqual(asJson.node, 'n2');
        // A flush it cannot answer is told as the flush, with n2's state, after a 5 s ping: not as the RPC the CLI made first, nor at a 10 s deadline.
        const flush = await ringdb(ws.dir, 'flush', 'n2', ...dir);
        assert.equal(flush.code, 1, flush.stdout);
        assert.match(flush.stderr, /^ringdb: flush n2: n2 did not answer a ping within 5 s; (n2 is suspect: its process runs but has stopped answering \(hung, paused or overloaded\)|the controller lists n2 as up)\. Run it again once `ringdb status` shows n2 up, or restart it \(`ringdb restart n2`\)\n$/, flush.stderr);
        // Its own copy is said as a suspect node's, by then listed so, not as the Get RPC's deadline.
        const suspect = 'did not answer within 3 s: its process runs but has stopped answering (hung, paused or overloaded)';
        const where = await ringdb(ws.dir, 'where', 'k', ...dir);
        assert.equal(where.code, 0, where.stderr);
        assert.ok(where.stdout.split('\n').some((line) => /^ {2}n2 +suspect +- *$/.test(line)), where.stdout);
        assert.ok(where.stdout.split('\n').includes(`  n2 suspect: ${suspect}`), where.stdout);
        const copies = json<{ copies: { node: string; holds: string; error?: string }[] }>(await ringdb(ws.dir, 'where', 'k', '--json', ...dir)).copies;
        const own = copies.find((x) => x.node === 'n2');
        assert.deepEqual([own?.holds, own?.error], ['suspect', suspect], JSON.stringify(copies));
        const local = await ringdb(ws.dir, 'get', 'k', '--local', '--node', 'n2', ...dir);
        assert.deepEqual([local.code, local.stdout], [1, ''], local.stderr);
        assert.match(local.stderr, /^ringdb: get --local on n2: n2 did not answer in time; n2 is suspect: its process runs but has stopped answering \(hung, paused or overloaded\)\. Run it again once `ringdb status` shows n2 up/, local.stderr);
      } finally {
        process.kill(n2.pid, 'SIGCONT');
      }
    } finally {
      await ringdb(ws.dir, 'stop', ...dir);
    }
  });
  it('says which answer came from a node outside the key\'s replicas, standing in for a down one', async () => {
    assert.equal((await ringdb(ws.dir, 'start', '--nodes', '4', '--dir', 'stand-in')).code, 0);
    try {
      const dir = ['--dir', 'stand-in'];
      assert.equal((await ringdb(ws.dir, 'put', 'k', 'v', '--w', '3', ...dir)).code, 0);
      const { replicas } = json<{ replicas: string[] }>(await ringdb(ws.dir, 'where', 'k', '--json', ...dir));
      const all = await ringdb(ws.dir, 'get', 'k', '--r', '3', ...dir);
      assert.deepEqual([all.code, all.stdout, all.stderr], [0, 'v\n', ''], 'no note while the replicas answer');
      const down = replicas[2];
      assert.equal((await ringdb(ws.dir, 'kill', down, ...dir)).code, 0);
      const got = await ringdb(ws.dir, 'get', 'k', '--r', '3', ...dir);
      assert.deepEqual([got.code, got.stdout], [0, 'v\n'], got.stderr);
      const outsider = ['n1', 'n2', 'n3', 'n4'].find((id) => !replicas.includes(id));
      assert.equal(got.stderr, `ringdb: ${outsider} is not a replica of "k" (its replicas are ${replicas.slice(0, 2).join(', ')}, ${down}) and answered for ${down} ` +
        'from a hint it keeps, or with nothing: a sloppy quorum counts it toward R; `ringdb where "k"` shows each replica\'s own copy\n');
    } finally {
      await ringdb(ws.dir, 'stop', '--dir', 'stand-in');
    }
  });

  it('says the node asked is not a replica of the key, not that it may be down, when it answered NotOwner', async () => {
    const spec = join(ws.dir, 'no-forwarding.json');
    writeFileSync(spec, JSON.stringify({ nodes: 3, replicationFactor: 1, writeQuorum: 1, readQuorum: 1, enableForwarding: false }));
    assert.equal((await ringdb(ws.dir, 'start', '--spec', spec, '--dir', 'no-forwarding')).code, 0);
    try {
      const dir = ['--dir', 'no-forwarding'];
      assert.equal((await ringdb(ws.dir, 'put', 'k', 'v', ...dir)).code, 0);
      const [owner] = json<{ replicas: string[] }>(await ringdb(ws.dir, 'where', 'k', '--json', ...dir)).replicas;
      const outsider = ['n1', 'n2', 'n3'].find((id) => id !== owner) ?? '';
      const got = await ringdb(ws.dir, 'get', 'k', '--node', outsider, '--r', '1', ...dir);
      assert.deepEqual([got.code, got.stdout], [0, 'v\n'], got.stderr);
      assert.equal(got.stderr, `ringdb: asked ${outsider} (--node) first: NotOwner (partition ${json<{ partitionId: number }>(await ringdb(ws.dir, 'where', 'k', '--json', ...dir)).partitionId} is on ${owner}); ` +
        `${owner} answered instead (${outsider} is up but is not a replica of "k": \`ringdb where "k"\` names its replicas)\n`);
    } finally {
      await ringdb(ws.dir, 'stop', '--dir', 'no-forwarding');
    }
  });
});
