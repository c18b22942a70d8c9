// A BatchPut whose entries take both paths (real processes, 5 nodes, N=2 W=2): one entry is
// coordinated here, the other belongs to a partition whose replicas are all down and is kept as
// hints on substitutes. When one path misses W (a SIGSTOPped node the heartbeat still counts up),
// the error must also say what became of the other, or the client cannot tell what to retry.
import assert from 'node:assert/strict';
import type { ServiceError } from '@grpc/grpc-js';
import { PeerState } from '../gen/ringdb/v1/node';
import { createPartitionMap, preferenceList, sloppyPreferenceList, type PartitionMap } from '../partitioning';
import { partitionMapToProto } from '../rpc/partition-map-proto';
import { TestCluster, waitFor } from './test-harness';

const b = (s: string) => Buffer.from(s);
const IDS = ['n1', 'n2', 'n3', 'n4', 'n5'];
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('a BatchPut with entries coordinated here and entries kept only as hints (real processes, 5 nodes, N=2 W=2)', function () {
  this.timeout(120_000);
  let c: TestCluster;
  let map: PartitionMap;
  let stopped: number | undefined;

  let roles: { orphan: string; local: string; dead: string[]; coordinator: string; silent: string; substitutes: string[] };
  const stats = async () => (await c.call(roles.coordinator, (x) => x.stats, {})).stats!;
  const stop = (id: string) => {
    stopped = c.node(id).pid;
    process.kill(stopped, 'SIGSTOP');
  };
  const batch = () => c.call(roles.coordinator, (x) => x.batchPut, { entries: [{ key: b(roles.local), value: b('here') }, { key: b(roles.orphan), value: b('hinted') }] })
    .then(() => assert.fail('the batch was expected to fail'), (e: ServiceError) => e);

  before(async () => {
    c = await TestCluster.start(5, { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 3_600_000 });
    map = createPartitionMap({ replicationFactor: 2, numPartitions: 32 }, IDS);
    const proto = partitionMapToProto(map, [...c.nodes.values()].map((n) => ({ id: n.id, address: n.address })));
    for (const id of IDS) assert.equal((await c.call(id, (x) => x.updatePartitionMap, { map: proto })).accepted, true);
    const replicasOf = (key: string) => preferenceList(map, map.locate(b(key)).id);
    const keys = Array.from({ length: 400 }, (_, i) => `k${i}`);
    // Roles: the orphan key's replicas get killed; the coordinator and `silent` replicate the
    // local key; the orphan's substitutes are the coordinator and the fifth node, not `silent`
    // (so stopping one of them leaves the other path alone).
    let found: typeof roles | undefined;
    for (const orphan of keys) {
      const dead = replicasOf(orphan);
      const substitutes = sloppyPreferenceList(map, map.locate(b(orphan)).id, (id) => !dead.includes(id)).map((p) => p.node);
      for (const local of keys) {
        const [coordinator, silent] = replicasOf(local);
        if (dead.includes(coordinator) || dead.includes(silent) || substitutes.includes(silent) || !substitutes.includes(coordinator)) continue;
        found = { orphan, local, dead, coordinator, silent, substitutes };
        break;
      }
      if (found) break;
    }
    assert.ok(found, 'keys with the roles this test needs');
    roles = found;
    for (const id of roles.dead) await c.kill(id);
    await waitFor(`${roles.coordinator} sees ${roles.dead.join(', ')} down`, async () => (await stats()).peers.filter((p) => roles.dead.includes(p.id)).every((p) => p.state === PeerState.PEER_STATE_DOWN));
  });
  after(async () => {
    if (stopped !== undefined) process.kill(stopped, 'SIGCONT');
    await c?.stop();
  });

  it('fails W for the entries written here and says that the hinted entries are durable on their substitutes', async () => {
    const { orphan, dead, coordinator, silent, substitutes } = roles;
    // Stopped, not killed: the heartbeat still counts it up for a second or so, so it stays a
    // placement of the local entry and never acknowledges it.
    stop(silent);
    const err = await batch();
    const holders = [...new Set(substitutes)].sort();
    assert.match(err.details, new RegExp(`^w: 1 of 1 entries written here did not reach 2 nodes in time \\(${coordinator}:\\d+ for entries\\[0\\] "${roles.local}"\\); they are durable here and keep replicating, so a retry may find them\\. ` +
      `The 1 entry of partitions whose replicas are all down \\(entries\\[1\\]\\) was kept as hints \\(${coordinator}:\\d+\\), durable on ${esc(holders.join(', '))}, ` +
      `which hand them over when the replicas \\(partition \\d+: ${dead.join(', ')}\\) are back: they need no retry$`), err.details);
    const opId = /was kept as hints \((\S+)\)/.exec(err.details)?.[1];
    for (const id of holders) {
      const held = await c.call(id, (x) => x.listHints, { limit: 0 });
      assert.ok(held.hints.some((h) => h.opId === opId && h.key.equals(b(orphan))), `${id} holds the hint ${opId}: ${JSON.stringify(held.hints.map((h) => h.opId))}`);
    }
  });

  it('fails W for the hinted entries and says that the entries written here reached W', async () => {
    const { coordinator, silent, substitutes } = roles;
    process.kill(stopped as number, 'SIGCONT');
    stopped = undefined;
    await waitFor(`${coordinator} sees ${silent} up`, async () => (await stats()).peers.find((p) => p.id === silent)?.state === PeerState.PEER_STATE_UP);
    const other = substitutes.find((id) => id !== coordinator) as string;
    stop(other);
    const err = await batch();
    assert.match(err.details, new RegExp(`^w: 1 of 1 writes whose replicas are all down were kept as hints by fewer than 2 nodes known to hold them \\(${coordinator}:\\d+; ` +
      `${other}: outcome unknown: .*\\); the hints that were stored are handed off when a replica returns, so a retry may find them\\. ` +
      'The other 1 entry of the batch \\(1 written here\\) reached W: it needs no retry$'), err.details);
  });
});
