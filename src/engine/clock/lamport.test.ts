import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { LamportClock } from './lamport';

describe('LamportClock', () => {
  it('issues strictly increasing timestamps that exceed everything observed', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(-1), fc.nat(1_000_000))), (events) => {
        const clock = new LamportClock();
        let last = 0;
        let maxSeen = 0;
        for (const e of events) {
          if (e < 0) {
            const t = clock.tick();
            assert.ok(t > last && t > maxSeen, `tick ${t} after ${last}, seen ${maxSeen}`);
            last = t;
          } else {
            clock.observe(e);
            maxSeen = Math.max(maxSeen, e);
            assert.ok(clock.now() >= e);
          }
        }
      }),
    );
  });

  it('rejects timestamps that are not non-negative safe integers', () => {
    assert.throws(() => new LamportClock(-1), /non-negative safe integer/);
    assert.throws(() => new LamportClock().observe(1.5), /non-negative safe integer/);
    assert.throws(() => new LamportClock().observe(Number.MAX_SAFE_INTEGER + 2), /non-negative safe integer/);
  });
});
