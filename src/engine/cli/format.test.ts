import { strict as assert } from 'node:assert';
import { formatVersion } from './format';

describe('CLI formatting', () => {
  it('prints a version with its op id, and without an empty one (vector mode has none)', () => {
    assert.equal(formatVersion({ ts: 7, origin: 'n2', opId: 'n2:3' }), 'op n2:3 ts 7');
    assert.equal(formatVersion({ ts: 18, origin: 'n1', opId: '' }), 'ts 18');
    assert.equal(formatVersion(undefined), '(no version)');
  });
});
