// Atomic state files: a crash at any point leaves the old contents or the new, never a mix,
// and damage is reported with file and offset.

import { strict as assert } from 'node:assert';
import { readAtomicFile, writeAtomicFile, writeAtomicFileAsync } from './atomic-file';
import { CorruptionError } from './errors';
import { FaultFileSystem } from './fault-fs';

const FILE = '/d/state';

describe('atomic files', () => {
  it('round-trips and reports a missing file as undefined', () => {
    const fs = new FaultFileSystem();
    fs.mkdirp('/d');
    assert.equal(readAtomicFile(fs, FILE), undefined);
    writeAtomicFile(fs, FILE, Buffer.from('hello'));
    assert.deepEqual(readAtomicFile(fs, FILE), Buffer.from('hello'));
    writeAtomicFile(fs, FILE, Buffer.alloc(0));
    assert.deepEqual(readAtomicFile(fs, FILE), Buffer.alloc(0));
  });

  const writers: [string, (fs: FaultFileSystem, payload: Buffer) => void | Promise<void>][] = [
    ['on the event loop', (fs, payload) => writeAtomicFile(fs, FILE, payload)],
    ['with its fsyncs in the thread pool', (fs, payload) => writeAtomicFileAsync(fs, FILE, payload)],
  ];
  for (const [how, write] of writers) {
    it(`leaves the old or the new contents whatever mutation the machine stops after, written ${how}`, async () => {
      let landed = false;
      for (let n = 0; n < 8; n++) {
        const fs = new FaultFileSystem();
        fs.mkdirp('/d');
        writeAtomicFile(fs, FILE, Buffer.from('old'));
        fs.crashAfter(n);
        try {
          await write(fs, Buffer.from('new contents'));
        } catch {
          // The machine stopped mid-write.
        }
        fs.crash();
        const got = readAtomicFile(fs, FILE)?.toString();
        assert.ok(got === 'old' || got === 'new contents', `after ${n} mutations: ${got}`);
        landed ||= got === 'new contents';
      }
      // A write that returns before its rename is durable would lose it every time.
      assert.ok(landed, 'with enough mutations allowed the new contents survive the crash');
    });
  }

  it('reports a flipped byte, a wrong length and a foreign file as corruption', () => {
    const fs = new FaultFileSystem();
    fs.mkdirp('/d');
    const put = (bytes: Buffer) => {
      const fd = fs.open(FILE, 'w');
      fs.write(fd, bytes, 0);
      fs.close(fd);
    };
    writeAtomicFile(fs, FILE, Buffer.from('payload'));
    const good = fs.readFile(FILE);
    const flipped = Buffer.from(good);
    flipped[18] ^= 1;
    put(flipped);
    assert.throws(() => readAtomicFile(fs, FILE), (e: unknown) => e instanceof CorruptionError && e.offset === 16 && e.file === FILE);
    put(good.subarray(0, good.length - 1));
    assert.throws(() => readAtomicFile(fs, FILE), (e: unknown) => e instanceof CorruptionError && e.offset === 8);
    put(Buffer.from('{"json": true, "but": "not ours"}'));
    assert.throws(() => readAtomicFile(fs, FILE), /bad magic/);
  });
});
