// `ringdb repair` as a user runs it: the bundled CLI against a cluster that `ringdb start` launched.
import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliSuite } from './cli-test-support';
import { ControllerClient, ConvergenceClient, Driver, NodeClient, RingDbError } from '../client';
import type { RepairReport } from '../client/convergence-client';
import { eventually } from '../cluster/test-support';


describe('ringdb repair', function () {
  this.timeout(120_000);
  const { ws, ringdb } = cliSuite();

  it('runs a round on every node that is up, or on the one named, and reports it', async () => {
    const start = await ringdb(ws.dir, 'start', '--nodes', '2');
    assert.equal(start.code, 0, start.stderr);
    assert.equal((await ringdb(ws.dir, 'put', 'k', 'v')).code, 0);

    const all = await ringdb(ws.dir, 'repair', '--json');
    assert.equal(all.code, 0, `${all.stderr}${all.stdout}`);
    const { reports } = JSON.parse(all.stdout) as { reports: RepairReport[] };
    assert.deepEqual(reports.map((r) => r.nodeId).sort(), ['n1', 'n2']);
    for (const r of reports) {
      assert.equal(r.peers.length, 1);
      assert.equal(r.peers[0].ok, true, r.peers[0].error);
      // The controller pushed a partition map: one tree per partition, every root compared in one call.
      assert.ok(r.peers[0].partitionsCompared > 1, `partitions compared: ${r.peers[0].partitionsCompared}`);
      assert.equal(r.peers[0].partitionsDiffering, r.peers[0].partitions.length);
    }

    // The human output says whose round runs (a hung peer holds one to its deadline); stdout has only the reports.
    const human = await ringdb(ws.dir, 'repair');
    assert.equal(human.code, 0, human.stderr);
    assert.equal(human.stderr, 'repairing from n1 (1 of 2) ...\nrepairing from n2 (2 of 2) ...\n');
    assert.match(human.stdout, /^n1: 1 peer in \d+ ms\n(.*\n)+n2: 1 peer in \d+ ms\n/);

    const one = await ringdb(ws.dir, 'repair', 'n2');
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /^n2: 1 peer in \d+ ms\n {2}n2 <-> n1: /);
  });

  it('names an unknown node and exits 2', async () => {
    const r = await ringdb(ws.dir, 'repair', 'n7');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no node "n7" in this cluster; nodes are n1, n2/);
  });

  it('says a peer that is down was skipped and how to bring it back, and exits 1', async () => {
    assert.equal((await ringdb(ws.dir, 'kill', 'n2')).code, 0);
    const r = await ringdb(ws.dir, 'repair', 'n1');
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /n1 <-> n2: skipped: n2 is down; restart it with `ringdb restart n2` and repair again/);
    assert.equal((await ringdb(ws.dir, 'restart', 'n2')).code, 0);
  });

  it('takes at most one node', async () => {
    const r = await ringdb(ws.dir, 'repair', 'n1', 'n2');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /`ringdb repair` takes \[node\], got "n1" "n2"/);
  });

  it('runs a round on a suspect node too (running, only slow to answer the controller), not only on those up', async () => {
    const n2 = JSON.parse((await ringdb(ws.dir, 'status', '--json')).stdout) as { nodes: { id: string; pid: number; state: string }[] };
    const pid = n2.nodes.find((n) => n.id === 'n2')!.pid;
    process.kill(pid, 'SIGSTOP');
    let stopped = true;
    try {
      await eventually('n2 suspect', 30_000, async () => {
        const s = JSON.parse((await ringdb(ws.dir, 'status', '--json')).stdout) as typeof n2;
        return s.nodes.find((n) => n.id === 'n2')?.state === 'suspect' ? true : undefined;
      });
      const repair = ringdb(ws.dir, 'repair', '--json');
      // Long enough for the CLI to read the states while n2 is stopped; n2 then answers the rounds.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      process.kill(pid, 'SIGCONT');
      stopped = false;
      const r = await repair;
      // With --json a round's failure is in the report on stdout, not on stderr.
      assert.equal(r.code, 0, `${r.stderr}${r.stdout}`);
      assert.deepEqual((JSON.parse(r.stdout) as { reports: RepairReport[] }).reports.map((x) => x.nodeId).sort(), ['n1', 'n2']);
    } finally {
      if (stopped) process.kill(pid, 'SIGCONT');
    }
  });

  it('tells within seconds that a node which stays hung did not answer a ping, and keeps the other rounds', async () => {
    await whileStopped(ringdb, ws.dir, 'n2', async () => {
      // n1's round pings n2 first (5 s), where it waited out a 30 s call deadline; --json keeps the node's words.
      const fromN1 = await ringdb(ws.dir, 'repair', 'n1', '--json');
      assert.equal(fromN1.code, 1, fromN1.stderr);
      const [peer] = (JSON.parse(fromN1.stdout) as { reports: RepairReport[] }).reports[0].peers;
      assert.deepEqual([peer.peer, peer.ok], ['n2', false]);
      assert.equal(peer.error, 'n2 did not answer a ping within 5 s (its process runs but answers nothing: hung, paused or overloaded); nothing was compared with it');

      // Named alone: before the probe, this waited out the round's 120 s deadline.
      const one = await ringdb(ws.dir, 'repair', 'n2');
      assert.equal(one.code, 1, one.stdout);
      assert.match(one.stderr, hungMessage('repair on n2', 'n2'), one.stderr);

      // n1's round keeps its report, said as n2's state (suspect), not the node's or the transport's text. By now n1's
      // heartbeats see n2 down, yet its process keeps the connection open: the round pings it too, not a 30 s call.
      const all = await ringdb(ws.dir, 'repair');
      assert.equal(all.code, 1, all.stdout);
      const [progress, report, noRound] = all.stderr.split(/\n(?=ringdb: |n2: no round: )/);
      assert.equal(progress, 'repairing from n1 (1 of 2) ...\nrepairing from n2 (2 of 2) ...');
      assert.match(report, /^ringdb: n1: 1 peer in \d+ ms\n {2}n1 <-> n2: failed: n2 is suspect: its process runs but has stopped answering \(hung, paused or overloaded\); repair again once `ringdb status` shows n2 up, or restart it \(`ringdb restart n2`\)$/, all.stderr);
      assert.match(`ringdb: ${noRound.replace(/^n2: no round: /, '')}`, hungMessage('repair on n2', 'n2'), all.stderr);
    });
  });

  describe('CRDT commands (crdt mode)', () => {
    const { ws: crdtWs } = cliSuite();
    before(async () => {
      mkdirSync(join(crdtWs.dir, '.ringdb'), { recursive: true });
      writeFileSync(join(crdtWs.dir, '.ringdb', 'cluster.json'), JSON.stringify({
        nodes: 2, consistencyMode: 'crdt', crdt: { likes: 'gcounter', tags: 'orset', score: 'pncounter', title: 'lwwregister' },
        indexFields: ['color'], globalIndexFields: ['size'], router: { port: 0 },
      }));
      const start = await ringdb(crdtWs.dir, 'start', '--nodes', '2');
      assert.equal(start.code, 0, start.stderr);
    });

    it('incr, sadd and srem print the merged value on the node', async () => {
      const one = await ringdb(crdtWs.dir, 'incr', 'likes', '--node', 'n1');
      assert.equal(one.code, 0, one.stderr);
      assert.equal(one.stdout, '1\n');
      const five = await ringdb(crdtWs.dir, 'incr', 'likes', '--by', '4', '--node', 'n1', '--json');
      assert.deepEqual(JSON.parse(five.stdout), { key: 'likes', node: 'n1', type: 'gcounter', count: 5 });
      assert.equal((await ringdb(crdtWs.dir, 'sadd', 'tags', 'red', '--node', 'n1')).stdout, 'red\n');
      assert.equal((await ringdb(crdtWs.dir, 'sadd', 'tags', 'blue', '--node', 'n1')).stdout, 'blue\nred\n');
      assert.equal((await ringdb(crdtWs.dir, 'srem', 'tags', 'red', '--node', 'n1')).stdout, 'blue\n');
      // get of a CRDT key prints its merged value, not the encoded state it is stored as.
      assert.equal((await ringdb(crdtWs.dir, 'get', 'likes', '--node', 'n1')).stdout, '5\n');
      assert.deepEqual(JSON.parse((await ringdb(crdtWs.dir, 'get', 'tags', '--node', 'n1', '--json')).stdout), { key: 'tags', node: 'n1', type: 'orset', elements: ['blue'] });
      // A read quorum means nothing for one node's merged state: refused, not ignored.
      const withR = await ringdb(crdtWs.dir, 'get', 'likes', '--r', '2');
      assert.equal(withR.code, 2);
      assert.match(withR.stderr, /--r does not apply to "likes", a CRDT key: `ringdb get likes` prints one node's merged value/);
    });

    it('query lists the keys of an indexed field across the nodes, and names the indexed fields otherwise', async () => {
      assert.equal((await ringdb(crdtWs.dir, 'put', 'p1', '{"color":"red"}', '--node', 'n1')).code, 0);
      assert.equal((await ringdb(crdtWs.dir, 'put', 'p2', '{"color":"red"}', '--node', 'n2')).code, 0);
      assert.equal((await ringdb(crdtWs.dir, 'put', 'p3', '{"color":"blue"}', '--node', 'n2')).code, 0);
      const r = await ringdb(crdtWs.dir, 'query', 'color', 'red', '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual((JSON.parse(r.stdout) as { keys: string[]; index: string }), { ...JSON.parse(r.stdout), keys: ['p1', 'p2'], index: 'secondary' });
      const bad = await ringdb(crdtWs.dir, 'query', 'weight', '3');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /field: "weight" is not indexed; indexFields: color; globalIndexFields: size/);
      // A row's key is its two keys, not its NUL-separated stored encoding.
      assert.equal((await ringdb(crdtWs.dir, 'put', 'o1', '{"color":"green"}', '--clustering', 'c1', '--node', 'n1')).code, 0);
      const rows = await ringdb(crdtWs.dir, 'query', 'color', 'green');
      assert.equal(rows.stdout.split('\n')[0], 'o1 / c1');
      const green = JSON.parse((await ringdb(crdtWs.dir, 'query', 'color', 'green', '--json')).stdout) as { keys: string[]; rows: unknown[] };
      assert.deepEqual([green.keys, green.rows], [['o1 / c1'], [{ partitionKey: 'o1', partitionKeyBase64: null, clusteringKey: 'c1', clusteringKeyBase64: null }]]);
    });

    it('query prints a row key that is not printable text as 0x and hex, and --json adds the bytes in base64 where the text is not them', async () => {
      const partitionKey = Buffer.from([0x70, 0xff]);
      const controller = ControllerClient.fromDataDir(join(crdtWs.dir, '.ringdb', 'data'));
      const driver = await Driver.connect(controller);
      try {
        await driver.put({ partitionKey, clusteringKey: 'c\t1' }, '{"color":"teal"}');
      } finally {
        driver.close();
        controller.close();
      }
      const human = await ringdb(crdtWs.dir, 'query', 'color', 'teal');
      assert.equal(human.code, 0, human.stderr);
      assert.equal(human.stdout.split('\n')[0], '0x70ff / 0x630931');
      const out = JSON.parse((await ringdb(crdtWs.dir, 'query', 'color', 'teal', '--json')).stdout) as { keys: string[]; rows: unknown[] };
      assert.deepEqual([out.keys, out.rows], [['0x70ff / 0x630931'], [{
        partitionKey: partitionKey.toString('utf8'), partitionKeyBase64: partitionKey.toString('base64'), clusteringKey: 'c\t1', clusteringKeyBase64: null,
      }]]);
    });

    it('query answers a field of globalIndexFields from its global index and says so', async () => {
      assert.equal((await ringdb(crdtWs.dir, 'put', 'box', '{"size":3}', '--node', 'n1')).code, 0);
      assert.equal((await ringdb(crdtWs.dir, 'put', 'bag', '{"size":3,"color":"red"}', '--node', 'n2')).code, 0);
      let out: { keys: string[]; index: string; partitionId: number; nodes: string[] } | undefined;
      for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
        const r = await ringdb(crdtWs.dir, 'query', 'size', '3', '--json');
        assert.equal(r.code, 0, r.stderr);
        out = JSON.parse(r.stdout) as typeof out;
        if (out?.keys.length === 2) break;
      }
      assert.deepEqual(out?.keys, ['bag', 'box']);
      assert.equal(out?.index, 'global');
      const human = await ringdb(crdtWs.dir, 'query', 'size', '3');
      assert.match(human.stdout, /^bag\nbox\n\(global index: partition \d+, read from n[12], n[12]\)\n$/);
    });

    it('names the CRDT keys when the key is not one (exit 2)', async () => {
      const r = await ringdb(crdtWs.dir, 'incr', 'plain');
      assert.equal(r.code, 2);
      assert.match(r.stderr, /key: "plain" is not a CRDT key; CRDT keys: likes, tags, score, title/);
      // A key that is not UTF-8 is named by its bytes, as the engine's messages name a key.
      const controller = ControllerClient.fromDataDir(join(crdtWs.dir, '.ringdb', 'data'));
      const node = await controller.nodeClient('n1');
      node.close();
      const conv = new ConvergenceClient(node.target);
      try {
        await assert.rejects(conv.crdtUpdate(Buffer.from([0x6b, 0xff, 0x01]), 'increment'), /key: 0x6bff01 is not a CRDT key; CRDT keys: likes/);
      } finally {
        conv.close();
        controller.close();
      }
    });

    it('put of a CRDT key is refused on every path and leaves its value; set and decr do what put cannot', async () => {
      const before = (await ringdb(crdtWs.dir, 'get', 'likes', '--node', 'n2')).stdout;
      for (const via of [['--node', 'n1'], ['--node', 'n2'], []]) {
        const r = await ringdb(crdtWs.dir, 'put', 'likes', '100', ...via);
        assert.equal(r.code, 2, r.stdout);
        assert.match(r.stderr, /"likes" is a CRDT key of type gcounter .*nothing was written; change it with `ringdb incr likes \[--by N\]`/);
      }
      assert.equal((await ringdb(crdtWs.dir, 'get', 'likes', '--node', 'n1')).stdout, before);
      assert.equal((await ringdb(crdtWs.dir, 'incr', 'likes', '--node', 'n2')).code, 0);

      assert.match((await ringdb(crdtWs.dir, 'put', 'title', 'hello')).stderr, /type lwwregister .*`ringdb set title <value>`/);
      assert.equal((await ringdb(crdtWs.dir, 'set', 'title', 'hello', '--node', 'n1')).stdout, 'hello\n');
      assert.equal((await ringdb(crdtWs.dir, 'set', 'title', 'bye', '--node', 'n2')).stdout, 'bye\n');
      assert.equal((await ringdb(crdtWs.dir, 'incr', 'score', '--by', '5', '--node', 'n1')).stdout, '5\n');
      assert.equal((await ringdb(crdtWs.dir, 'decr', 'score', '--by', '7', '--node', 'n1')).stdout, '-2\n');
      const wrong = await ringdb(crdtWs.dir, 'decr', 'likes');
      assert.equal(wrong.code, 2);
      assert.match(wrong.stderr, /"likes": gcounter does not support "decrement" \(ringdb decr\); accepted: increment \(ringdb incr\)/);
    });

    it('query names a node that is down as repair does, not with the transport\'s text', async () => {
      assert.equal((await ringdb(crdtWs.dir, 'kill', 'n2')).code, 0);
      try {
        const r = await ringdb(crdtWs.dir, 'query', 'color', 'red', '--node', 'n1');
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /\n\(missing: n2 is down; restart it with `ringdb restart n2`\)\n$/);
        assert.doesNotMatch(r.stdout, /UNAVAILABLE/);
      } finally {
        assert.equal((await ringdb(crdtWs.dir, 'restart', 'n2')).code, 0);
        // Restarted is not yet heard by n1: reads that need both nodes wait for its heartbeat.
        await eventually('n1 hearing n2 again', 30_000, async () => ((await ringdb(crdtWs.dir, 'get', 'never-written-probe', '--node', 'n1')).stderr.includes('answered by') ? true : undefined));
      }
    });

    it('a CRDT command on a node that stays hung says so within seconds, not at its 120 s deadline', async () => {
      await whileStopped(ringdb, crdtWs.dir, 'n2', async () => {
        const r = await ringdb(crdtWs.dir, 'incr', 'likes', '--node', 'n2');
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, hungMessage('incr on n2', 'n2'), r.stderr);
      });
      assert.equal((await ringdb(crdtWs.dir, 'incr', 'likes', '--node', 'n2')).code, 0, 'n2 answers once it runs again');
    });

    it('the router refuses a batch naming a CRDT key before sending any of it', async () => {
      const controller = ControllerClient.fromDataDir(join(crdtWs.dir, '.ringdb', 'data'));
      const d = await controller.describe();
      const router = new NodeClient({ address: d.routerAddress as string, token: controller.target.token, nodeId: 'router' });
      try {
        // Spread over both nodes' partitions, so the router would send more than one group.
        const plain = Array.from({ length: 16 }, (_, i) => ({ key: `batch-${i}`, value: 'v' }));
        await assert.rejects(router.batchPut([...plain, { key: 'tags', value: 'x' }]),
          (e: unknown) => e instanceof RingDbError && e.code === 'invalid-argument' && /entries\[16\]\.key: "tags" is a CRDT key of type orset/.test(e.message));
        await assert.rejects(router.put('tags', 'x'), (e: unknown) => e instanceof RingDbError && /type orset .*`ringdb sadd tags <element>`/.test(e.message));
        for (const e of plain) assert.equal((await router.get(e.key)).found, false, e.key);
      } finally {
        router.close();
        controller.close();
      }
    });
  });
});

type Ringdb = ReturnType<typeof cliSuite>['ringdb'];

/** Runs `work` while `nodeId`'s process is stopped (SIGSTOP): running, but answering nothing. */
async function whileStopped(ringdb: Ringdb, dir: string, nodeId: string, work: () => Promise<void>): Promise<void> {
  const status = JSON.parse((await ringdb(dir, 'status', '--json')).stdout) as { nodes: { id: string; pid: number }[] };
  const pid = status.nodes.find((n) => n.id === nodeId)!.pid;
  process.kill(pid, 'SIGSTOP');
  try {
    await work();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

/** The CLI's stderr when `nodeId` let the probe's ping pass; the controller may not have marked it suspect yet. */
function hungMessage(what: string, nodeId: string): RegExp {
  return new RegExp(`^ringdb: ${what}: ${nodeId} did not answer a ping within 5 s; (${nodeId} is suspect: its process runs but has stopped answering \\(hung, paused or overloaded\\)|the controller lists ${nodeId} as up)\\. `
    + `Run it again once \`ringdb status\` shows ${nodeId} up, or restart it \\(\`ringdb restart ${nodeId}\`\\)\\n$`);
}
