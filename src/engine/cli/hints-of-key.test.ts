// `ringdb where` lists a key's hints on a node that keeps more hints than one listing returns
// (real processes, 4 nodes, N=3): the substitute holds 11,000 hints of other keys for the killed
// replica, stored before the key's own, and `where` still shows the key's hint (it asked each node
// for at most 10,000 hints, oldest first, and missed it).

import { join } from 'node:path';
import { strict as assert } from 'node:assert';
import { ControllerClient } from '../client';
import { eventually } from '../cluster/test-support';
import { NodeServiceClient, type HintToStore } from '../gen/ringdb/v1/node';
import { clientArgs, unary } from '../rpc/client';
import { MAX_STORE_HINTS } from '../node/substitute-writes';
import { cliSuite, json } from './cli-test-support';

const OTHERS = 11_000;

describe('ringdb where: hints of a key on a node keeping over 10,000 hints (real processes)', function () {
  this.timeout(180_000);
  const { ws, ringdb } = cliSuite();

  it('shows the key\'s hint whatever the number of other hints its holder keeps', async () => {
    assert.equal((await ringdb(ws.dir, 'start', '--nodes', '4')).code, 0);
    const controller = ControllerClient.fromDataDir(join(ws.dir, '.ringdb', 'data'));
    try {
      const { replicas } = json<{ replicas: string[] }>(await ringdb(ws.dir, 'where', 'crowded', '--json'));
      const [substitute] = ['n1', 'n2', 'n3', 'n4'].filter((id) => !replicas.includes(id));
      const victim = replicas[2];
      assert.equal((await ringdb(ws.dir, 'kill', victim)).code, 0);

      // Hints for a member that is down wait for it: the substitute keeps all of these.
      const { target } = await controller.nodeClient(substitute);
      const raw = new NodeServiceClient(...clientArgs(target.address));
      try {
        const others = Array.from({ length: OTHERS }, (_, i): HintToStore => ({
          target: victim, opId: `${replicas[0]}:${900_000 + i}`,
          entry: { key: Buffer.from(`other-${i}`), value: Buffer.from('v'), deleted: false, version: { ts: 1 + i, origin: replicas[0], opId: '' } },
        }));
        for (let i = 0; i < OTHERS; i += MAX_STORE_HINTS) {
          await unary(raw, raw.storeHints, { hints: others.slice(i, i + MAX_STORE_HINTS) }, { token: target.token, timeoutMs: 30_000 });
        }
      } finally {
        raw.close();
      }

      // Once the coordinator sees the victim down, the write leaves a hint on the substitute.
      await eventually(`a write hinted for ${victim}`, 30_000, async () => {
        const put = await ringdb(ws.dir, 'put', 'crowded', 'while-down', '--json');
        return put.code === 0 && json<{ hinted: Record<string, string> }>(put).hinted[victim] === substitute ? true : undefined;
      });
      const where = await ringdb(ws.dir, 'where', 'crowded', '--json');
      assert.equal(where.code, 0, where.stderr);
      const { hints } = json<{ hints: { holder: string; target: string; deleted: boolean }[] }>(where);
      assert.ok(hints.length >= 1 && hints.every((h) => h.holder === substitute && h.target === victim && !h.deleted), JSON.stringify(hints));
      const human = await ringdb(ws.dir, 'where', 'crowded');
      assert.match(human.stdout, new RegExp(`\\nhints of it [^\\n]*\\n {2}HOLDER +FOR +VERSION +HOLDS\\n {2}${substitute} +${victim} +op n\\d:\\d+ ts \\d+ +value`), human.stdout);
    } finally {
      controller.close();
      await ringdb(ws.dir, 'stop');
    }
  });
});
