// askQuorum with nodes that answer, fail or hang (promises settled by hand, real timers for the
// speculative retry): who is asked, which answers count, and that a late answer never does.
import assert from 'node:assert/strict';
import { LatencyWindow } from '../rpc/latency-window';
import { RetryBudget } from '../rpc/retry-budget';
import { askQuorum, speculativeRead } from './quorum-read';

/** A read whose answer for each node is settled by the test; records who was asked, in order. */
class Reads {
  readonly asked: string[] = [];
  private readonly waiting = new Map<string, { resolve: (v: string) => void; reject: (e: Error) => void }>();

  read = (node: string): Promise<string> => {
    this.asked.push(node);
    return new Promise((resolve, reject) => this.waiting.set(node, { resolve, reject }));
  };

  answer(node: string): void {
    this.waiting.get(node)?.resolve(`from ${node}`);
  }

  fail(node: string): void {
    this.waiting.get(node)?.reject(new Error('no answer before the deadline'));
  }
}

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

describe('askQuorum', () => {
  it('asks R nodes and moves on to the next candidate when one fails', async () => {
    const reads = new Reads();
    const asking = askQuorum(['a', 'b', 'c', 'd'], 2, reads.read);
    await tick();
    assert.deepEqual(reads.asked, ['a', 'b']);
    reads.fail('a');
    await tick();
    assert.deepEqual(reads.asked, ['a', 'b', 'c']);
    reads.answer('c');
    reads.answer('b');
    assert.deepEqual(await asking, { answers: ['from c', 'from b'], failures: ['a: no answer before the deadline'] });
    assert.deepEqual(reads.asked, ['a', 'b', 'c'], 'd is not asked');
  });

  it('without speculation waits for a node that does not answer', async () => {
    const reads = new Reads();
    let settled = false;
    const asking = askQuorum(['a', 'b', 'c'], 2, reads.read).then((r) => (settled = true, r));
    await tick();
    reads.answer('b');
    await tick(60);
    assert.equal(settled, false);
    assert.deepEqual(reads.asked, ['a', 'b']);
    reads.answer('a');
    assert.deepEqual((await asking).answers.sort(), ['from a', 'from b']);
  });

  it('asks the next candidate too when a node has not answered after speculateAfterMs, and drops the late answer', async () => {
    const reads = new Reads();
    const asking = askQuorum(['a', 'b', 'c'], 2, reads.read, { speculateAfterMs: 150 });
    await tick();
    reads.answer('b');
    await tick();
    assert.deepEqual(reads.asked, ['a', 'b'], 'nothing more before the wait is over');
    await tick(300);
    assert.deepEqual(reads.asked, ['a', 'b', 'c'], 'c asked in place of the silent a');
    reads.answer('c');
    const result = await asking;
    reads.answer('a');
    await tick();
    assert.deepEqual(result, { answers: ['from b', 'from c'], failures: [] });
  });

  it('speculates only to the nodes speculateTo allows (the replicas), and still asks another in place of a node that failed', async () => {
    const reads = new Reads();
    const replicas = new Set(['a', 'b']);
    const asking = askQuorum(['a', 'b', 'x'], 2, reads.read, { speculateAfterMs: 10, speculateTo: (id) => replicas.has(id) });
    await tick();
    reads.answer('b');
    await tick(60);
    assert.deepEqual(reads.asked, ['a', 'b'], 'x holds no copy: a slow a is waited for');
    reads.fail('a');
    await tick();
    assert.deepEqual(reads.asked, ['a', 'b', 'x'], 'x stands in for a failed a');
    reads.answer('x');
    assert.deepEqual((await asking).answers, ['from b', 'from x']);
  });

  it('speculates after the time the other replicas\' recent answers took, timing theirs and not its own', async () => {
    // A ceiling no test waits out: reaching c at all shows the delay came from the answers.
    const readLatency = new LatencyWindow({ minSamples: 5, ceilingMs: 60_000 });
    const state = { readBudget: new RetryBudget(), readLatency, speculateAfterMs: () => readLatency.delayMs() };
    assert.equal(speculativeRead(['self', 'b', 'c'], state, 'self').speculateAfterMs, 60_000, 'no answers yet: the ceiling');
    for (let i = 0; i < 5; i++) {
      const reads = new Reads();
      const asking = askQuorum(['self', 'b'], 2, reads.read, speculativeRead(['self', 'b', 'c'], state, 'self'));
      await tick();
      reads.answer('self');
      await tick(20);
      reads.answer('b');
      await asking;
    }
    assert.equal(state.readLatency.samples, 5, 'b\'s answers only');
    const delay = speculativeRead(['self', 'b', 'c'], state, 'self').speculateAfterMs ?? 0;
    assert.ok(delay >= 20 && delay < 1000, `about the 20 ms b took, got ${delay}`);
    const reads = new Reads();
    const asking = askQuorum(['b', 'c'], 1, reads.read, speculativeRead(['self', 'b', 'c'], state, 'self'));
    await tick(delay + 200);
    assert.deepEqual(reads.asked, ['b', 'c'], 'c asked beside the silent b');
    reads.answer('c');
    assert.deepEqual((await asking).answers, ['from c']);
    assert.equal(state.readBudget.counters.extra, 1);
  });

  it('asks one replica more than R at once with a wait of 0 (speculativeRetry "always"), and no more; times only the answers', async () => {
    const state = { readBudget: new RetryBudget(), readLatency: new LatencyWindow(), speculateAfterMs: () => 0 };
    const reads = new Reads();
    const asking = askQuorum(['a', 'b', 'c', 'd'], 1, reads.read, speculativeRead(['a', 'b', 'c', 'd'], state, 'self'));
    await tick(30);
    assert.deepEqual(reads.asked, ['a', 'b'], 'one more at once, none after it');
    reads.fail('b');
    await tick();
    assert.deepEqual(reads.asked, ['a', 'b', 'c'], 'a failed one is still replaced');
    reads.answer('c');
    assert.deepEqual((await asking).answers, ['from c']);
    assert.equal(state.readLatency.samples, 1, 'c\'s answer: b failed and a has not answered');
    assert.equal(state.readBudget.counters.extra, 1);
  });

  it('speculates only while the budget allows; a failed node is replaced whatever the budget says', async () => {
    // One extra ask a window, whatever the reads.
    const budget = new RetryBudget({ percent: 0, minPerSecond: 1, windowSeconds: 1, now: () => 0 });
    const first = new Reads();
    const one = askQuorum(['a', 'b', 'c'], 1, first.read, { speculateAfterMs: 10, budget });
    await tick(60);
    assert.deepEqual(first.asked, ['a', 'b'], 'b asked beside the silent a, and nobody beside the silent b: the budget is spent');
    first.answer('b');
    await one;
    const second = new Reads();
    const two = askQuorum(['a', 'b', 'c'], 1, second.read, { speculateAfterMs: 10, budget });
    await tick(60);
    assert.deepEqual(second.asked, ['a'], 'the budget is spent: the silent a is waited for');
    second.fail('a');
    await tick();
    assert.deepEqual(second.asked, ['a', 'b'], 'b asked in place of the failed a');
    second.answer('b');
    assert.deepEqual((await two).answers, ['from b']);
    assert.deepEqual(budget.counters, { extra: 1, refused: 2 });
  });

  it('lets each read it counted pay for a speculative ask when the budget is a share of the reads', async () => {
    const budget = new RetryBudget({ percent: 1, minPerSecond: 0, windowSeconds: 1, now: () => 0 });
    const reads = new Reads();
    const asking = askQuorum(['a', 'b', 'c'], 1, reads.read, { speculateAfterMs: 10, budget });
    await tick(60);
    assert.deepEqual(reads.asked, ['a', 'b'], 'this read counted, so one speculative ask fits, and only one');
    reads.answer('b');
    await asking;
    assert.deepEqual(budget.counters, { extra: 1, refused: 1 });
  });

  it('asks one more node per node asked: a node that fails after its speculation asked another is not replaced twice', async () => {
    const reads = new Reads();
    const asking = askQuorum(['a', 'b', 'c', 'd'], 1, reads.read, { speculateAfterMs: 100 });
    await tick(150);
    assert.deepEqual(reads.asked, ['a', 'b'], 'b asked beside the silent a');
    reads.fail('a');
    await tick();
    assert.deepEqual(reads.asked, ['a', 'b'], 'a\'s failure asks nobody more: b already stands in for it');
    for (const node of reads.asked.slice(1)) reads.answer(node);
    assert.deepEqual((await asking).answers, ['from b']);
  });

  it('never gives more than R answers, however many speculative asks answer at once', async () => {
    const reads = new Reads();
    const asking = askQuorum(['a', 'b', 'c', 'd'], 2, reads.read, { speculateAfterMs: 10 });
    await tick(80);
    assert.deepEqual(reads.asked, ['a', 'b', 'c', 'd']);
    for (const node of ['d', 'c', 'b', 'a']) reads.answer(node);
    assert.deepEqual((await asking).answers, ['from d', 'from c']);
  });

  it('ends with fewer than R answers once every candidate answered or failed, naming the failures', async () => {
    const reads = new Reads();
    const asking = askQuorum(['a', 'b'], 2, reads.read, { speculateAfterMs: 10 });
    await tick(40);
    reads.answer('b');
    reads.fail('a');
    assert.deepEqual(await asking, { answers: ['from b'], failures: ['a: no answer before the deadline'] });
  });

  it('answers at once for R = 0 and with no candidates', async () => {
    assert.deepEqual(await askQuorum(['a'], 0, () => 'x'), { answers: [], failures: [] });
    assert.deepEqual(await askQuorum([], 2, () => 'x'), { answers: [], failures: [] });
  });
});
