// The fault-injecting file system's model of a power cut: only fsynced contents and only
// fsynced folder entries survive crash(); crashAfter(n) stops the machine after n mutations.

import { strict as assert } from 'node:assert';
import { FaultFileSystem, SimulatedCrashError } from './fault-fs';

describe('FaultFileSystem', () => {
  it('keeps file contents only up to the last fsync', () => {
    const fs = new FaultFileSystem();
    fs.mkdirp('/d');
    const fd = fs.open('/d/f', 'a');
    fs.fsyncDir('/d');
    fs.write(fd, Buffer.from('synced'));
    fs.fsync(fd);
    fs.write(fd, Buffer.from('-lost'));
    assert.equal(fs.readFile('/d/f').toString(), 'synced-lost');
    fs.crash();
    assert.equal(fs.readFile('/d/f').toString(), 'synced');
    assert.throws(() => fs.write(fd, Buffer.from('x')), /EBADF/, 'descriptors die with the machine');
  });

  it('keeps creates, renames and unlinks only once their folder is fsynced', () => {
    const fs = new FaultFileSystem();
    fs.mkdirp('/d');
    const write = (name: string, text: string) => {
      const fd = fs.open(name, 'w');
      fs.write(fd, Buffer.from(text), 0);
      fs.fsync(fd);
      fs.close(fd);
    };
    write('/d/old', 'old');
    fs.fsyncDir('/d');
    write('/d/new.tmp', 'new');
    fs.rename('/d/new.tmp', '/d/old');
    write('/d/unsynced', 'x');
    fs.crash();
    assert.equal(fs.readFile('/d/old').toString(), 'old', 'the rename was not made durable');
    assert.deepEqual(fs.readdir('/d'), ['old']);
    write('/d/new.tmp', 'new');
    fs.rename('/d/new.tmp', '/d/old');
    fs.fsyncDir('/d');
    fs.unlink('/d/old');
    fs.crash();
    assert.equal(fs.readFile('/d/old').toString(), 'new', 'the unlink was not made durable; the rename was');
  });

  it('replays positional writes and truncation onto the durable image', () => {
    const fs = new FaultFileSystem();
    fs.mkdirp('/d');
    const fd = fs.open('/d/f', 'w');
    fs.fsyncDir('/d');
    fs.write(fd, Buffer.from('abcdef'), 0);
    fs.write(fd, Buffer.from('XY'), 8);
    fs.fsync(fd);
    fs.truncate('/d/f', 3);
    fs.write(fd, Buffer.from('Z'), 1);
    fs.fsync(fd);
    fs.crash();
    assert.deepEqual(fs.readFile('/d/f'), Buffer.from('aZc'));
  });

  it('can keep an in-order prefix of the unsynced writes, the last one torn', () => {
    const fs = new FaultFileSystem();
    fs.mkdirp('/d');
    const a = fs.open('/d/a', 'a');
    const b = fs.open('/d/b', 'a');
    fs.fsyncDir('/d');
    fs.write(a, Buffer.from('A1'));
    fs.fsync(a);
    fs.write(a, Buffer.from('A2'));
    fs.write(b, Buffer.from('B1'));
    fs.write(a, Buffer.from('A3'));
    assert.equal(fs.changesSinceCrash, 4);
    fs.crash({ writes: 3, tornBytes: 1 });
    assert.equal(fs.readFile('/d/a').toString(), 'A1A2A', 'A2 kept whole, A3 torn after one byte');
    assert.equal(fs.readFile('/d/b').toString(), 'B1');
    assert.equal(fs.changesSinceCrash, 0);
  });

  it('stops after exactly n mutations and throws until crash()', () => {
    const fs = new FaultFileSystem();
    fs.mkdirp('/d');
    const fd = fs.open('/d/f', 'w');
    fs.crashAfter(2);
    fs.write(fd, Buffer.from('1'));
    fs.fsync(fd);
    assert.throws(() => fs.write(fd, Buffer.from('2')), SimulatedCrashError);
    assert.throws(() => fs.readFile('/d/f'), SimulatedCrashError);
    fs.crash();
    assert.deepEqual(fs.readdir('/d'), [], 'the create was never made durable');
  });

  it('behaves like node for missing files and exclusive creates', () => {
    const fs = new FaultFileSystem();
    fs.mkdirp('/d');
    assert.throws(() => fs.open('/d/missing', 'r'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    fs.close(fs.open('/d/x', 'wx'));
    assert.throws(() => fs.open('/d/x', 'wx'), (e: NodeJS.ErrnoException) => e.code === 'EEXIST');
    assert.equal(fs.exists('/d'), true);
    assert.equal(fs.exists('/d/x'), true);
  });
});
