import { strict as assert } from 'node:assert';
import { EventHub, type ClusterEventBody } from './events';

const phase: ClusterEventBody = { $case: 'phase', value: { phase: 1, reason: 'test' } };

describe('EventHub', () => {
  it('delivers each event to every subscriber until it unsubscribes', () => {
    const hub = new EventHub();
    const a: ClusterEventBody[] = [];
    const b: ClusterEventBody[] = [];
    const offA = hub.subscribe((e) => a.push(e));
    hub.subscribe((e) => b.push(e));
    hub.publish(phase);
    offA();
    hub.publish(phase);
    assert.equal(a.length, 1);
    assert.equal(b.length, 2);
  });

  it('says when the first watcher arrives and the last one leaves, not in between', () => {
    const hub = new EventHub();
    const seen: boolean[] = [];
    hub.onWatched((w) => seen.push(w));
    assert.deepEqual(seen, [], 'no one watches yet');
    const offA = hub.subscribe(() => {});
    const offB = hub.subscribe(() => {});
    assert.deepEqual(seen, [true]);
    offA();
    assert.deepEqual(seen, [true], 'one watcher is left');
    offB();
    offB();
    offA();
    assert.deepEqual(seen, [true, false], 'the last one leaving is told once, however often it unsubscribes');
    const offC = hub.subscribe(() => {});
    assert.deepEqual(seen, [true, false, true]);
    offC();
    assert.deepEqual(seen, [true, false, true, false]);
  });

  it('tells a listener that arrives while someone watches at once, and stops telling it once it leaves', () => {
    const hub = new EventHub();
    const off = hub.subscribe(() => {});
    const seen: boolean[] = [];
    const stop = hub.onWatched((w) => seen.push(w));
    assert.deepEqual(seen, [true]);
    stop();
    off();
    assert.deepEqual(seen, [true]);
  });
});
