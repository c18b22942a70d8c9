// A non-replica coordinator when it cannot forward a write (real processes, 5 nodes, N=3 W=2
// R=2). With every replica of the key's partition down, it coordinates the write itself as a
// sloppy quorum: the nodes that are up keep it as hints for the replicas they stand in for, W
// counts them, reads find it there, and handoff gives it to the replicas once they are back. A
// forwarded write's refusal by the replica reaches the client as the replica worded it.

import { strict as assert } from 'node:assert';
import { ControllerClient, Driver, RingDbError, launchController, type ControllerHandle, type NodeClient } from '../client/index';
import { engineBundles, eventually, tempDataDir } from '../cluster/test-support';

describe('a non-replica coordinator with every replica of a key down (real processes, 5 nodes, N=3 W=2 R=2)', function () {
  this.timeout(180_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;
  let client: ControllerClient;
  let driver: Driver;
  let replicas: string[];
  let others: string[];
  let oldKey: string;
  const opened: NodeClient[] = [];
  const nodeClient = async (id: string): Promise<NodeClient> => {
    const c = await client.nodeClient(id);
    opened.push(c);
    return c;
  };

  before(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
    client = ctl.client;
    const cluster = await client.startCluster({ nodes: 5, replicationFactor: 3, writeQuorum: 2, readQuorum: 2, numPartitions: 64, heartbeatIntervalMs: 100 });
    const before = await Driver.connect(client, { watch: false });
    replicas = before.replicasFor(Buffer.from('rk1'), false);
    others = cluster.nodes.map((n) => n.id).filter((id) => !replicas.includes(id));
    // Written while the replicas are up: only they hold it.
    oldKey = Array.from({ length: 2000 }, (_, i) => `old${i}`).find((k) => before.replicasFor(Buffer.from(k), false).join() === replicas.join()) as string;
    await before.put(oldKey, 'from before');
    await before.put({ partitionKey: oldKey, clusteringKey: 'a-before' }, 'row from before');
    before.close();
    for (const id of replicas) await client.killNode(id);
    // Connected after the kills, so the driver knows from the start which nodes are down.
    driver = await Driver.connect(client, { watch: false });
  });

  after(async () => {
    for (const c of opened) c.close();
    driver?.close();
    await ctl?.stop();
    data?.remove();
  });

  it('coordinates the write itself, as hints on the two nodes that are up, and reads it back from them', async () => {
    const node = await nodeClient(others[0]);
    // Until its heartbeat sees the replicas down, the node forwards to one and fails.
    const w = await eventually('a write kept as hints', 30_000, async () => node.putAcked('rk1', 'x').catch(() => undefined));
    assert.deepEqual([...w.replicas].sort(), [...others].sort(), 'W counts the two substitutes whose hint is durable');
    assert.equal(w.version.origin, others[0], 'the op id is the coordinator\'s own');
    assert.deepEqual(Object.keys(w.hinted).sort(), [...replicas].sort(), 'every replica has a hint kept for it');
    assert.deepEqual(new Set(Object.values(w.hinted)), new Set(others), 'by the substitutes, the coordinator keeping the one left over');
    assert.equal(w.hinted[replicas[2]], others[0]);
    for (const id of others) {
      const got = await (await nodeClient(id)).get('rk1');
      assert.equal(got.found && got.value.toString(), 'x', `a read coordinated by ${id}`);
      assert.equal(got.version?.opId, w.version.opId);
    }
    assert.equal((await node.getOwnCopy('rk1')).value.toString(), 'x', 'the coordinator\'s own copy is its hint');
  });

  it('refuses a W that the nodes that are up cannot meet, and writes nothing', async () => {
    const node = await nodeClient(others[1]);
    const e = await driver.put('rk1', 'never', { via: others[1], w: 3 }).then(() => assert.fail('the write was expected to fail'), (x: unknown) => x);
    assert.ok(e instanceof RingDbError, String(e));
    assert.equal(e.code, 'unavailable');
    assert.match(e.message, new RegExp(`^w: 3 acknowledgements needed, but all 3 replicas of partition \\d+ \\(${replicas.join(', ')}\\) are down and only 2 nodes are up to keep hints \\((${others.join(', ')}|${[...others].reverse().join(', ')})\\); ` +
      `nothing was written; restart one of them \\(ringdb restart ${replicas[0]}\\) or write with a lower w$`), e.message);
    assert.equal((await node.get('rk1')).value.toString(), 'x', 'the refused write left no version behind');
  });

  it('does not call a key written before the replicas went down "not found": no node that is up knows', async () => {
    await eventually('the nodes see the replicas down', 30_000, async () => (await driver.put('probe', 'p').catch(() => undefined)) && true);
    const e = await driver.get(oldKey).then(() => assert.fail('the read was expected to fail'), (x: unknown) => x);
    assert.ok(e instanceof RingDbError, String(e));
    assert.equal(e.code, 'unavailable');
    assert.match(e.message, new RegExp(`r: no replica of partition \\d+ \\(${replicas.join(', ')}\\) answered, and the nodes that did \\(.+\\) hold no hint of the key, so whether it exists is not known; ` +
      `restart one of the replicas \\(ringdb restart ${replicas[0]}\\) and retry`), e.message);
  });

  it('refuses to scan a partition none of whose replicas answers, instead of listing it as empty', async () => {
    await eventually('the nodes see the replicas down', 30_000, async () => (await driver.put('probe', 'p').catch(() => undefined)) && true);
    await driver.put({ partitionKey: oldKey, clusteringKey: 'b-during' }, 'row kept as hints');
    const e = await driver.scan(oldKey).then((page) => assert.fail(`the scan was expected to fail, got ${page.rows.length} rows`), (x: unknown) => x);
    assert.ok(e instanceof RingDbError, String(e));
    assert.equal(e.code, 'unavailable');
    const silent = replicas.map((id) => `${id}: [^;]+`).join('; ');
    assert.match(e.message, new RegExp(`r: a scan of partition \\d+ needs 2 of its replicas \\(${replicas.join(', ')}\\) but only 0 answered \\(none\\); no answer from ${silent}\\. ` +
      `Other nodes hold none of the partition's rows, so a page without 2 replicas could miss rows that exist; restart ${replicas.join(', ')} \\(ringdb restart ${replicas[0]}\\) and retry, or scan with a lower r$`), e.message);
  });

  it('the driver goes to a node that is up when every replica is down: a batch, a put and a delete succeed as hints', async () => {
    const put = await driver.put('rk2', 'y');
    assert.ok(others.includes(put.node), `coordinated by ${put.node}, a node that is up`);
    assert.equal((await driver.get('rk2')).value.toString(), 'y');
    await driver.put('rk3', 'gone soon');
    await driver.delete('rk3');
    assert.equal((await driver.get('rk3')).found, false, 'the delete is a hinted tombstone that wins');
    const batch = Array.from({ length: 50 }, (_, i) => ({ key: `rb${i}`, value: `b${i}` }));
    const written = await (await nodeClient(others[1])).batchPut(batch);
    assert.equal(written.count, 50);
    for (const i of [0, 17, 49]) assert.equal((await driver.get(`rb${i}`)).value.toString(), `b${i}`);
  });

  it('passes the replica\'s own answer to a forwarded write on as it is', async () => {
    const [via, replica] = others;
    // A key whose only live replica is `replica`: `via` forwards it there, and the replica cannot place W=3.
    const key = Array.from({ length: 500 }, (_, i) => `fw${i}`).find((k) => {
      const r = driver.replicasFor(Buffer.from(k), false);
      return r.includes(replica) && !r.includes(via);
    });
    assert.ok(key, `a key replicated on ${replica} and not on ${via}`);
    const e = await eventually('the forwarded W refusal', 30_000, async () => {
      const err = await driver.put(key, 'v', { via, w: 3 }).then(() => assert.fail('the write was expected to fail'), (x: unknown) => x);
      assert.ok(err instanceof RingDbError, String(err));
      assert.doesNotMatch(err.message, /internal error/, err.message);
      return /^w: 3 acknowledgements needed/.test(err.message) ? err : undefined;
    });
    assert.equal(e.code, 'unavailable');
    assert.match(e.message, /^w: 3 acknowledgements needed but only 2 of the nodes for partition \d+ are up \(.*\); nothing was written$/, e.message);
  });

  it('hands the hints to the replicas once they are back, each of which then holds the write itself', async () => {
    for (const id of replicas) await client.restartNode(id);
    for (const id of replicas) {
      const replica = await nodeClient(id);
      const own = await eventually(`${id} holds rk1`, 60_000, async () => {
        const got = await replica.getOwnCopy('rk1');
        return got.found ? got : undefined;
      });
      assert.equal(own.value.toString(), 'x');
      assert.equal(own.version?.opId?.split(':')[0], others[0], 'the version the coordinator gave it');
    }
    await eventually('every hint delivered', 60_000, async () => ((await client.describe()).hints ?? []).every((h) => h.count === 0) || undefined);
    const page = await driver.scan(oldKey);
    assert.deepEqual(page.rows.map((row) => `${Buffer.from(row.clusteringKey ?? []).toString()}=${Buffer.from(row.value).toString()}`), ['a-before=row from before', 'b-during=row kept as hints'],
      'the replicas serve the scan again, with the row that was kept as hints');
  });

  it('refuses a scan that fewer than r replicas answer, though substitutes are up', async () => {
    await client.killNode(replicas[0]);
    const e = await driver.scan(oldKey, { r: 3 }).then((page) => assert.fail(`the scan was expected to fail, got ${page.rows.length} rows`), (x: unknown) => x);
    assert.ok(e instanceof RingDbError, String(e));
    assert.equal(e.code, 'unavailable');
    assert.match(e.message, new RegExp(`r: a scan of partition \\d+ needs 3 of its replicas \\(${replicas.join(', ')}\\) but only 2 answered \\((${replicas[1]}, ${replicas[2]}|${replicas[2]}, ${replicas[1]})\\); ` +
      `no answer from ${replicas[0]}: [^;]+\\. .*restart ${replicas[0]} \\(ringdb restart ${replicas[0]}\\) and retry, or scan with a lower r$`), e.message);
    assert.equal((await driver.scan(oldKey, { r: 2 })).rows.length, 2, 'two replicas still serve r: 2');
  });
});

