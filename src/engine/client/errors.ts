// Errors of the client API. A failed call becomes a RingDbError whose `code` callers branch on
// and whose message (the server's) a person can read; gRPC types stay inside the client.

import { status, type ServiceError } from '@grpc/grpc-js';
import { answeredByServer } from '../rpc/errors';

export type RingDbErrorCode =
  | 'invalid-argument' | 'not-found' | 'failed-precondition' | 'unavailable' | 'deadline-exceeded'
  | 'unauthenticated' | 'cancelled' | 'data-loss' | 'already-exists' | 'internal';

const CODES: Partial<Record<status, RingDbErrorCode>> = {
  [status.INVALID_ARGUMENT]: 'invalid-argument',
  [status.OUT_OF_RANGE]: 'invalid-argument',
  [status.NOT_FOUND]: 'not-found',
  [status.FAILED_PRECONDITION]: 'failed-precondition',
  [status.UNAVAILABLE]: 'unavailable',
  [status.DEADLINE_EXCEEDED]: 'deadline-exceeded',
  [status.UNAUTHENTICATED]: 'unauthenticated',
  [status.PERMISSION_DENIED]: 'unauthenticated',
  [status.CANCELLED]: 'cancelled',
  [status.DATA_LOSS]: 'data-loss',
  [status.ALREADY_EXISTS]: 'already-exists',
};

export class RingDbError extends Error {
  constructor(
    readonly code: RingDbErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RingDbError';
  }
}

/** No running cluster could be found for a data folder (no state file, or its controller is gone). */
export class NoClusterError extends Error {
  constructor(
    readonly dataDir: string,
    detail?: string,
  ) {
    super(`no RingDB cluster found in ${dataDir}${detail ? ` (${detail})` : ''}; start one with \`ringdb start\``);
    this.name = 'NoClusterError';
  }
}

/** The controller process could not be started, or exited before it served. */
export class LaunchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaunchError';
  }
}

function isServiceError(err: unknown): err is ServiceError {
  return typeof err === 'object' && err !== null && typeof (err as ServiceError).code === 'number' && 'details' in err;
}

/** Turns a gRPC failure into a RingDbError; `what` names the call when the server did not answer. */
export function fromGrpcError(err: unknown, what: string): Error {
  if (!isServiceError(err)) return err instanceof Error ? err : new Error(String(err));
  const code = CODES[err.code] ?? 'internal';
  const details = err.details || err.message;
  // The server's own words, even for UNAVAILABLE or DEADLINE_EXCEEDED (a quorum it could not get).
  if (answeredByServer(err)) return new RingDbError(code, details);
  if (code === 'unavailable' && /connect|No connection|ECONNREFUSED/i.test(details)) {
    return new RingDbError(code, `${what}: cannot reach the server (${details}); is it running?`);
  }
  if (code === 'deadline-exceeded') return new RingDbError(code, `${what}: no answer before the deadline`);
  return new RingDbError(code, details);
}
