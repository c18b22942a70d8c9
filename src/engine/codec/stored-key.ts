// Which partition key places a stored key. Requests name keys two ways: as a partition key plus
// an optional clustering key (stored composite-encoded), or raw (stored as given: the issue 3
// clients and tests). Every process — node, driver, router — must place a raw key the same way,
// so the rule lives here: a key that decodes as a composite key is placed by its partition key
// (so a raw request for an encoded key lands with its partition's rows); any other key is its
// own partition key.

import { encodeCompositeKey, tryDecodeCompositeKey } from './composite-key';

export function placementKeyOf(storedKey: Buffer): Buffer {
  // Every composite key holds a 0x00 (its terminator): without one, no decoding (and no garbage).
  if (storedKey.indexOf(0) < 0) return storedKey;
  return tryDecodeCompositeKey(storedKey)?.partitionKey ?? storedKey;
}

/**
 * The stored key a variant of the partition key maps to: for a composite request the variant is
 * re-encoded with the clustering key, for a raw request the variant is the stored key.
 */
export function storedKeyFor(partitionKey: Buffer, clusteringKey: Buffer | undefined, composite: boolean): Buffer {
  return composite ? encodeCompositeKey(partitionKey, clusteringKey) : partitionKey;
}
