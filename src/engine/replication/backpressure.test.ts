import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { Backpressure } from './backpressure';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Backpressure', () => {
  it('admits while the backlog plus admitted writes fit, and queues the rest in arrival order', async () => {
    let backlog = 0;
    const gate = new Backpressure(() => backlog, { maxBacklogOps: 100, maxWaitMs: 60_000 });
    const first = await gate.admit(60);
    const order: string[] = [];
    const second = gate.admit(60).then((r) => { order.push('second'); return r; });
    const third = gate.admit(10).then((r) => { order.push('third'); return r; });
    await tick();
    // 10 would fit beside 60, but it came after a waiting writer: no overtaking.
    assert.deepEqual(order, []);
    assert.equal(gate.waiting, 2);
    backlog = 60; // the first write is now logged and unacknowledged...
    first(); // ...and released, which rechecks

    await tick();
    assert.deepEqual(order, []);
    backlog = 0; // peers acknowledged it
    gate.recheck();
    await tick();
    assert.deepEqual(order, ['second', 'third']);
    assert.equal(gate.inFlight, 70);
    (await second)();
    (await third)();
    assert.equal(gate.inFlight, 0);
    assert.equal(gate.counters.waits, 2);
    assert.equal(gate.counters.timeouts, 0);
  });

  it('lets a batch larger than the bound in once nothing else is outstanding', async () => {
    let backlog = 5;
    const gate = new Backpressure(() => backlog, { maxBacklogOps: 10, maxWaitMs: 60_000 });
    let admitted = false;
    const big = gate.admit(50).then((r) => { admitted = true; return r; });
    await tick();
    assert.equal(admitted, false);
    backlog = 0;
    gate.recheck();
    (await big)();
    assert.equal(admitted, true);
  });

  it('admits a writer after maxWaitMs when peers never catch up, and counts it', async () => {
    const gate = new Backpressure(() => 1_000, { maxBacklogOps: 10, maxWaitMs: 20 });
    const started = Date.now();
    (await gate.admit(1))();
    assert.ok(Date.now() - started >= 15);
    assert.equal(gate.counters.timeouts, 1);
  });

  it('keeps writers waiting past maxWaitMs while peers acknowledge slowly, and lets one in when they stall', async () => {
    let backlog = 1_000;
    const gate = new Backpressure(() => backlog, { maxBacklogOps: 10, maxWaitMs: 40 });
    let admitted = false;
    const waiting = gate.admit(1).then((r) => { admitted = true; return r; });
    // Acknowledgements keep coming (the backlog shrinks but stays above the bound) for 3 × maxWaitMs.
    for (let i = 0; i < 12; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      backlog -= 10;
      gate.progress();
    }
    assert.equal(admitted, false, 'a live, slow peer must keep throttling');
    const stalledAt = Date.now();
    (await waiting)();
    assert.ok(Date.now() - stalledAt >= 30, 'admitted only after maxWaitMs without progress');
    assert.equal(gate.counters.timeouts, 1);
  });

  it('never waits when turned off, and releaseAll frees every waiter', async () => {
    const off = new Backpressure(() => 1e9, { maxBacklogOps: 0, maxWaitMs: 60_000 });
    (await off.admit(1_000))();
    assert.equal(off.counters.waits, 0);
    const gate = new Backpressure(() => 1e9, { maxBacklogOps: 10, maxWaitMs: 60_000 });
    const waiting = [gate.admit(1), gate.admit(2)];
    await tick();
    gate.releaseAll();
    for (const release of await Promise.all(waiting)) release();
    assert.equal(gate.inFlight, 0);
  });

  it('holds nothing back while no destination is live, and bounds again once one is', async () => {
    let backlog: number | undefined = undefined;
    const gate = new Backpressure(() => backlog, { maxBacklogOps: 10, maxWaitMs: 60_000 });
    const admits = [gate.admit(10), gate.admit(10), gate.admit(10)];
    await tick();
    assert.equal(gate.counters.waits, 0, 'a node without live peers has no backlog to bound');
    assert.equal(gate.inFlight, 30);
    const alone = await Promise.all(admits);
    backlog = 0;
    let admitted = false;
    const next = gate.admit(1).then((release) => {
      admitted = true;
      return release;
    });
    await tick();
    assert.equal(admitted, false, 'a live peer brings the bound back: 30 admitted ops already exceed it');
    for (const release of alone) release();
    (await next)();
    assert.equal(gate.counters.waits, 1);
  });

  it('never has more admitted than the bound allows, whatever the interleaving (property)', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 25 }),
      fc.integer({ min: 1, max: 40 }),
      async (sizes, bound) => {
        const gate = new Backpressure(() => 0, { maxBacklogOps: bound, maxWaitMs: 60_000 });
        const releases: (() => void)[] = [];
        let maxSeen = 0;
        const all = sizes.map((n) => gate.admit(n).then((release) => {
          maxSeen = Math.max(maxSeen, gate.inFlight);
          // Over the bound only as a lone oversized batch.
          assert.ok(gate.inFlight <= bound || gate.inFlight === n, `${gate.inFlight} in flight with bound ${bound}`);
          releases.push(release);
        }));
        let done = 0;
        while (done < sizes.length) {
          await tick();
          const r = releases.shift();
          if (r) { r(); done++; }
        }
        await Promise.all(all);
        assert.equal(gate.inFlight, 0);
        assert.ok(maxSeen > 0);
      },
    ), { numRuns: 100 });
  });
});