describe('a write kept only as hints, with a short tombstone grace (real processes, 5 nodes, N=3 W=2)', function () {
  this.timeout(120_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;

  before(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
    // Ordinary hints expire after about half of the grace (handoff.ts, hintExpiryMs).
    await ctl.client.startCluster({ nodes: 5, replicationFactor: 3, writeQuorum: 2, readQuorum: 2, numPartitions: 64, heartbeatIntervalMs: 100, storage: { sync: 'batch', syncIntervalMs: 5, memtableBytes: 16 * 1024 * 1024, tombstoneGraceMs: 2000 } });
  });

  after(async () => {
    await ctl?.stop();
    data?.remove();
  });

  it('does not expire: it is the only copy, and the replicas get it however late they come back', async () => {
    const client = ctl.client;
    const driver = await Driver.connect(client, { watch: false });
    try {
      const replicas = driver.replicasFor(Buffer.from('only-hints'), false);
      for (const id of replicas) await client.killNode(id);
      const up = (await client.describe()).nodes.map((n) => n.id).filter((id) => !replicas.includes(id));
      const node = await client.nodeClient(up[0]);
      try {
        await eventually('a write kept as hints', 30_000, async () => node.putAcked('only-hints', 'kept').catch(() => undefined));
      } finally {
        node.close();
      }
      // Four times the ordinary hints' expiry, with several handoff rounds.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      for (const id of replicas) await client.restartNode(id);
      for (const id of replicas) {
        const replica = await client.nodeClient(id);
        try {
          await eventually(`${id} holds the write`, 30_000, async () => ((await replica.getOwnCopy('only-hints')).found ? true : undefined));
        } finally {
          replica.close();
        }
      }
    } finally {
      driver.close();
    }
  });
});
