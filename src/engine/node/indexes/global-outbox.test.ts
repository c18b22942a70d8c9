import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import type { Entry } from '../../storage/types';
import { IndexOutbox, type OutboxOptions } from './global-outbox';
import { waitFor } from '../test-harness';

const entry = (key: string, ts: number, live = true): Entry => ({ key: Buffer.from(key), value: live ? Buffer.alloc(0) : null, ts, origin: 'n1' });
const refusal = Object.assign(new Error('bad'), { code: status.INVALID_ARGUMENT });

function outbox(deliver: OutboxOptions['deliver'], reachable: OutboxOptions['reachable'] = () => true, maxPerDestination = 100): IndexOutbox {
  return new IndexOutbox({ deliver, reachable, onError: () => undefined, permanent: (err) => err === refusal, maxPerDestination });
}

describe('global index outbox', () => {
  it('retries a failed batch until it is applied, and sends the newest version of each entry once', async () => {
    const got: string[] = [];
    let failures = 2;
    const o = outbox(async (dest, entries) => {
      if (failures-- > 0) throw new Error('replica busy');
      for (const e of entries) got.push(`${dest}:${e.key.toString()}@${e.ts}`);
    });
    o.add('n2', [entry('a', 1), entry('b', 1)]);
    o.add('n2', [entry('a', 3), entry('a', 2)]);
    await waitFor('delivered', () => o.pending === 0);
    assert.deepEqual(got.sort(), ['n2:a@3', 'n2:b@1']);
    assert.deepEqual(o.counters, { delivered: 2, failures: 2, dropped: 0 });
    o.close();
  });

  it('holds entries for a destination that is down and delivers them when it is back', async () => {
    let up = false;
    const got: string[] = [];
    const o = outbox(async (_dest, entries) => void got.push(...entries.map((e) => e.key.toString())), () => up);
    o.add('n3', [entry('x', 1)]);
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(got, []);
    assert.equal(o.pending, 1);
    up = true;
    await waitFor('delivered after the destination came back', () => got.length === 1);
    o.close();
  });

  it('drops a batch the replica refuses as invalid and entries beyond the queue bound, counting both', async () => {
    const o = outbox(async () => {
      throw refusal;
    }, () => true, 2);
    o.add('n4', [entry('a', 1), entry('b', 1), entry('c', 1)]);
    await waitFor('the refused batch dropped', () => o.pending === 0);
    assert.deepEqual(o.counters, { delivered: 0, failures: 1, dropped: 3 });
    o.close();
  });
});
