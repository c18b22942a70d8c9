// Child process for store.crash.test.ts, started as `node --import tsx store-crash-child.ts <mode> <dir> <round>`.
//   write: opens the store with sync 'always' and a tiny memtable (so flushes and compactions
//          run when the parent's SIGKILL lands), keeps 8 writers busy and prints
//          "ack <key> <value>" once a write is acknowledged (for deletes <value> is "-").
//   hold:  opens the store, prints "open" and waits to be killed (to test the folder lock).

import { Store } from './store';

const [mode, dir, round] = process.argv.slice(2);

async function writer(store: Store, lane: number): Promise<void> {
  for (let seq = 0; ; seq++) {
    const key = `r${round}-l${lane}-${String(seq).padStart(6, '0')}`;
    const ts = Number(round) * 1_000_000 + seq + 1;
    if (seq % 7 === 6) {
      // A batch: the earlier key of this lane is deleted and two new keys are written, atomically.
      const victim = `r${round}-l${lane}-${String(seq - 3).padStart(6, '0')}`;
      const extra = `${key}-b`;
      await store.write([
        { key: Buffer.from(victim), value: null, ts, origin: 'child' },
        { key: Buffer.from(key), value: Buffer.from(`v${seq}`), ts, origin: 'child' },
        { key: Buffer.from(extra), value: Buffer.from(`v${seq}b`), ts, origin: 'child' },
      ]);
      process.stdout.write(`ack ${victim} -\nack ${key} v${seq}\nack ${extra} v${seq}b\n`);
    } else {
      await store.put(Buffer.from(key), Buffer.from(`v${seq}`.padEnd(64, '.')), ts, 'child');
      process.stdout.write(`ack ${key} ${`v${seq}`.padEnd(64, '.')}\n`);
    }
  }
}

async function main(): Promise<void> {
  if (mode === 'hold') {
    await Store.open(dir);
    process.stdout.write('open\n');
    setInterval(() => undefined, 1 << 30);
    return;
  }
  const store = await Store.open(dir, {
    sync: 'always',
    memtableBytes: 16 * 1024,
    compaction: { l0Trigger: 2, baseLevelBytes: 64 * 1024, targetFileBytes: 16 * 1024 },
  });
  process.stdout.write('open\n');
  await Promise.all(Array.from({ length: 8 }, (_, lane) => writer(store, lane)));
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
