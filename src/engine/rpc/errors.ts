// Typed errors for the RPC edge and their mapping onto gRPC status codes. Handlers throw these
// (or storage's typed errors); `toStatus` turns any of them into the status a client receives,
// so a caller can branch on the code and a person can read the message.
import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { ClosedError, CorruptionError, InvalidArgumentError, LockedError } from '../storage/errors';

/** An error with the gRPC status code it should travel as. */
export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A request field that is missing or malformed. The message names the field and what is accepted. */
export class InvalidFieldError extends RpcError {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(status.INVALID_ARGUMENT, `${field}: ${problem}`);
  }
}

export class NotFoundError extends RpcError {
  constructor(message: string) {
    super(status.NOT_FOUND, message);
  }
}

/** The request is well formed but the node is not in a state to serve it. */
export class PreconditionError extends RpcError {
  constructor(message: string) {
    super(status.FAILED_PRECONDITION, message);
  }
}

export class UnavailableError extends RpcError {
  constructor(message: string) {
    super(status.UNAVAILABLE, message);
  }
}

export class UnauthenticatedError extends RpcError {
  constructor(message: string) {
    super(status.UNAUTHENTICATED, message);
  }
}

/**
 * Trailing metadata on every error a RingDB server sends, so a client can tell the server's own
 * answer (a quorum refusal, a quorum timeout, any status) from a failure to reach it: both can be
 * UNAVAILABLE or DEADLINE_EXCEEDED, and only the second means the request may go to another node.
 */
export const ANSWERED_METADATA_KEY = 'ringdb-answered';

/** Metadata holding the answered marker, plus whatever `extra` carries (NotOwner). */
export function answeredMetadata(extra?: Metadata): Metadata {
  const md = extra ? extra.clone() : new Metadata();
  md.set(ANSWERED_METADATA_KEY, '1');
  return md;
}

/** True when a failed call was answered by a RingDB server (it carries the marker), not lost on the way. */
export function answeredByServer(err: unknown): boolean {
  const md = (err as Partial<ServiceError> | null)?.metadata;
  return md instanceof Metadata && md.get(ANSWERED_METADATA_KEY).length > 0;
}

/**
 * True when grpc-js failed a call before sending it, so the server cannot have acted on it: no
 * connection could be made (UNAVAILABLE "No connection established. Last error: … ECONNREFUSED
 * …"), or the deadline passed while the call still waited for one ("Deadline exceeded after …,
 * waiting for name resolution" or "…, Waiting for LB pick": a port that never completes the
 * HTTP/2 handshake, as a SIGSTOPped peer's kernel accepts the TCP connection for it). grpc-js
 * says so only in the details (its call's `progress` stays inside); checked with grpc-js 1.14.
 */
export function neverSent(err: unknown): boolean {
  const e = err as Partial<ServiceError> | null;
  const details = typeof e?.details === 'string' ? e.details : '';
  if (e?.code === status.UNAVAILABLE) return details.startsWith('No connection established');
  return e?.code === status.DEADLINE_EXCEEDED && /(?:^|,)(?:Waiting for LB pick|waiting for name resolution|waiting for metadata filters)$/.test(details);
}

/**
 * True when grpc-js refused to send a call at all, for what it carried (over the message limit,
 * or not serializable): nothing reached the server, and sending it again fails the same way.
 */
export function refusedBeforeSending(err: unknown): boolean {
  const e = err as Partial<ServiceError> | null;
  const details = typeof e?.details === 'string' ? e.details : '';
  return (e?.code === status.RESOURCE_EXHAUSTED && details.startsWith('Attempted to send message with a size larger than')) ||
    (e?.code === status.INTERNAL && details.startsWith('Request message serialization failure'));
}

/**
 * What a failed call tells about the request, the one place callers ask: `answered` (a RingDB
 * server produced the status, so it saw the request and this is its word), `never-sent` (grpc-js
 * failed it before a byte left, so nothing was done), or `unknown` (it was sent and no answer
 * came: deadline, dropped connection; the server may have acted on it).
 */
export type CallOutcome = 'answered' | 'never-sent' | 'unknown';

export function callOutcome(err: unknown): CallOutcome {
  if (answeredByServer(err)) return 'answered';
  return neverSent(err) ? 'never-sent' : 'unknown';
}

/** Only RingDB's own keys of a peer's trailers (NotOwner): gRPC's transport keys are not ours to resend. */
function ringdbMetadata(from: Metadata): Metadata {
  const md = new Metadata();
  for (const [key, value] of Object.entries(from.getMap())) if (key.startsWith('ringdb-')) md.set(key, value);
  return md;
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'details' in err;
}

/** The status object a server callback (or a stream's 'error' event) should carry for `err`. */
export function toStatus(err: unknown): Partial<StatusObject> {
  // A store closing under the request means the node is going away and the request was not
  // served: without the marker the client treats it as unreachable and asks another node.
  if (err instanceof ClosedError) return { code: status.UNAVAILABLE, details: `${err.message}; the node is shutting down` };
  const s = statusOf(err);
  return { ...s, metadata: answeredMetadata(s.metadata) };
}

function statusOf(err: unknown): Partial<StatusObject> {
  if (err instanceof RpcError) {
    // Some errors carry a machine-readable detail for the client (NotOwner) as trailing metadata.
    const { metadata } = err as RpcError & { metadata?: Metadata };
    return metadata ? { code: err.code, details: err.message, metadata } : { code: err.code, details: err.message };
  }
  if (err instanceof InvalidArgumentError) return { code: status.INVALID_ARGUMENT, details: err.message };
  if (err instanceof LockedError) return { code: status.FAILED_PRECONDITION, details: err.message };
  if (err instanceof CorruptionError) return { code: status.DATA_LOSS, details: err.message };
  if (isServiceError(err)) {
    // A call this server made to a peer (a forwarded write) failed: the peer's own answer is
    // passed on as it is; a peer that could not be reached is this server's answer.
    if (answeredByServer(err)) return { code: err.code, details: err.details, metadata: ringdbMetadata(err.metadata) };
    return { code: status.UNAVAILABLE, details: `a call to another node failed: ${describeError(err)}` };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: status.INTERNAL, details: `internal error: ${message}` };
}

/** True for a client-side failure that retrying later may cure (peer down, slow, restarting). */
export function isTransient(err: unknown): boolean {
  const code = (err as Partial<ServiceError> | null)?.code;
  return code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED || code === status.CANCELLED ||
    code === status.RESOURCE_EXHAUSTED;
}

/** A one-line description of a client-side gRPC failure, for logs and peer status. */
export function describeError(err: unknown): string {
  const e = err as Partial<ServiceError> | null;
  if (e && typeof e.code === 'number') return `${status[e.code] ?? e.code}: ${e.details ?? e.message ?? ''}`;
  return err instanceof Error ? err.message : String(err);
}
