// ExportRange's stream: each message stays under the byte budget (or holds one entry), whatever
// the batch size asked for, so values of several MiB move without passing the gRPC limit.
import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { ExportRangeRequest, ExportRangeResponse, StoredEntry } from '../gen/ringdb/v1/node';
import type { Entry } from '../storage/types';
import { MAX_MESSAGE_BYTES } from '../rpc/channel';
import { EXPORT_BATCH_BYTES, streamExport } from './data-move';

/** A server stream that records what is written (grpc-js's own needs a live call). */
function recordingStream(): { call: ServerWritableStream<ExportRangeRequest, ExportRangeResponse>; messages: StoredEntry[][] } {
  const messages: StoredEntry[][] = [];
  const call = Object.assign(new EventEmitter(), {
    write: (m: ExportRangeResponse) => {
      messages.push(m.entries);
      return true;
    },
  });
  return { call: call as unknown as ServerWritableStream<ExportRangeRequest, ExportRangeResponse>, messages };
}

const toStored = (e: Entry): StoredEntry => ({ key: e.key, value: e.value ?? Buffer.alloc(0), deleted: e.value === null, version: { ts: e.ts, origin: e.origin, opId: '' } });
const entry = (i: number, bytes: number): Entry => ({ key: Buffer.from(`k${String(i).padStart(4, '0')}`), value: Buffer.alloc(bytes, 97), ts: i + 1, origin: 'n1' });
const size = (m: StoredEntry[]): number => m.reduce((n, e) => n + e.key.length + e.value.length, 0);

describe('streamExport', () => {
  it('cuts messages at the byte budget, never below one entry, and sends every entry once', async () => {
    // Six of 6 MiB, a 16 MiB one (the largest value accepted), then small ones.
    const entries = [...Array.from({ length: 6 }, (_, i) => entry(i, 6 << 20)), entry(6, 16 << 20), ...Array.from({ length: 50 }, (_, i) => entry(7 + i, 100))];
    const { call, messages } = recordingStream();
    const sent = await streamExport(call, entries, () => true, 1000, toStored);
    assert.equal(sent, entries.length);
    assert.deepEqual(messages.flat().map((e) => e.key.toString()), entries.map((e) => e.key.toString()));
    for (const m of messages) {
      assert.ok(m.length === 1 || size(m) <= EXPORT_BATCH_BYTES, `a message of ${m.length} entries and ${size(m)} bytes`);
      assert.ok(size(m) < MAX_MESSAGE_BYTES, `a message of ${size(m)} bytes passes the gRPC limit`);
    }
    // The small entries still travel together.
    assert.equal(messages.at(-1)?.length, 50);
  });

  it('keeps the batch size asked for when entries are small', async () => {
    const { call, messages } = recordingStream();
    await streamExport(call, Array.from({ length: 25 }, (_, i) => entry(i, 10)), () => true, 10, toStored);
    assert.deepEqual(messages.map((m) => m.length), [10, 10, 5]);
  });
});
