// The HTTP/2 receive window of RingDB's servers. Node's default is 64 KiB per stream and per
// connection, so a 130 KB Replicate or BatchPut (1,000 ops) reaches its handler only after the
// receiver has read the first 64 KiB and sent a WINDOW_UPDATE, and the sender has read that and
// sent the rest: two extra hops through two event loops that are busy storing. Under load that
// wait was most of the replication lag (bench/cluster/README.md, "Flow-control window"). Clients
// set their own window through the channel option; grpc-js 1.14 servers ignore it
// (grpc/grpc-node#3058), so the server's settings and sessions are widened here, through
// grpc-js internals that flow-control.test.ts checks on the wire.

import type { Server } from '@grpc/grpc-js';
import type { EventEmitter } from 'node:events';
import type { Http2Session, Settings } from 'node:http2';

/** Receive window per stream and per connection: a whole default-sized replication batch fits. */
export const FLOW_CONTROL_WINDOW_BYTES = 4 * 1024 * 1024;

interface ServerInternals {
  commonServerOptions?: { settings?: Settings };
  http2Servers?: Map<EventEmitter, unknown>;
}

/** Before bind: sessions the server accepts advertise the window for each stream. */
export function widenStreamWindow(server: Server): void {
  const internals = server as unknown as ServerInternals;
  if (!internals.commonServerOptions) return;
  internals.commonServerOptions.settings = { ...internals.commonServerOptions.settings, initialWindowSize: FLOW_CONTROL_WINDOW_BYTES };
}

/** After bind: each accepted session widens its connection window, which all its streams share. */
export function widenConnectionWindow(server: Server): void {
  const servers = (server as unknown as ServerInternals).http2Servers;
  if (!servers) return;
  for (const http2Server of servers.keys()) {
    http2Server.on('session', (session: Http2Session) => {
      try {
        session.setLocalWindowSize(FLOW_CONTROL_WINDOW_BYTES);
      } catch {
        // A session torn down as it opened: it carries no calls, and a throw here would end the process.
      }
    });
  }
}
