// RetryBudget against a model that keeps every event: whatever the traffic and however time
// moves, an extra request is granted exactly when the ones granted in the window before it, with
// it, stay within minPerSecond x window + percent x the requests in that window.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RetryBudget } from './retry-budget';

type Step = { kind: 'request' } | { kind: 'extra' } | { kind: 'wait'; ms: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Step>({ kind: 'request' }) },
  { weight: 3, arbitrary: fc.constant<Step>({ kind: 'extra' }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4000 }).map((ms): Step => ({ kind: 'wait', ms })) },
);

describe('RetryBudget', () => {
  it('grants an extra request exactly when the window\'s extras stay within its allowance (property)', () => {
    fc.assert(fc.property(
      fc.array(stepArb, { maxLength: 400 }),
      fc.constantFrom(0, 0.1, 0.5),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: -10_000, max: 10_000 }),
      (steps, percent, minPerSecond, windowSeconds, start) => {
        let now = start;
        const budget = new RetryBudget({ percent, minPerSecond, windowSeconds, now: () => now });
        const requests: number[] = [];
        const granted: number[] = [];
        const inWindow = (times: number[]) => times.filter((t) => Math.floor(t / 1000) > Math.floor(now / 1000) - windowSeconds && Math.floor(t / 1000) <= Math.floor(now / 1000)).length;
        for (const step of steps) {
          if (step.kind === 'wait') now += step.ms;
          else if (step.kind === 'request') {
            budget.request();
            requests.push(now);
          } else {
            const expected = inWindow(granted) + 1 <= minPerSecond * windowSeconds + percent * inWindow(requests);
            assert.equal(budget.tryExtra(), expected, `at ${now} ms: ${inWindow(granted)} granted and ${inWindow(requests)} requests in the window`);
            if (expected) granted.push(now);
          }
        }
        assert.equal(budget.counters.extra, granted.length);
      },
    ), { numRuns: 500 });
  });

  it('by default lets a quiet caller hedge its reads and a busy one a tenth of them', () => {
    let now = 0;
    const quiet = new RetryBudget({ now: () => now });
    for (let i = 0; i < 5; i++) {
      quiet.request();
      assert.equal(quiet.tryExtra(), true);
      now += 1000;
    }
    now = 0;
    const busy = new RetryBudget({ now: () => now });
    for (let i = 0; i < 10_000; i++) busy.request();
    let extra = 0;
    while (busy.tryExtra()) extra++;
    assert.equal(extra, 100 + 1000, '10 a second over 10 s, plus a tenth of 10,000');
    assert.deepEqual(busy.counters, { extra: 1100, refused: 1 });
    now += 10_000;
    assert.equal(busy.tryExtra(), true, 'the window moved on');
  });

  it('counts nothing granted in a second the clock has gone back from, and takes a clock that gives no number', () => {
    let now = 20_500;
    const budget = new RetryBudget({ percent: 0, minPerSecond: 1, windowSeconds: 2, now: () => now });
    assert.equal(budget.tryExtra(), true);
    assert.equal(budget.tryExtra(), true);
    assert.equal(budget.tryExtra(), false, 'the reserve of 2 is spent');
    now = 3_500;
    assert.equal(budget.tryExtra(), true, 'second 20 is not within seconds 2 and 3');
    now = Number.NaN;
    budget.request();
    assert.equal(typeof budget.tryExtra(), 'boolean');
  });

  it('refuses settings it cannot work with, naming them', () => {
    assert.throws(() => new RetryBudget({ percent: -0.1 }), /^RangeError: retry budget: percent and minPerSecond must be 0 or more and windowSeconds a whole number from 1 to 600; got \{"percent":-0.1,"minPerSecond":10,"windowSeconds":10\}$/);
    assert.throws(() => new RetryBudget({ windowSeconds: 0.5 }), /windowSeconds a whole number from 1 to 600; got .*"windowSeconds":0.5/);
    assert.throws(() => new RetryBudget({ windowSeconds: 601 }), /"windowSeconds":601/);
    assert.throws(() => new RetryBudget({ minPerSecond: Number.NaN }), /"minPerSecond":null/);
  });
});
