import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { compareVersions, copyVerdicts, type CopyAnswer } from './copy-verdicts';

const version = fc.record({ ts: fc.integer({ min: 1, max: 5 }), origin: fc.constantFrom('n1', 'n2', 'n3') }).map((v) => ({ ...v, opId: `${v.origin}:${v.ts}` }));
const answer: fc.Arbitrary<CopyAnswer> = fc.record({ answered: fc.boolean(), version: fc.option(version, { nil: undefined }) });

describe('copy verdicts', () => {
  it('marks exactly the answers holding the greatest version newest, older ones stale, none missing', () => {
    fc.assert(fc.property(fc.array(answer, { maxLength: 6 }), fc.boolean(), (copies, allHeard) => {
      const { newest, verdicts } = copyVerdicts(copies, allHeard);
      const heard = copies.filter((c) => c.answered && c.version).map((c) => c.version!);
      assert.equal(newest === undefined, heard.length === 0);
      for (const v of heard) assert.ok(compareVersions(v, newest!) <= 0, 'no answer is newer than the newest');
      copies.forEach((c, i) => {
        const expected = !c.answered || !newest ? ''
          : !c.version ? 'missing'
            : compareVersions(c.version, newest) === 0 ? (allHeard ? 'newest' : 'newest heard') : 'stale';
        assert.equal(verdicts[i], expected);
      });
    }));
  });

  it('orders by timestamp, then origin, and ignores what a node that did not answer reported', () => {
    const a = { ts: 4, origin: 'n1', opId: 'n1:9' };
    const b = { ts: 4, origin: 'n2', opId: 'n2:3' };
    const late = { ts: 9, origin: 'n3', opId: 'n3:1' };
    const r = copyVerdicts([{ answered: true, version: a }, { answered: true, version: b }, { answered: true, version: undefined }, { answered: false, version: late }], false);
    assert.deepEqual(r.newest, b);
    assert.deepEqual(r.verdicts, ['stale', 'newest heard', 'missing', '']);
  });
});
