import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { DEFAULT_COMPACTION_CONFIG, levelMaxBytes, manualCompaction, pickCompaction, type CompactionConfig, type CompactionTask } from './compaction-policy';
import type { SSTableInfo } from './types';

// The policy is driven against a simulated store: tables are key -> version maps, "applying" a
// task merges its inputs exactly as the compaction job does. What must hold is what the store
// relies on: deeper levels stay disjoint, every level returns under budget, and dropping
// tombstones never changes what a read sees.

const BYTES_PER_ENTRY = 100;

interface Version {
  ts: number;
  tombstone: boolean;
}

interface SimTable extends SSTableInfo {
  contents: Map<number, Version>;
}

const keyOf = (k: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(k);
  return b;
};

class Sim {
  levels: SimTable[][] = [[]];
  nextId = 1;
  droppedTombstones = 0;
  tasks: CompactionTask[] = [];

  constructor(readonly config: CompactionConfig) {}

  table(level: number, contents: Map<number, Version>): SimTable {
    const keys = [...contents.keys()].sort((a, b) => a - b);
    return {
      id: this.nextId++,
      level,
      file: `${this.nextId}.sst`,
      minKey: keyOf(keys[0]),
      maxKey: keyOf(keys[keys.length - 1]),
      entries: contents.size,
      tombstones: [...contents.values()].filter((v) => v.tombstone).length,
      bytes: contents.size * BYTES_PER_ENTRY,
      bloomBits: contents.size * 10, newestWriteMs: 0,
      contents,
    };
  }

  flush(contents: Map<number, Version>): void {
    if (contents.size > 0) this.levels[0].unshift(this.table(0, contents));
  }

  apply(task: CompactionTask): void {
    this.tasks.push(task);
    if (task.trivialMove) {
      // What the store does with a trivial move: the same table, relabelled one level down.
      const [t] = task.inputs as SimTable[];
      this.levels = this.levels.map((level) => level.filter((x) => x.id !== t.id));
      while (this.levels.length <= task.outputLevel) this.levels.push([]);
      this.levels[task.outputLevel].push({ ...t, level: task.outputLevel });
      this.levels[task.outputLevel].sort((a, b) => Buffer.compare(a.minKey, b.minKey));
      return;
    }
    const ids = new Set(task.inputs.map((t) => t.id));
    const merged = new Map<number, Version>();
    for (const t of task.inputs as SimTable[]) {
      for (const [k, v] of t.contents) {
        const cur = merged.get(k);
        if (!cur || v.ts > cur.ts) merged.set(k, v);
      }
    }
    const keys = [...merged.keys()].sort((a, b) => a - b);
    const outputs: SimTable[] = [];
    let current = new Map<number, Version>();
    for (const k of keys) {
      const v = merged.get(k)!;
      if (task.dropTombstones && v.tombstone) {
        this.droppedTombstones++;
        continue;
      }
      current.set(k, v);
      if (current.size * BYTES_PER_ENTRY >= this.config.targetFileBytes) {
        outputs.push(this.table(task.outputLevel, current));
        current = new Map();
      }
    }
    if (current.size > 0) outputs.push(this.table(task.outputLevel, current));
    this.levels = this.levels.map((level) => level.filter((t) => !ids.has(t.id)));
    while (this.levels.length <= task.outputLevel) this.levels.push([]);
    this.levels[task.outputLevel].push(...outputs);
    this.levels[task.outputLevel].sort((a, b) => Buffer.compare(a.minKey, b.minKey));
  }

  /** Runs the policy until it has nothing to do; returns how many tasks ran. */
  settle(): number {
    let n = 0;
    for (let task = pickCompaction(this.levels, this.config); task; task = pickCompaction(this.levels, this.config)) {
      this.checkTask(task);
      this.apply(task);
      this.checkInvariants();
      assert.ok(++n < 1000, 'the policy keeps finding work: it does not converge');
    }
    return n;
  }

