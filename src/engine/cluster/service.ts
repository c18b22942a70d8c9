// ControlService over gRPC: checks every request field at the edge, runs the operation on the
// Cluster, and maps typed errors to status codes. Streams (Watch, NodeLogs) respect backpressure
// and end when the client cancels or the controller shuts down.

import { status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import * as ctl from '../gen/ringdb/v1/control';
import { InvalidFieldError, RpcError, toStatus } from '../rpc/errors';
import type { Cluster } from './cluster';
import { tailLines } from './logs';
import { topologyHandlers } from './topology-service';

const NODE_ID = /^n[1-9][0-9]{0,3}$/;
const MAX_TAIL = 10_000;
const DEFAULT_TAIL = 100;
/** Events a Watch client may fall behind by before its stream is ended (it can reconnect for a fresh snapshot). */
const MAX_BACKLOG = 10_000;
const MAX_SPEC_CHARS = 1024 * 1024;

function nodeId(v: string): string {
  if (!NODE_ID.test(v)) throw new InvalidFieldError('node_id', `must be a node id such as "n1", got ${JSON.stringify(v.slice(0, 40))}`);
  return v;
}

function unaryHandler<Req, Res>(run: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    run(call.request, call).then((res) => callback(null, res), (err: unknown) => callback(toStatus(err)));
  };
}

export class ControlServiceImpl {
  private readonly streams = new Set<ServerWritableStream<unknown, unknown>>();

  constructor(private readonly cluster: Cluster) {}

  /** Ends every open stream, for shutdown. */
  endStreams(): void {
    for (const s of this.streams) s.end();
    this.streams.clear();
  }

  implementation(): ctl.ControlServiceServer {
    const c = this.cluster;
    return {
      startCluster: unaryHandler<ctl.StartClusterRequest, ctl.StartClusterResponse>(async (req) => {
        if (req.specJson.length > MAX_SPEC_CHARS) throw new InvalidFieldError('spec_json', `is ${req.specJson.length} characters; at most ${MAX_SPEC_CHARS} are accepted`);
        return c.start(req.specJson, req.resume);
      }),
      stopCluster: unaryHandler<ctl.StopClusterRequest, ctl.StopClusterResponse>(async () => ({ stoppedNodeIds: await c.stop() })),
      addNode: unaryHandler<ctl.AddNodeRequest, ctl.AddNodeResponse>(async () => ({ ...(await c.addNode()), map: c.partitions.info() })),
      removeNode: unaryHandler<ctl.RemoveNodeRequest, ctl.RemoveNodeResponse>(async (req) => ({ ...(await c.removeNode(nodeId(req.nodeId), req.dead)), map: c.partitions.info() })),
      killNode: unaryHandler<ctl.KillNodeRequest, ctl.KillNodeResponse>(async (req) => ({ node: await c.killNode(nodeId(req.nodeId)) })),
      restartNode: unaryHandler<ctl.RestartNodeRequest, ctl.RestartNodeResponse>(async (req) => c.restartNode(nodeId(req.nodeId))),
      compactNode: unaryHandler<ctl.CompactNodeRequest, ctl.CompactNodeResponse>(async (req) => ({ snapshot: await c.compactNode(nodeId(req.nodeId)) })),
      flushNode: unaryHandler<ctl.FlushNodeRequest, ctl.FlushNodeResponse>((req) => c.flushNode(nodeId(req.nodeId))),
      describe: unaryHandler<ctl.DescribeRequest, ctl.DescribeResponse>(async () => ({ cluster: c.describe() })),
      nodeLogs: (call: ServerWritableStream<ctl.NodeLogsRequest, ctl.NodeLogsResponse>) => this.nodeLogs(call),
      watch: (call: ServerWritableStream<ctl.WatchRequest, ctl.WatchResponse>) => this.watch(call),
      ...topologyHandlers(c),
    };
  }

  private fail(call: ServerWritableStream<unknown, unknown>, err: unknown): void {
    call.emit('error', toStatus(err));
  }

  private nodeLogs(call: ServerWritableStream<ctl.NodeLogsRequest, ctl.NodeLogsResponse>): void {
    let member;
    try {
      const { tailLines: tail } = call.request;
      if (tail > MAX_TAIL) throw new InvalidFieldError('tail_lines', `must be from 0 to ${MAX_TAIL} (0 = ${DEFAULT_TAIL}), got ${tail}`);
      member = this.cluster.member(nodeId(call.request.nodeId));
      // Read then subscribe in one synchronous step: log lines are appended synchronously, so none is missed or repeated.
      const lines = tailLines(member.files.logFile, tail || DEFAULT_TAIL);
      if (lines.length) call.write({ lines });
    } catch (err) {
      this.fail(call, err);
      return;
    }
    if (!call.request.follow) {
      call.end();
      return;
    }
    let batch: string[] = [];
    const flush = (): void => {
      const lines = batch;
      batch = [];
      if (lines.length && !call.cancelled) call.write({ lines });
    };
    const onLine = (line: string): void => {
      if (batch.length === 0) setImmediate(flush);
      batch.push(line);
    };
    const lines = member.lines;
    lines.on('line', onLine);
    const stream = call as ServerWritableStream<unknown, unknown>;
    this.streams.add(stream);
    const done = (): void => {
      lines.off('line', onLine);
      this.streams.delete(stream);
    };
    call.on('cancelled', done);
    call.on('finish', done);
    call.on('close', done);
  }

  private watch(call: ServerWritableStream<ctl.WatchRequest, ctl.WatchResponse>): void {
    let seq = 0;
    const stream = call as ServerWritableStream<unknown, unknown>;
    this.streams.add(stream);
    call.write({ seq: ++seq, atUnixMs: Date.now(), event: { $case: 'snapshot', value: this.cluster.describe() } });
    const unsubscribe = this.cluster.hub.subscribe((event, at) => {
      if (call.cancelled || call.destroyed) return;
      if (call.writableLength > MAX_BACKLOG) {
        done();
        this.fail(stream, new RpcError(status.RESOURCE_EXHAUSTED, `this watcher fell more than ${MAX_BACKLOG} events behind; watch again for a fresh snapshot`));
        return;
      }
      call.write({ seq: ++seq, atUnixMs: at, event });
    });
    const done = (): void => {
      unsubscribe();
      this.streams.delete(stream);
    };
    call.on('cancelled', done);
    call.on('finish', done);
    call.on('close', done);
  }
}
