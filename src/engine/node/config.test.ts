import assert from 'node:assert/strict';
import { ConfigError, quorumSettings, validateNodeConfig, type NodeConfig } from './config';

const good: NodeConfig = {
  id: 'n1', dataDir: '/tmp/n1', host: '127.0.0.1', port: 0, tokenFile: '/tmp/token',
  peers: [{ id: 'n2', address: '127.0.0.1:4000' }, { id: 'n3', address: 'localhost:4001' }],
  topology: { n1: ['n2'], n2: ['n3'], n3: ['n1'] },
  storage: { sync: 'batch', syncIntervalMs: 5, memtableBytes: 4 << 20 },
  heartbeatIntervalMs: 500, antiEntropyIntervalMs: 5000, logLevel: 'info',
};

function problems(raw: unknown): string[] {
  try {
    validateNodeConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('node config', () => {
  it('accepts a complete config, and a null topology as the full mesh', () => {
    assert.deepEqual(validateNodeConfig(good), good);
    assert.equal(validateNodeConfig({ ...good, topology: null }).topology, null);
  });

  it('reports every bad field at once, naming it and what is accepted', () => {
    const found = problems({
      ...good, id: 'has space', port: 70000, peers: [{ id: 'n2', address: 'no-port' }, { id: 'n2', address: '127.0.0.1:1' }],
      storage: { sync: 'sometimes', syncIntervalMs: 5, memtableBytes: 10 }, logLevel: 'loud', extra: 1, newMember: 'yes',
    });
    for (const expected of [/^unknown field "extra"/, /^id must match/, /^port must be an integer from 0 to 65535, got 70000/, /^peers\[0\]\.address must be host:port/,
      /^peers\[1\]\.id "n2" is listed twice/, /^storage\.sync must be 'always', 'batch' or 'none'/, /^storage\.memtableBytes must be an integer from 1024/, /^logLevel must be/, /^newMember must be true or false, got "yes"/]) {
      assert.ok(found.some((p) => expected.test(p)), `${expected} in ${JSON.stringify(found)}`);
    }
  });

  it('checks the topology against the members', () => {
    assert.match(problems({ ...good, topology: { n1: ['n9'] } }).join(), /topology\.n1: unknown destination "n9"/);
    assert.match(problems({ ...good, topology: { n1: ['n1'] } }).join(), /cannot replicate to itself/);
    assert.match(problems({ ...good, topology: { n1: 'n2' } }).join(), /topology\.n1 must be an array/);
    assert.match(problems({ ...good, topology: [] }).join(), /topology must be null/);
  });

  it('accepts the partitioning settings, applies their defaults, and names each bad one', () => {
    const withQuorums = { ...good, replicationFactor: 3, writeQuorum: 2, readQuorum: 1, enableForwarding: false, loadBalanceReads: true, readBalancing: 'least-recent' as const, speculativeRetry: '20ms' };
    assert.deepEqual(validateNodeConfig(withQuorums), withQuorums);
    assert.deepEqual(quorumSettings(good), { replicationFactor: 3, writeQuorum: 2, readQuorum: 2, enableForwarding: true, loadBalanceReads: false, readBalancing: 'round-robin', speculativeRetry: '99p' });
    assert.equal(quorumSettings({ ...good, replicationFactor: 1 }).writeQuorum, 1, 'W is capped by N');
    const found = problems({ ...good, replicationFactor: 0, writeQuorum: 4, readQuorum: 2.5, enableForwarding: 'yes', readBalancing: 'random', speculativeRetry: '99' });
    for (const expected of [/^replicationFactor must be an integer from 1 to 64/, /^writeQuorum must be at most replicationFactor/, /^readQuorum must be an integer/,
      /^enableForwarding must be true or false/, /^readBalancing must be 'round-robin' or 'least-recent'/,
      /^speculativeRetry must be "none", "always", a wait such as "50ms" \(1 to 60000 ms\), or a percentile of recent answers such as "99p" \(50 to 99\.9\), got "99"$/]) {
      assert.ok(found.some((p) => expected.test(p)), `${expected} in ${JSON.stringify(found)}`);
    }
  });

  it('rejects what is not an object', () => {
    assert.deepEqual(problems('nope'), ['the config must be a JSON object']);
  });

  it('checks the index field lists: names, each once', () => {
    assert.deepEqual(problems({ ...good, globalIndexFields: ['color', 'color'] }), ['globalIndexFields lists a field twice (list each once), got ["color","color"]']);
    assert.deepEqual(problems({ ...good, globalIndexFields: [''] }), ['globalIndexFields must be an array of non-empty field names, got [""]']);
    assert.deepEqual(problems({ ...good, indexFields: ['size'], globalIndexFields: ['color'] }), []);
  });
});
