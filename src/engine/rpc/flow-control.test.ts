// The receive window RingDB servers advertise, read on the wire by a plain HTTP/2 client: it
// guards flow-control.ts, which reaches into grpc-js internals that an upgrade may change.
import assert from 'node:assert/strict';
import { connect, type ClientHttp2Session, type Settings } from 'node:http2';
import { NodeServiceService } from '../gen/ringdb/v1/node';
import { FLOW_CONTROL_WINDOW_BYTES } from './flow-control';
import { startServer, type RunningServer } from './index';

const HTTP2_DEFAULT_WINDOW = 65_535;

describe('server flow-control window', () => {
  let server: RunningServer;
  let session: ClientHttp2Session | undefined;

  before(async () => {
    server = await startServer('127.0.0.1', 0, 'flow-control-token-0123456789', [{ definition: NodeServiceService, implementation: {} }]);
  });

  after(async () => {
    session?.destroy();
    await server.stop();
  });

  it('lets a client send a whole replication batch on one stream and connection without waiting for WINDOW_UPDATE', async () => {
    assert.ok(FLOW_CONTROL_WINDOW_BYTES > HTTP2_DEFAULT_WINDOW);
    const s = connect(`http://127.0.0.1:${server.port}`);
    session = s;
    const settings = await new Promise<Settings>((resolve, reject) => {
      s.once('remoteSettings', resolve);
      s.once('error', reject);
    });
    assert.equal(settings.initialWindowSize, FLOW_CONTROL_WINDOW_BYTES, 'per-stream window in the server SETTINGS');
    // The connection window grows by a WINDOW_UPDATE the server sends right after its SETTINGS.
    const deadline = Date.now() + 5000;
    while ((s.state.remoteWindowSize ?? 0) < FLOW_CONTROL_WINDOW_BYTES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.state.remoteWindowSize, FLOW_CONTROL_WINDOW_BYTES, 'connection window the client may fill');
  });
});
