import { strict as assert } from 'node:assert';
import type { ClusterDescription, NodeInfo } from '../client';
import { formatStatus, formatVersion } from './format';

describe('CLI formatting', () => {
  it('prints a version with its op id, and without an empty one (vector mode has none)', () => {
    assert.equal(formatVersion({ ts: 7, origin: 'n2', opId: 'n2:3' }), 'op n2:3 ts 7');
    assert.equal(formatVersion({ ts: 18, origin: 'n1', opId: '' }), 'ts 18');
    assert.equal(formatVersion(undefined), '(no version)');
  });

  it('shows the router, or why it is down, and the hints each node holds with their age', () => {
    const node = (id: string, state: NodeInfo['state']): NodeInfo => ({
      id, address: state === 'up' ? '127.0.0.1:4000' : '', pid: state === 'up' ? 10 : 0, state, startedAtUnixMs: 0,
      stateSinceUnixMs: 0, dataDir: '', logFile: '', reason: state === 'up' ? '' : 'killed by KillNode (SIGKILL)', stats: undefined,
    });
    const base: ClusterDescription = {
      phase: 'running', specJson: '{}', dataDir: '/d', controllerAddress: '127.0.0.1:1', controllerPid: 1, startedAtUnixMs: 0,
      nodes: [node('n1', 'up'), node('n2', 'down')],
    };
    assert.doesNotMatch(formatStatus(base), /router|hints/);
    assert.match(formatStatus({ ...base, routerAddress: '127.0.0.1:7000' }), /\nrouter: 127\.0\.0\.1:7000$/);
    assert.match(formatStatus({ ...base, routerAddress: '', routerNote: 'exited unexpectedly (killed by SIGKILL); restarting it' }),
      /\nrouter: down: exited unexpectedly \(killed by SIGKILL\); restarting it$/);
    const status = formatStatus({ ...base, hints: [
      { holder: 'n1', target: 'n2', count: 3, oldestUnixMs: Date.now() - 65_000 },
      { holder: 'n3', target: 'n2', count: 0, oldestUnixMs: 0 },
    ] });
    assert.match(status, /\nhints \(writes held for a replica that was down, handed over when it is back\):\n {2}n1 holds 3 for n2, oldest 1m\d*s? old$/);
  });
});
