// A BatchPut split between its coordinator and a replica it forwards to (real processes, 5 nodes,
// N=2 W=2): one entry is written by the coordinator, the other forwarded to the first replica of
// its partition. When either part fails, the one error the client gets must say what became of
// each part (written and acknowledged, failed and why, or unknown), or it cannot tell what to retry.
import assert from 'node:assert/strict';
import type { ServiceError } from '@grpc/grpc-js';
import { PeerState } from '../gen/ringdb/v1/node';
import { createPartitionMap, preferenceList, type PartitionMap } from '../partitioning';
import { partitionMapToProto } from '../rpc/partition-map-proto';
import { TestCluster, waitFor } from './test-harness';

const b = (s: string) => Buffer.from(s);
const IDS = ['n1', 'n2', 'n3', 'n4', 'n5'];

describe('a BatchPut with entries written by the coordinator and entries forwarded to another replica (real processes, 5 nodes, N=2 W=2)', function () {
  this.timeout(120_000);
  let c: TestCluster;
  let map: PartitionMap;
  let stopped: number | undefined;
  /** `local` is replicated by the coordinator and `partner`; `remote` by `target` (first) and `second`, neither of them. */
  let roles: { local: string; remote: string; coordinator: string; partner: string; target: string; second: string };

  const peersOf = async (id: string) => (await c.call(id, (x) => x.stats, {})).stats!.peers;
  const stop = (id: string) => {
    stopped = c.node(id).pid;
    process.kill(stopped, 'SIGSTOP');
  };
  /** Resumes the stopped node and waits until the coordinator and the target count it up again. */
  const resume = async (id: string) => {
    process.kill(stopped as number, 'SIGCONT');
    stopped = undefined;
    for (const viewer of [roles.coordinator, roles.target].filter((v) => v !== id)) {
      await waitFor(`${viewer} sees ${id} up`, async () => (await peersOf(viewer)).find((p) => p.id === id)?.state === PeerState.PEER_STATE_UP);
    }
  };
  const batch = () => c.call(roles.coordinator, (x) => x.batchPut, { entries: [{ key: b(roles.local), value: b('here') }, { key: b(roles.remote), value: b('there') }] })
    .then(() => assert.fail('the batch was expected to fail'), (e: ServiceError) => e);

  before(async () => {
    c = await TestCluster.start(5, { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 3_600_000 });
    map = createPartitionMap({ replicationFactor: 2, numPartitions: 32 }, IDS);
    const proto = partitionMapToProto(map, [...c.nodes.values()].map((n) => ({ id: n.id, address: n.address })));
    for (const id of IDS) assert.equal((await c.call(id, (x) => x.updatePartitionMap, { map: proto })).accepted, true);
    const replicasOf = (key: string) => preferenceList(map, map.locate(b(key)).id);
    const keys = Array.from({ length: 400 }, (_, i) => `k${i}`);
    let found: typeof roles | undefined;
    for (const local of keys) {
      const [coordinator, partner] = replicasOf(local);
      const remote = keys.find((k) => replicasOf(k).every((r) => r !== coordinator && r !== partner));
      if (remote === undefined) continue;
      const [target, second] = replicasOf(remote);
      found = { local, remote, coordinator, partner, target, second };
      break;
    }
    assert.ok(found, 'keys with the roles this test needs');
    roles = found;
  });
  after(async () => {
    if (stopped !== undefined) process.kill(stopped, 'SIGCONT');
    await c?.stop();
  });

  it('says the forwarded entry failed (the replica\'s own words) and the entry written here reached W', async () => {
    const { local, remote, target, second } = roles;
    // Stopped, not killed: the target still counts it up, waits for its acknowledgement and misses W.
    stop(second);
    const err = await batch();
    await resume(second);
    assert.match(err.details, new RegExp(`^The 1 entry forwarded to ${target} \\(entries\\[1\\] "${remote}"\\) failed: ${target} answered UNAVAILABLE: ` +
      `w: 1 of 1 entries written here did not reach 2 nodes in time \\(${target}:\\d+ for "${remote}"\\); they are durable here and keep replicating, so a retry may find them; retry it\\. ` +
      `The 1 entry written here \\(entries\\[0\\] "${local}"\\) reached W: it needs no retry$`), err.details);
  });

  it('says which entries written here missed W and that the forwarded entry was acknowledged', async () => {
    const { local, remote, coordinator, partner, target } = roles;
    stop(partner);
    const err = await batch();
    await resume(partner);
    assert.match(err.details, new RegExp(`^w: 1 of 1 entries written here did not reach 2 nodes in time \\(${coordinator}:\\d+ for entries\\[0\\] "${local}"\\); ` +
      'they are durable here and keep replicating, so a retry may find them\\. ' +
      `The 1 entry forwarded to ${target} \\(entries\\[1\\] "${remote}"\\) was written \\(${target}:\\d+\\) and acknowledged by W nodes: it needs no retry$`), err.details);
  });

  it('says the forwarded entry has an unknown outcome when its replica took it and never answered', async () => {
    const { local, remote, target } = roles;
    stop(target);
    const err = await batch();
    await resume(target);
    assert.match(err.details, new RegExp(`^The 1 entry forwarded to ${target} \\(entries\\[1\\] "${remote}"\\) has an unknown outcome: the call to ${target} ended without its answer \\(DEADLINE_EXCEEDED: .*\\); ` +
      'it may be written: read it back or retry \\(a retry writes the same value again\\)\\. ' +
      `The 1 entry written here \\(entries\\[0\\] "${local}"\\) reached W: it needs no retry$`), err.details);
  });

  // Last: the target is killed. A call that reached it and lost its connection ("Connection
  // dropped": it had read the request and waited on its replica) may have been written; only a
  // call that never got a connection wrote nothing.
  it('says a forwarded entry whose receiver died while writing it has an unknown outcome, not "nothing written"', async () => {
    const { remote, target, second } = roles;
    // The target takes the entry and waits for its replica's acknowledgement: it dies mid-call.
    stop(second);
    const pending = batch();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await c.kill(target);
    const err = await pending;
    process.kill(stopped as number, 'SIGCONT');
    stopped = undefined;
    assert.match(err.details, new RegExp(`^The 1 entry forwarded to ${target} \\(entries\\[1\\] "${remote}"\\) has an unknown outcome: the call to ${target} ended without its answer \\(UNAVAILABLE: .*\\); ` +
      'it may be written: read it back or retry'), err.details);
  });
});
