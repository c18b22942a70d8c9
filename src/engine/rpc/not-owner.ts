// The NotOwner answer: a node that does not replicate a key's partition, with forwarding off,
// answers FAILED_PRECONDITION and puts a serialized `ringdb.v1.NotOwner` in the trailing
// metadata under NOT_OWNER_METADATA_KEY, so a driver or router can refresh its map (if
// map_version is newer than its own) and retry at the owner without parsing the message text.

import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { NotOwner } from '../gen/ringdb/v1/node';
import { RpcError } from './errors';

/** Binary metadata key (gRPC requires the -bin suffix for bytes). */
export const NOT_OWNER_METADATA_KEY = 'ringdb-not-owner-bin';

export class NotOwnerError extends RpcError {
  readonly metadata: Metadata;

  constructor(readonly detail: NotOwner) {
    super(
      status.FAILED_PRECONDITION,
      `not a replica of partition ${detail.partitionId} (map version ${detail.mapVersion}); its owner is ${detail.ownerId}` +
        `${detail.ownerAddress ? ` at ${detail.ownerAddress}` : ''}, replicas ${detail.replicas.join(', ')}; retry there`,
    );
    this.metadata = new Metadata();
    this.metadata.set(NOT_OWNER_METADATA_KEY, Buffer.from(NotOwner.encode(detail).finish()));
  }
}

/** The NotOwner detail of a failed call, or undefined when the error is something else. */
export function notOwnerOf(err: unknown): NotOwner | undefined {
  const e = err as Partial<ServiceError> | null;
  if (!e || e.code !== status.FAILED_PRECONDITION || !(e.metadata instanceof Metadata)) return undefined;
  const raw = e.metadata.get(NOT_OWNER_METADATA_KEY)[0];
  if (!Buffer.isBuffer(raw)) return undefined;
  try {
    return NotOwner.decode(raw);
  } catch {
    return undefined;
  }
}
