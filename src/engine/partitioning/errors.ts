// Typed errors for placement and topology. Every error names the field it is about — a cluster
// spec setting (`keyRanges[2]`), an operation argument (`splitKey`) or a field of a received map
// (`partitions[3].owner`) — so the CLI, the controller and the extension can point at it.

export abstract class PartitioningError extends Error {
  constructor(
    /** The setting, argument or map field that was wrong. */
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = new.target.name;
  }
}

/** A cluster spec setting is invalid; nothing was started. */
export class InvalidSettingError extends PartitioningError {}

/** An argument of a topology operation or lookup is invalid; the input map is unchanged. */
export class InvalidArgumentError extends PartitioningError {}

/** A serialized partition map (from JSON or a peer) is malformed. */
export class InvalidMapError extends PartitioningError {}
