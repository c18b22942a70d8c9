import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { NoClusterError } from './errors';
import { findController, readStateFile, removeStateFile, STATE_FILE, TOKEN_FILE, writeFileAtomic, writeStateFile, type ControllerState } from './state-file';

describe('state and token files', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ringdb-state-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const state = (pid: number): ControllerState => ({ address: '127.0.0.1:4321', pid, startedAtUnixMs: 1_700_000_000_000, dataDir: dir, detached: true });

  it('round-trips the state and finds a live controller with its token', () => {
    writeStateFile(dir, state(process.pid));
    writeFileAtomic(join(dir, TOKEN_FILE), `${'ab'.repeat(32)}\n`, 0o600);
    assert.deepEqual(readStateFile(dir), state(process.pid));
    assert.deepEqual(findController(dir), { state: state(process.pid), token: 'ab'.repeat(32) });
    assert.equal(statSync(join(dir, TOKEN_FILE)).mode & 0o777, 0o600);
  });

  it('says no cluster runs when there is no state file', () => {
    assert.throws(() => findController(dir), (e: unknown) =>
      e instanceof NoClusterError && e.message === `no RingDB cluster found in ${dir}; start one with \`ringdb start\``);
  });

  it('detects an edited or torn state file by its checksum', () => {
    writeStateFile(dir, state(process.pid));
    const file = join(dir, STATE_FILE);
    writeFileSync(file, readFileSync(file, 'utf8').replace('127.0.0.1:4321', '10.0.0.1:4321'));
    assert.throws(() => readStateFile(dir), /fails its checksum/);
    writeFileSync(file, '{"format":1,"addr');
    assert.throws(() => readStateFile(dir), /is unreadable/);
  });

  it('treats a state file whose controller is gone as no cluster', () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    writeStateFile(dir, state(dead));
    assert.throws(() => findController(dir), (e: unknown) => e instanceof NoClusterError && /controller \(pid \d+\) is no longer running/.test(e.message));
  });

  it('removes only its own state file', () => {
    writeStateFile(dir, state(process.pid));
    removeStateFile(dir, process.pid + 1);
    assert.equal(readStateFile(dir).pid, process.pid);
    removeStateFile(dir, process.pid);
    assert.throws(() => readStateFile(dir), NoClusterError);
  });

  it('replaces a file whole and keeps the mode asked for', () => {
    const file = join(dir, 'f');
    writeFileAtomic(file, 'old', 0o644);
    writeFileAtomic(file, 'new', 0o600);
    assert.equal(readFileSync(file, 'utf8'), 'new');
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });
});