  /** What a read sees: newest version over all levels, tombstones hidden. */
  visible(): Map<number, number> {
    const best = new Map<number, Version>();
    for (const level of this.levels) for (const t of level) for (const [k, v] of t.contents) if (!best.has(k) || v.ts > best.get(k)!.ts) best.set(k, v);
    const out = new Map<number, number>();
    for (const [k, v] of best) if (!v.tombstone) out.set(k, v.ts);
    return out;
  }

  checkTask(task: CompactionTask): void {
    const inputLevel = task.outputLevel - 1;
    const fromInput = task.inputs.filter((t) => t.level === inputLevel);
    assert.ok(fromInput.length >= 1, 'a task takes at least one table from its input level');
    if (inputLevel === 0) assert.equal(fromInput.length, this.levels[0].length, 'L0 tables overlap: all of them go together');
    else assert.equal(fromInput.length, 1);
    for (const t of task.inputs) assert.ok(t.level === inputLevel || t.level === task.outputLevel, `input from L${t.level}`);
    // Every output-level table overlapping the chosen input tables is an input too, or outputs would overlap it.
    for (const t of this.levels[task.outputLevel] ?? []) {
      const overlapsInput = fromInput.some((i) => Buffer.compare(t.maxKey, i.minKey) >= 0 && Buffer.compare(t.minKey, i.maxKey) <= 0);
      if (overlapsInput) assert.ok(task.inputs.includes(t), `overlapping L${task.outputLevel} table ${t.id} left out`);
    }
    const min = task.inputs.reduce((m, t) => (Buffer.compare(t.minKey, m) < 0 ? t.minKey : m), task.inputs[0].minKey);
    const max = task.inputs.reduce((m, t) => (Buffer.compare(t.maxKey, m) > 0 ? t.maxKey : m), task.inputs[0].maxKey);
    const deeper = this.levels.slice(task.outputLevel + 1).flat();
    const blocked = deeper.some((t) => Buffer.compare(t.maxKey, min) >= 0 && Buffer.compare(t.minKey, max) <= 0);
    assert.equal(task.dropTombstones, !blocked, 'tombstones drop exactly when nothing below overlaps');
    assert.ok(task.reason.length > 0);
  }

  checkInvariants(): void {
    for (let l = 1; l < this.levels.length; l++) {
      const level = this.levels[l];
      for (let i = 1; i < level.length; i++) {
        assert.ok(Buffer.compare(level[i - 1].maxKey, level[i].minKey) < 0, `L${l} tables ${level[i - 1].id} and ${level[i].id} overlap`);
      }
    }
  }
}

const small: CompactionConfig = { l0Trigger: 4, baseLevelBytes: 5_000, levelMultiplier: 10, maxLevels: 4, targetFileBytes: 2_000 };

