import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomicFile } from '../storage/atomic-file';
import { CorruptionError } from '../storage/errors';
import { NodeFileSystem } from '../storage/node-fs';
import { MODE_FILE, changedCrdtKeys, readMode, writeMode } from './mode-file';
import { tempDataDir } from './test-support';

describe('cluster consistency mode record (mode-file)', () => {
  let data: ReturnType<typeof tempDataDir>;
  beforeEach(() => void (data = tempDataDir()));
  afterEach(() => data.remove());

  it('records nothing for a new folder, and reads back what was written last', () => {
    assert.equal(readMode(data.dir), undefined);
    writeMode(data.dir, { consistencyMode: 'lww', crdt: {} });
    writeMode(data.dir, { consistencyMode: 'crdt', crdt: { likes: 'gcounter', tags: 'orset' } });
    assert.deepEqual(readMode(data.dir), { consistencyMode: 'crdt', crdt: { likes: 'gcounter', tags: 'orset' } });
  });

  it('reads a record written before the CRDT types were kept as the mode alone, with no types to check', () => {
    writeAtomicFile(new NodeFileSystem(), join(data.dir, MODE_FILE), Buffer.from('{"consistencyMode":"crdt"}'));
    assert.deepEqual(readMode(data.dir), { consistencyMode: 'crdt' });
  });

  it('reports recorded CRDT keys a spec retypes or drops, and lets it add keys', () => {
    const recorded = { likes: 'gcounter', mv: 'mvregister', name: 'lwwregister' } as const;
    assert.deepEqual(changedCrdtKeys(recorded, { likes: 'pncounter', name: 'lwwregister', views: 'gcounter' }), [
      '"likes": recorded gcounter, requested pncounter',
      '"mv": recorded mvregister, requested none (dropped from crdt, so it would read as a plain value)',
    ]);
    assert.deepEqual(changedCrdtKeys(recorded, { ...recorded, views: 'gcounter' }), []);
  });

  it('reports a damaged or foreign record as corruption instead of guessing the mode', () => {
    const file = join(data.dir, MODE_FILE);
    writeMode(data.dir, { consistencyMode: 'vector', crdt: {} });
    const bytes = readFileSync(file);
    bytes[bytes.length - 2] ^= 0xff;
    writeFileSync(file, bytes);
    assert.throws(() => readMode(data.dir), (e: unknown) => e instanceof CorruptionError && /checksum/.test(e.message));
    writeAtomicFile(new NodeFileSystem(), file, Buffer.from('{"consistencyMode":"eventual"}'));
    assert.throws(() => readMode(data.dir), (e: unknown) => e instanceof CorruptionError && /holds "eventual", not one of lww, vector, crdt/.test(e.message));
    writeAtomicFile(new NodeFileSystem(), file, Buffer.from('{"consistencyMode":"crdt","crdt":{"likes":"counter"}}'));
    assert.throws(() => readMode(data.dir), (e: unknown) => e instanceof CorruptionError && /gives CRDT key "likes" the type "counter", not one of gcounter/.test(e.message));
  });
});
