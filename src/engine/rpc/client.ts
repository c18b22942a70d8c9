// Client-side helpers: token metadata, deadlines (own or inherited from the server call being
// handled), and promises over the callback-style generated stubs.
import {
  type Client,
  credentials,
  Metadata,
  type CallOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import { channelOptions, DEFAULT_DEADLINE_MS, TOKEN_METADATA_KEY } from './channel';

/** What a deadline can be inherited from: any server call (its getDeadline()). */
export interface ParentCall {
  getDeadline(): Date | number;
}

/** The shape of a generated unary method in its (request, metadata, options, callback) overload. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** The shape of a generated server-streaming method. */
export type StreamMethod<Req, Res> = (
  request: Req,
  metadata?: Metadata,
  options?: Partial<CallOptions>,
) => ClientReadableStream<Res>;

export interface CallSettings {
  token: string;
  /** Deadline from now; ignored beyond the parent's deadline. */
  timeoutMs?: number;
  /** The server call being handled: its deadline and cancellation propagate to this call. */
  parent?: ParentCall;
  /** Cancels the call (CANCELLED) when aborted; unary calls only (unary, unaryEncoded). */
  signal?: AbortSignal;
}

export function tokenMetadata(token: string): Metadata {
  const md = new Metadata();
  md.set(TOKEN_METADATA_KEY, token);
  return md;
}

/** Call options with a deadline that never outlives the parent call's. */
export function callOptions(settings: CallSettings): Partial<CallOptions> {
  let deadline = Date.now() + (settings.timeoutMs ?? DEFAULT_DEADLINE_MS);
  if (settings.parent) {
    const parentDeadline = settings.parent.getDeadline();
    const ms = parentDeadline instanceof Date ? parentDeadline.getTime() : parentDeadline;
    if (Number.isFinite(ms) && ms < deadline) deadline = ms;
  }
  return { deadline };
}

/** Calls a generated unary method and resolves with its response or rejects with the ServiceError. */
export function unary<C, Req, Res>(client: C, method: UnaryMethod<Req, Res>, request: Req, settings: CallSettings): Promise<Res> {
  return new Promise((resolve, reject) => {
    const call = method.call(client, request, tokenMetadata(settings.token), callOptions(settings), (err, res) => {
      release();
      if (err) reject(err);
      else resolve(res);
    });
    const release = cancelOnAbort(call, settings.signal);
  });
}

/** Cancels `call` when `signal` aborts (at once if it already has); returns what stops listening. */
function cancelOnAbort(call: { cancel(): void }, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  const cancel = (): void => call.cancel();
  if (signal.aborted) cancel();
  else signal.addEventListener('abort', cancel, { once: true });
  return () => signal.removeEventListener('abort', cancel);
}

/**
 * Calls the unary method at `path` with a request that is already serialized, so one encoding
 * can be sent to several peers (replication ships the same batch to every destination).
 */
export function unaryEncoded<Res>(client: Client, path: string, request: Buffer, decode: (bytes: Buffer) => Res, settings: CallSettings): Promise<Res> {
  return new Promise((resolve, reject) => {
    const call = client.makeUnaryRequest(path, (b: Buffer) => b, decode, request, tokenMetadata(settings.token), callOptions(settings), (err, res) => {
      release();
      if (err || res === undefined) reject(err ?? new Error(`${path} returned no response`));
      else resolve(res);
    });
    const release = cancelOnAbort(call, settings.signal);
  });
}

/** Opens a server stream with the token; streams have no deadline unless `timeoutMs` is given. */
export function openStream<C, Req, Res>(client: C, method: StreamMethod<Req, Res>, request: Req, settings: CallSettings): ClientReadableStream<Res> {
  const options = settings.timeoutMs === undefined && !settings.parent ? {} : callOptions(settings);
  return method.call(client, request, tokenMetadata(settings.token), options);
}

/** Arguments for a generated client constructor: insecure loopback credentials and the shared limits. */
export function clientArgs(address: string): [string, ReturnType<typeof credentials.createInsecure>, typeof channelOptions] {
  return [address, credentials.createInsecure(), channelOptions];
}
