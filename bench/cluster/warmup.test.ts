// The warm-up decides whether the first measured workload starts cold (issue 3's unary lag was
// over 100 ms in three runs of four while it was 1,000 puts): it must run every shape that is
// measured, at the measured concurrency, and nothing that would change the system under test.

import assert from 'node:assert/strict';
import { warmupsFor } from './scenarios';
import type { WorkloadSpec } from './workloads';

const unary: WorkloadSpec = { kind: 'put', inFlight: 64, maxRequests: 2_000_000, maxMs: 15_000 };
const batched: WorkloadSpec = { kind: 'batchPut', inFlight: 4, batchSize: 1000, maxRequests: 100_000, maxMs: 15_000 };

describe('benchmark warm-up', () => {
  it('runs each measured shape once, at its concurrency and batch size, for a fifth of its time capped at 3 s', () => {
    const w = warmupsFor([unary, batched, { ...batched, maxMs: 30_000 }], true);
    assert.deepEqual(w.map((x) => [x.kind, x.inFlight, x.batchSize, x.maxMs]), [['put', 64, undefined, 3000], ['batchPut', 4, 1000, 3000]]);
    assert.deepEqual(warmupsFor([{ ...unary, maxMs: 1_000 }], true).map((x) => x.maxMs), [200]);
  });

  it('leaves out what the system cannot do (no batched write on etcd) and what it would measure (gets)', () => {
    assert.deepEqual(warmupsFor([unary, batched], false).map((x) => x.kind), ['put']);
    const getsOnly = warmupsFor([{ kind: 'get', inFlight: 64, maxRequests: 1_000, maxMs: 10_000, keys: { kind: 'uniform', keys: 100 } }], true);
    assert.deepEqual(getsOnly.map((x) => x.kind), ['put'], 'a scenario of gets still warms the write path its preload uses');
  });

  it('writes unique keys and runs no action on the cluster: a skewed key space or an AddNode stays in the measured run', () => {
    const during = { name: 'AddNode', atMs: 1000, run: () => Promise.reject(new Error('a warm-up must not run this')) };
    const [w] = warmupsFor([{ ...batched, keys: { kind: 'zipf', keys: 100_000, theta: 0.99 }, during }], true);
    assert.equal(w.keys, undefined);
    assert.equal(w.during, undefined);
  });
});
