// A stored key as a person reads it. Rows are stored composite-encoded (NUL-separated
// components) and a hot key's writes under salted variants (0xff 0x53, a bucket, the key):
// printed as bytes, both showed control characters and replacement marks. Each component reads
// as keyText has it (codec/bytes-text), the CLI's and the extension's one rule for a key.

import { keyText, utf8Text } from '../codec/bytes-text';
import { tryDecodeCompositeKey } from '../codec/composite-key';
import { unsaltKey } from '../partitioning/salting';

/**
 * The key a Get of this stored key names: a plain key, or a salted variant's original key (a Get
 * of it reads every variant); undefined for a row, which is read with its clustering key, and
 * for a key that is not UTF-8: Get takes its key as text, so decoding one would name another key.
 */
export function getKeyOf(stored: Uint8Array): string | undefined {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (bytes.length === 0 || (bytes.indexOf(0) >= 0 && tryDecodeCompositeKey(bytes))) return undefined;
  return utf8Text(unsaltKey(bytes)?.key ?? bytes);
}

/**
 * Whether a stored key is a hot key's salted variant, or a row of one. Stored under 0xff 0x53,
 * these sort after every plain key, so a range from a plain key to one of them holds every plain
 * key after its start, which the two keys' texts ("k:1", "hot (salt #3)") do not say.
 */
export function isSaltedStored(stored: Uint8Array): boolean {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const row = bytes.indexOf(0) >= 0 ? tryDecodeCompositeKey(bytes) : undefined;
  return unsaltKey(row ? row.partitionKey : bytes) !== null;
}

/** "key", "key (salt #2)", "partition / clustering", or "partition (salt #2) / clustering". */
export function storedKeyText(stored: Uint8Array): string {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  // Every composite key holds a 0x00 (its terminator): without one there is nothing to decode.
  const row = bytes.indexOf(0) >= 0 ? tryDecodeCompositeKey(bytes) : undefined;
  const partitionKey = row ? row.partitionKey : bytes;
  const salted = unsaltKey(partitionKey);
  const named = salted ? `${keyText(salted.key)} (salt #${salted.bucket})` : keyText(partitionKey);
  return row ? `${named} / ${row.clusteringKey ? keyText(row.clusteringKey) : ''}` : named;
}
