// `ringdb start` on a folder that has run a cluster, without a spec: the cluster it last ran
// (N, W, R), not the defaults; with a spec that changes N, a note on where the data comes from.

import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliSuite, json } from './cli-test-support';

interface StatusJson {
  spec: { replicationFactor: number; writeQuorum: number; readQuorum: number };
}

describe('ringdb start on a folder that has run a cluster (real processes)', function () {
  this.timeout(180_000);
  const { ws, ringdb } = cliSuite();
  const specOf = async (): Promise<StatusJson['spec']> => json<StatusJson>(await ringdb(ws.dir, 'status', '--json')).spec;

  it('starts it again with the spec it last ran, and says so; a spec that changes N gets a note', async () => {
    const file = join(ws.dir, 'n2.json');
    writeFileSync(file, JSON.stringify({ nodes: 4, replicationFactor: 2, writeQuorum: 1, readQuorum: 1 }));
    assert.equal((await ringdb(ws.dir, 'start', '--spec', file)).code, 0);
    assert.equal((await ringdb(ws.dir, 'stop')).code, 0);

    const again = await ringdb(ws.dir, 'start');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /using the spec \.ringdb\/data last started with \(replicationFactor 2, writeQuorum 1, readQuorum 1, consistencyMode lww\); --spec to start it with another/);
    const spec = await specOf();
    assert.deepEqual([spec.replicationFactor, spec.writeQuorum, spec.readQuorum], [2, 1, 1], 'not the defaults (3, 2, 2)');
    assert.equal((await ringdb(ws.dir, 'stop')).code, 0);

    writeFileSync(file, JSON.stringify({ nodes: 4, replicationFactor: 3, writeQuorum: 2, readQuorum: 2 }));
    const changed = await ringdb(ws.dir, 'start', '--spec', file);
    assert.equal(changed.code, 0, changed.stderr);
    assert.match(changed.stdout, /\nnote: replicationFactor 2 -> 3 for this folder: keys get more replicas, which receive their values from anti-entropy \(Merkle rounds\), or at once with `ringdb repair`\n/);
    assert.equal((await specOf()).replicationFactor, 3);
    assert.equal((await ringdb(ws.dir, 'stop')).code, 0);

    // --nodes does not reshape a folder that has run: its members decide its size, its record N, W, R.
    const sized = await ringdb(ws.dir, 'start', '--nodes', '1');
    assert.equal(sized.code, 0, sized.stderr);
    const kept = await specOf();
    assert.deepEqual([kept.replicationFactor, kept.writeQuorum], [3, 2]);
    assert.equal((await ringdb(ws.dir, 'stop')).code, 0);

    // A damaged record stops a start that would use it, saying how to go on; a spec of one's own replaces it.
    const record = join(ws.dir, '.ringdb', 'data', 'cluster-spec');
    const bytes = readFileSync(record);
    bytes[bytes.length - 2] ^= 0xff;
    writeFileSync(record, bytes);
    const damaged = await ringdb(ws.dir, 'start');
    assert.equal(damaged.code, 1);
    assert.match(damaged.stderr, /cluster-spec .*It records the spec this folder last started with: restore it, or start with a spec of your own \(--spec, or \.ringdb\/cluster\.json\), which replaces it/);
    assert.equal((await ringdb(ws.dir, 'start', '--spec', file)).code, 0, 'a spec of its own starts it');
    assert.equal((await ringdb(ws.dir, 'stop')).code, 0);
    assert.match((await ringdb(ws.dir, 'start')).stderr, /using the spec \.ringdb\/data last started with \(replicationFactor 3/);
  });
});
