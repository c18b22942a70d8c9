import { strict as assert } from 'node:assert';
import * as fc from 'fast-check';
import { Interner } from './interner';

describe('Interner', () => {
  it('numbers strings 0, 1, 2 ... in order of first sight, answers the same number again, and gives back the first instance', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('n1', 'n2', 'node-3', '', 'ñ4'), { maxLength: 50 }), (seen) => {
        const interner = new Interner();
        const model: string[] = [];
        for (const s of seen) {
          if (!model.includes(s)) model.push(s);
          assert.equal(interner.id(s), model.indexOf(s));
          assert.equal(interner.find(s), model.indexOf(s));
          assert.equal(interner.string(model.indexOf(s)), s);
        }
        assert.equal(interner.size, model.length);
        assert.equal(interner.find('never seen'), undefined);
      }),
    );
  });
});
