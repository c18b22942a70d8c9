import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomicFile } from '../storage/atomic-file';
import { CorruptionError } from '../storage/errors';
import { NodeFileSystem } from '../storage/node-fs';
import { MODE_FILE, readMode, writeMode } from './mode-file';
import { tempDataDir } from './test-support';

describe('cluster consistency mode record (mode-file)', () => {
  let data: ReturnType<typeof tempDataDir>;
  beforeEach(() => void (data = tempDataDir()));
  afterEach(() => data.remove());

  it('records nothing for a new folder, and reads back what was written last', () => {
    assert.equal(readMode(data.dir), undefined);
    writeMode(data.dir, 'lww');
    writeMode(data.dir, 'crdt');
    assert.equal(readMode(data.dir), 'crdt');
  });

  it('reports a damaged or foreign record as corruption instead of guessing the mode', () => {
    const file = join(data.dir, MODE_FILE);
    writeMode(data.dir, 'vector');
    const bytes = readFileSync(file);
    bytes[bytes.length - 2] ^= 0xff;
    writeFileSync(file, bytes);
    assert.throws(() => readMode(data.dir), (e: unknown) => e instanceof CorruptionError && /checksum/.test(e.message));
    writeAtomicFile(new NodeFileSystem(), file, Buffer.from('{"consistencyMode":"eventual"}'));
    assert.throws(() => readMode(data.dir), (e: unknown) => e instanceof CorruptionError && /holds "eventual", not one of lww, vector, crdt/.test(e.message));
  });
});
