import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { tailLines } from './logs';

describe('tailLines', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'ringdb-logs-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('returns the last n lines of any file, like tail -n', () => {
    const file = join(dir, 'log');
    fc.assert(fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', ' ', 'é') }), { maxLength: 30 }), fc.integer({ min: 0, max: 40 }), (lines, n) => {
      writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
      assert.deepEqual(tailLines(file, n), n === 0 ? [] : lines.slice(-n));
    }));
  });

  it('reads only the end of a large file and drops the partial first line', () => {
    const file = join(dir, 'big');
    const line = 'x'.repeat(999);
    writeFileSync(file, `${line}\n`.repeat(6000));
    const tail = tailLines(file, 10_000);
    assert.ok(tail.length > 4000 && tail.length < 6000, `got ${tail.length} lines`);
    assert.ok(tail.every((l) => l === line));
  });

  it('treats a missing file as empty', () => {
    assert.deepEqual(tailLines(join(dir, 'none'), 5), []);
  });
});
