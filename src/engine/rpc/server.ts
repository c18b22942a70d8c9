// Starting a gRPC server with the shared limits and the token check in front of every handler.
import { type handleUnaryCall, Server, ServerCredentials, type ServerUnaryCall, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { withAuth } from './auth';
import { serverOptions } from './channel';
import { toStatus } from './errors';
import { widenConnectionWindow, widenStreamWindow } from './flow-control';

export interface ServedService<T extends object> {
  definition: ServiceDefinition;
  implementation: T;
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
  for (const s of services) server.addService(s.definition, withAuth(s.definition, s.implementation, token) as UntypedServiceImplementation);
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
      }),
  };
}

/** A unary handler around `fn`: what it returns is the answer, whatever it throws or rejects with becomes the matching gRPC status. */
export function unaryHandler<Req, Res>(fn: (call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve().then(() => fn(call)).then((res) => callback(null, res), (err: unknown) => callback(toStatus(err)));
  };
}
