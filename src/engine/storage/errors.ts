// Typed storage errors, after LevelDB's Status: callers branch on the class, people read the message.

export class StorageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Input the store does not accept; nothing was written. */
export class InvalidArgumentError extends StorageError {}

/** Bytes on disk that fail a checksum or a format check. Names the file and byte offset. */
export class CorruptionError extends StorageError {
  constructor(
    readonly file: string,
    readonly offset: number,
    detail: string,
  ) {
    super(`corruption in ${file} at byte ${offset}: ${detail}`);
  }
}

/** The data folder is open in another process. */
export class LockedError extends StorageError {
  constructor(
    readonly dir: string,
    readonly holderPid: number | undefined,
  ) {
    super(
      `data folder ${dir} is already open` +
        (holderPid ? ` in process ${holderPid}` : ' in another process') +
        '; stop that process or choose another folder',
    );
  }
}

/** The store was closed. */
export class ClosedError extends StorageError {
  constructor() {
    super('the store is closed');
  }
}
