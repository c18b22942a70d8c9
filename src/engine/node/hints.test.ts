// The hint file: hints survive a reopen, delivered ones stay gone, a torn last append is cut off,
// a damaged record is reported with file and offset, and the rewrite keeps exactly the live hints.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { NodeFileSystem } from '../storage';
import { CorruptionError } from '../storage/errors';
import { type Hint, HintStore } from './hints';

const hint = (target: string, seq: number, key = `k${seq}`): Hint => ({
  target, opId: `n1:${seq}`, createdAt: 1000 + seq,
  entry: { key: Buffer.from(key), value: Buffer.from(`v${seq}`), deleted: false, version: { ts: seq, origin: 'n1', opId: `n1:${seq}` } },
});

describe('hint store', () => {
  let dir: string;
  const fs = new NodeFileSystem();
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ringdb-hints-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps hints across a reopen and forgets delivered ones', async () => {
    let s = HintStore.open(fs, dir);
    await s.add([hint('n2', 1), hint('n2', 2), hint('n3', 3, 'k1')]);
    await s.add([hint('n2', 1)]);
    assert.equal(s.hintedWrites, 3, 'a known hint is not added twice');
    await s.remove([hint('n2', 2)]);
    await s.close();
    s = HintStore.open(fs, dir);
    assert.deepEqual(s.list().map((h) => `${h.target}/${h.opId}`), ['n2/n1:1', 'n3/n1:3']);
    assert.deepEqual([...s.targets()], [['n2', 1], ['n3', 1]]);
    assert.equal(s.newestFor(Buffer.from('k1'))?.opId, 'n1:3', 'the newest hint of a key wins');
    assert.equal(s.newestFor(Buffer.from('k2')), undefined);
    await s.close();
  });

  it('finds the hints created by a cutoff, also after the oldest was removed and across a reopen', async () => {
    let s = HintStore.open(fs, dir);
    const ids = (hs: Hint[]): string[] => hs.map((h) => h.opId).sort();
    assert.deepEqual(s.createdBy(Number.MAX_SAFE_INTEGER), []);
    await s.add([hint('n2', 5), hint('n2', 2), hint('n3', 9)]);
    assert.deepEqual(ids(s.createdBy(1001)), []);
    assert.deepEqual(ids(s.createdBy(1002)), ['n1:2']);
    assert.deepEqual(ids(s.createdBy(1005)), ['n1:2', 'n1:5']);
    await s.remove([hint('n2', 2)], 'expired');
    assert.deepEqual(ids(s.createdBy(1004)), [], 'the removed oldest no longer counts');
    assert.deepEqual(ids(s.createdBy(1005)), ['n1:5']);
    await s.add([hint('n2', 1)]);
    assert.deepEqual(ids(s.createdBy(1001)), ['n1:1'], 'an added hint older than the rest counts at once');
    assert.equal(s.expired, 1);
    await s.close();
    s = HintStore.open(fs, dir);
    assert.deepEqual(ids(s.createdBy(1009)), ['n1:1', 'n1:5', 'n1:9']);
    assert.deepEqual(ids(s.createdBy(1004)), ['n1:1']);
    await s.close();
  });

  it('cuts off a torn last append and reports a damaged record with file and offset', async () => {
    const s = HintStore.open(fs, dir);
    await s.add([hint('n2', 1)]);
    await s.add([hint('n2', 2)]);
    await s.close();
    const file = path.join(dir, 'hints', 'hints.log');
    const full = statSync(file).size;
    truncateSync(file, full - 3);
    const reopened = HintStore.open(fs, dir);
    assert.deepEqual(reopened.list().map((h) => h.opId), ['n1:1']);
    await reopened.close();
    const bytes = readFileSync(file);
    bytes[20] ^= 0xff;
    writeFileSync(file, Buffer.concat([bytes, bytes]));
    assert.throws(() => HintStore.open(fs, dir), (err: unknown) => err instanceof CorruptionError && /hints\.log/.test(err.message));
  });

  it('rewrites the file once removals outnumber live hints, keeping the live ones', async () => {
    const s = HintStore.open(fs, dir);
    const many = Array.from({ length: 1100 }, (_, i) => hint('n2', i + 1));
    await s.add(many);
    await s.add([hint('n4', 5000)]);
    await s.remove(many);
    await s.close();
    const file = path.join(dir, 'hints', 'hints.log');
    assert.ok(statSync(file).size < 1000, `rewritten to the one live hint, got ${statSync(file).size} bytes`);
    const reopened = HintStore.open(fs, dir);
    assert.deepEqual(reopened.list().map((h) => `${h.target}/${h.opId}`), ['n4/n1:5000']);
    assert.equal(reopened.list()[0].entry.value.toString(), 'v5000');
    await reopened.close();
  });
});
