import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptionError } from '../storage/errors';
import { MEMBERS_FILE, readMembers, writeMembers } from './members-file';
import { tempDataDir } from './test-support';

describe('cluster member list (members-file)', () => {
  let data: ReturnType<typeof tempDataDir>;
  beforeEach(() => void (data = tempDataDir()));
  afterEach(() => data.remove());

  it('records nothing for a new folder, and reads back what was written last', () => {
    assert.equal(readMembers(data.dir), undefined);
    writeMembers(data.dir, ['n1', 'n2', 'n3']);
    writeMembers(data.dir, ['n1', 'n3', 'n4']);
    assert.deepEqual(readMembers(data.dir), ['n1', 'n3', 'n4']);
  });

  it('reports a damaged or foreign list as corruption instead of guessing the members', () => {
    const file = join(data.dir, MEMBERS_FILE);
    writeMembers(data.dir, ['n1', 'n2']);
    const bytes = readFileSync(file);
    bytes[bytes.length - 2] ^= 0xff;
    writeFileSync(file, bytes);
    assert.throws(() => readMembers(data.dir), (e: unknown) => e instanceof CorruptionError && /checksum/.test(e.message));
    writeFileSync(file, '{"members":["n1","n2"]}');
    assert.throws(() => readMembers(data.dir), CorruptionError);
  });

  it('refuses a list that is not distinct node ids', () => {
    for (const members of [[], ['n1', 'n1'], ['node-1'], 'n1']) {
      writeMembers(data.dir, members as string[]);
      assert.throws(() => readMembers(data.dir), /does not hold distinct node ids/, JSON.stringify(members));
    }
  });
});
