// Starting a gRPC server with the shared limits and the token check in front of every handler.
import {
  type handleUnaryCall,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  status,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { withAuth } from './auth';
import { serverOptions } from './channel';
import { toStatus } from './errors';
import { widenConnectionWindow, widenStreamWindow } from './flow-control';

export interface ServedService<T extends object> {
  definition: ServiceDefinition;
  implementation: T;
  /**
   * Server-streaming methods (as named in `definition`) whose calls never end on their own, such
   * as watches: stop() ends the open ones with UNAVAILABLE instead of waiting for them.
   */
  subscriptions?: readonly string[];
}

/** What a subscription call needs for stop() to end it. */
interface OpenStream {
  emit(event: 'error', err: unknown): boolean;
  once(event: 'close', listener: () => void): unknown;
}

export interface RunningServer {
  server: Server;
  /** The bound port (the OS-chosen one when 0 was asked). */
  port: number;
  /** Stops accepting calls and waits for running ones; forces after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Binds `host:port` (0 = OS picks) and serves `services`, each behind the token check. */
export async function startServer(host: string, port: number, token: string, services: ServedService<object>[]): Promise<RunningServer> {
  const server = new Server(serverOptions);
  widenStreamWindow(server);
  const open = new Set<OpenStream>();
  for (const s of services) {
    const served = withAuth(s.definition, s.implementation, token) as UntypedServiceImplementation;
    for (const name of s.subscriptions ?? []) served[name] = tracked(served[name], open);
    server.addService(s.definition, served);
  }
  const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  widenConnectionWindow(server);
  return {
    server,
    port: bound,
    stop: (graceMs = 2000) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
        // A watch never finishes, so waiting for it would always cost the whole grace period
        // (a node restart took 2 s longer). Its client is told why, and may reconnect elsewhere.
        for (const call of open) call.emit('error', { code: status.UNAVAILABLE, details: 'the server is shutting down' });
        open.clear();
      }),
  };
}

/** `handler` with each of its calls in `open` until the call closes. */
function tracked(handler: UntypedHandleCall | undefined, open: Set<OpenStream>): UntypedHandleCall {
  if (typeof handler !== 'function') throw new Error('a subscription must name a served server-streaming method');
  return ((call: OpenStream) => {
    open.add(call);
    call.once('close', () => open.delete(call));
    (handler as (c: OpenStream) => void)(call);
  }) as UntypedHandleCall;
}

/** A unary handler around `fn`: what it returns is the answer, whatever it throws or rejects with becomes the matching gRPC status. */
export function unaryHandler<Req, Res>(fn: (call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve().then(() => fn(call)).then((res) => callback(null, res), (err: unknown) => callback(toStatus(err)));
  };
}
