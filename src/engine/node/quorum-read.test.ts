// askQuorum with nodes that answer, fail or hang (promises settled by hand, real timers for the
// speculative retry): who is asked, which answers count, and that a late answer never does.
import assert from 'node:assert/strict';
import { askQuorum } from './quorum-read';

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
    const asking = askQuorum(['a', 'b', 'c'], 2, reads.read, { speculateAfterMs: 20 });
    await tick();
    reads.answer('b');
    await tick();
    assert.deepEqual(reads.asked, ['a', 'b'], 'nothing more while the wait is short');
    await tick(60);
    assert.deepEqual(reads.asked, ['a', 'b', 'c'], 'c asked in place of the silent a');
    reads.answer('c');
    const result = await asking;
    reads.answer('a');
    await tick();
    assert.deepEqual(result, { answers: ['from b', 'from c'], failures: [] });
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
