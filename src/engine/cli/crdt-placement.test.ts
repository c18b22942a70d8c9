// CRDT commands on a partitioned cluster (N=2 of 4): without --node they go to a replica of the
// key (the first node up was often none, and a read there answered its own stale part, exit 0);
// a read on a node named with --node that is not a replica says so.

import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../cluster/test-support';
import { cliSuite, json } from './cli-test-support';

describe('ringdb CRDT commands on a partitioned cluster (real processes)', function () {
  this.timeout(180_000);
  const { ws, ringdb } = cliSuite();

  it('reads and writes through a replica of the key, and names a non-replica asked with --node', async () => {
    const spec = join(ws.dir, 'crdt4.json');
    writeFileSync(spec, JSON.stringify({ nodes: 4, replicationFactor: 2, writeQuorum: 1, readQuorum: 1, consistencyMode: 'crdt', crdt: { c2: 'gcounter' } }));
    assert.equal((await ringdb(ws.dir, 'start', '--spec', spec)).code, 0);
    const replicas = json<{ replicas: string[] }>(await ringdb(ws.dir, 'where', 'c2', '--json')).replicas;
    const outsider = ['n1', 'n2', 'n3', 'n4'].find((id) => !replicas.includes(id)) as string;

    const first = json<{ node: string; count: number }>(await ringdb(ws.dir, 'incr', 'c2', '--by', '7', '--json'));
    assert.ok(replicas.includes(first.node), `incr went to ${first.node}, not a replica (${replicas.join(', ')})`);
    assert.equal((await ringdb(ws.dir, 'incr', 'c2', '--by', '100', '--node', replicas[1])).code, 0);
    await eventually('a plain get to read the merged 107', 30_000, async () => {
      const r = json<{ node: string; count: number }>(await ringdb(ws.dir, 'get', 'c2', '--json'));
      return r.count === 107 && replicas.includes(r.node) ? true : undefined;
    });

    const outside = await ringdb(ws.dir, 'get', 'c2', '--node', outsider);
    assert.equal(outside.code, 0, outside.stderr);
    assert.match(outside.stdout, new RegExp(`\\n\\(${outsider} is not a replica of "c2" \\(replicas ${replicas.join(', ')}\\): this is only what it holds itself\\)\\n$`));
    // An update there would print that node's own count, which the replicas' updates never reach.
    const refused = await ringdb(ws.dir, 'incr', 'c2', '--node', outsider);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, new RegExp(`${outsider} is not a replica of "c2" \\(replicas ${replicas.join(', ')}\\): its own copy would not follow the replicas' updates; use --node ${replicas[0]}`));
    assert.equal(json<{ count: number }>(await ringdb(ws.dir, 'get', 'c2', '--json')).count, 107, 'the refused increment changed nothing');
  });
});