describe('compaction policy (leveled)', () => {
  it('keeps reads unchanged, levels disjoint and within budget over random flushes and deletes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 2000 }), fc.boolean()), { minLength: 1, maxLength: 60 }), { minLength: 5, maxLength: 60 }),
        (flushes) => {
          const sim = new Sim(small);
          const expected = new Map<number, number>();
          let ts = 0;
          for (const batch of flushes) {
            const contents = new Map<number, Version>();
            for (const [k, del] of batch) {
              ts++;
              contents.set(k, { ts, tombstone: del });
              if (del) expected.delete(k);
              else expected.set(k, ts);
            }
            sim.flush(contents);
            sim.settle();
            assert.deepEqual(sim.visible(), expected);
          }
          assert.ok(sim.levels[0].length < small.l0Trigger);
          for (let l = 1; l < small.maxLevels - 1; l++) {
            const bytes = (sim.levels[l] ?? []).reduce((n, t) => n + t.bytes, 0);
            assert.ok(bytes <= levelMaxBytes(l, small), `L${l} holds ${bytes}`);
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('over a long deterministic run, reaches the last level and both drops and keeps tombstones', () => {
    const sim = new Sim(small);
    const expected = new Map<number, number>();
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n; // an LCG's low bits cycle quickly
    };
    let ts = 0;
    for (let f = 0; f < 150; f++) {
      const contents = new Map<number, Version>();
      for (let i = 0; i < 40; i++) {
        const k = rand(3000);
        const del = rand(4) === 0;
        contents.set(k, { ts: ++ts, tombstone: del });
        if (del) expected.delete(k);
        else expected.set(k, ts);
      }
      sim.flush(contents);
      sim.settle();
    }
    assert.deepEqual(sim.visible(), expected);
    assert.equal(Math.max(...sim.tasks.map((t) => t.outputLevel)), small.maxLevels - 1);
    assert.ok(sim.droppedTombstones > 0, 'tombstones reaching the bottom are dropped');
    assert.ok(sim.tasks.some((t) => !t.dropTombstones), 'tombstones above older data are kept');
    assert.ok(sim.tasks.some((t) => t.trivialMove), 'a table with nothing to merge below moves without a rewrite');
  });

  it('starts an L0 compaction at the trigger count, not before', () => {
    const sim = new Sim(small);
    for (let i = 0; i < 3; i++) sim.flush(new Map([[i, { ts: i + 1, tombstone: false }]]));
    assert.equal(pickCompaction(sim.levels, small), undefined);
    sim.flush(new Map([[9, { ts: 9, tombstone: false }]]));
    const task = pickCompaction(sim.levels, small)!;
    assert.equal(task.outputLevel, 1);
    assert.equal(task.inputs.length, 4);
    assert.match(task.reason, /L0 holds 4 tables/);
  });

  it('pushes down the level furthest over budget, with the tables below that it overlaps', () => {
    const sim = new Sim(small);
    sim.levels = [[], [], [], []];
    const range = (from: number, to: number, ts: number) => {
      const m = new Map<number, Version>();
      for (let k = from; k <= to; k++) m.set(k, { ts, tombstone: false });
      return m;
    };
    // L1: 3 tables x 30 entries = 9,000 bytes, budget 5,000. L2: two tables, one overlapping the middle L1 table only.
    sim.levels[1] = [sim.table(1, range(0, 29, 5)), sim.table(1, range(100, 129, 5)), sim.table(1, range(200, 229, 5))];
    sim.levels[2] = [sim.table(2, range(0, 200, 1)), sim.table(2, range(300, 400, 1))];
    const task = pickCompaction(sim.levels, small)!;
    assert.equal(task.outputLevel, 2);
    assert.match(task.reason, /L1 holds 9000 bytes \(budget 5000\)/);
    // All three L1 tables overlap the same L2 table, so the overlap ratios tie and the oldest goes.
    const chosen = task.inputs.filter((t) => t.level === 1);
    assert.deepEqual(chosen.map((t) => t.id), [sim.levels[1][0].id]);
    assert.deepEqual(task.inputs.filter((t) => t.level === 2).map((t) => t.id), [sim.levels[2][0].id]);
    // L3 is empty, so this is the bottom for these keys: tombstones may go.
    assert.equal(task.dropTombstones, true);
  });

  it('prefers the table whose push-down rewrites the fewest bytes below it', () => {
    const info = (id: number, level: number, min: number, max: number, bytes: number): SSTableInfo => ({
      id, level, file: `${id}`, minKey: keyOf(min), maxKey: keyOf(max), entries: 1, tombstones: 0, bytes, bloomBits: 0, newestWriteMs: 0,
    });
    const levels = [[], [info(1, 1, 0, 10, 4000), info(2, 1, 20, 30, 4000)], [info(3, 2, 0, 10, 50_000), info(4, 2, 25, 26, 100)]];
    const task = pickCompaction(levels, small)!;
    assert.deepEqual(task.inputs.map((t) => t.id), [2, 4]);
  });

  it('marks a lone input a trivial move unless it has tombstones it may now drop', () => {
    const info = (id: number, level: number, min: number, max: number, tombstones: number): SSTableInfo => ({
      id, level, file: `${id}`, minKey: keyOf(min), maxKey: keyOf(max), entries: 10, tombstones, bytes: 6000, bloomBits: 0, newestWriteMs: 0,
    });
    const deeper = [info(5, 3, 0, 100, 0)];
    assert.equal(pickCompaction([[], [info(1, 1, 0, 9, 0)], [], deeper], small)!.trivialMove, true);
    assert.equal(pickCompaction([[], [info(1, 1, 0, 9, 3)], [], deeper], small)!.trivialMove, true, 'tombstones must stay: moving keeps them');
    const bottom = pickCompaction([[], [info(1, 1, 0, 9, 3)]], small)!;
    assert.equal(bottom.dropTombstones, true);
    assert.equal(bottom.trivialMove, false, 'at the bottom the rewrite drops the tombstones');
    assert.equal(pickCompaction([[], [info(1, 1, 0, 9, 0)], [info(2, 2, 5, 20, 0)]], small)!.trivialMove, false);
  });

  it('keeps tombstones while a deeper level may hold an older version of their keys', () => {
    const info = (id: number, level: number, min: number, max: number, bytes: number): SSTableInfo => ({
      id, level, file: `${id}`, minKey: keyOf(min), maxKey: keyOf(max), entries: 1, tombstones: 1, bytes, bloomBits: 0, newestWriteMs: 0,
    });
    const l0 = [1, 2, 3, 4].map((id) => info(id, 0, 10, 20, 100));
    assert.equal(pickCompaction([l0, [], [info(9, 2, 15, 16, 100)]], small)!.dropTombstones, false);
    assert.equal(pickCompaction([l0, [], [info(9, 2, 21, 30, 100)]], small)!.dropTombstones, true, 'a disjoint deeper table does not block');
    assert.equal(pickCompaction([l0, [info(8, 1, 0, 100, 100)]], small)!.dropTombstones, true, 'the output level itself is merged, not below');
  });

  it('never compacts the last level by size: it has no budget', () => {
    const info = (id: number): SSTableInfo => ({ id, level: 3, file: `${id}`, minKey: keyOf(id * 10), maxKey: keyOf(id * 10 + 5), entries: 1, tombstones: 0, bytes: 10 ** 9, bloomBits: 0, newestWriteMs: 0 });
    assert.equal(pickCompaction([[], [], [], [info(1), info(2)]], small), undefined);
    assert.equal(levelMaxBytes(3, small), Infinity);
    assert.equal(levelMaxBytes(2, small), 50_000);
  });

  it('manual compaction merges everything into the bottom and drops every tombstone without changing reads', () => {
    const sim = new Sim(small);
    let ts = 0;
    const expected = new Map<number, number>();
    for (let f = 0; f < 30; f++) {
      const m = new Map<number, Version>();
      for (let i = 0; i < 20; i++) {
        const k = (f * 37 + i * 13) % 500;
        const del = (k + f) % 5 === 0;
        m.set(k, { ts: ++ts, tombstone: del });
        if (del) expected.delete(k);
        else expected.set(k, ts);
      }
      sim.flush(m);
      sim.settle();
    }
    const task = manualCompaction(sim.levels)!;
    assert.equal(task.inputs.length, sim.levels.flat().length);
    assert.equal(task.outputLevel, sim.levels.length - 1);
    assert.equal(task.dropTombstones, true);
    sim.apply(task);
    sim.checkInvariants();
    assert.equal(sim.levels.flat().reduce((n, t) => n + t.tombstones, 0), 0);
    assert.deepEqual(sim.visible(), expected);
    assert.equal(manualCompaction(sim.levels.map((l) => l.filter((t) => t.id === sim.levels.flat()[0].id))), undefined, 'one clean bottom table: nothing to do');
    assert.equal(manualCompaction([[]]), undefined);
  });

  it('manual compaction of flushed tables only lands in L1', () => {
    const sim = new Sim(small);
    sim.flush(new Map([[1, { ts: 1, tombstone: true }]]));
    const task = manualCompaction(sim.levels)!;
    assert.equal(task.outputLevel, 1);
  });

  it('rejects a configuration it cannot work with, naming the field', () => {
    assert.throws(() => pickCompaction([[]], { ...DEFAULT_COMPACTION_CONFIG, l0Trigger: 0 }), /l0Trigger must be an integer >= 1/);
    assert.throws(() => pickCompaction([[]], { ...DEFAULT_COMPACTION_CONFIG, levelMultiplier: 1 }), /levelMultiplier/);
    assert.equal(pickCompaction([[]], DEFAULT_COMPACTION_CONFIG), undefined);
  });
});
