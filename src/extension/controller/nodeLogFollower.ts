// Follows the log of every node into the RingDB output channel, so the channel has the
// controller's and the nodes' lines together. A stream per node, kept across its restarts (the
// controller's follow carries every process's lines: a kill's end line arrives when it happens)
// and closed when the node leaves the cluster or the controller changes. Only the first stream
// of a node starts with lines written before it: a reopened one would print them again.
import { Disposable, toDisposable } from '../common/lifecycle';
import { LOG_LEVELS, type Log, type LogLevel } from '../common/log';
import type { ControllerClient, EventStream } from '../engineClient';
import type { ClusterModel } from '../model/clusterModel';

/** Lines the node already wrote before we subscribed, for context. */
const TAIL_LINES = 20;

/** "2026-01-01T00:00:00.000Z INFO  [n1] message" -> when, level and message. */
export function parseNodeLine(line: string): { at: string | undefined; level: LogLevel; message: string } {
  const m = /^(\S+)\s+(DEBUG|INFO|WARN|ERROR)\s+\[[^\]]*\]\s?(.*)$/.exec(line);
  if (!m) return { at: undefined, level: 'info', message: line };
  const level = m[2].toLowerCase() as LogLevel;
  return { at: m[1], level: LOG_LEVELS.includes(level) ? level : 'info', message: m[3] };
}

export class NodeLogFollower extends Disposable {
  private readonly streams = new Map<string, EventStream<string>>();
  /** Nodes whose earlier lines were shown (by this controller's streams). */
  private readonly tailed = new Set<string>();
  private client: ControllerClient | undefined;

  constructor(private readonly model: ClusterModel, private readonly currentClient: () => ControllerClient | undefined, private readonly log: Log) {
    super();
    this._register(model.onDidChange(() => this.sync()));
    this._register(toDisposable(() => this.closeAll()));
  }

  private sync(): void {
    const client = this.currentClient();
    if (client !== this.client) {
      this.closeAll();
      this.tailed.clear();
      this.client = client;
    }
    if (!client) return;
    const members = new Set(this.model.snapshot.nodes.map((n) => n.id));
    for (const [id, stream] of this.streams) {
      if (!members.has(id)) {
        stream.close();
        this.streams.delete(id);
      }
    }
    for (const id of members) if (!this.streams.has(id)) this.follow(client, id);
  }

  private follow(client: ControllerClient, id: string): void {
    // A stream reopened after a failure starts with the last lines again (the controller has no
    // "none"); they keep the time the node wrote them, so they do not read as new.
    const stream = client.followNodeLogs(id, this.tailed.has(id) ? 1 : TAIL_LINES, true);
    this.tailed.add(id);
    this.streams.set(id, stream);
    void (async () => {
      try {
        for await (const line of stream) {
          const { at, level, message } = parseNodeLine(line);
          this.log.processLine(id, message, level, at);
        }
      } catch (err) {
        this.log.debug(`the log stream of ${id} ended: ${String(err)}`);
      }
      if (this.streams.get(id) === stream) this.streams.delete(id);
    })();
  }

  private closeAll(): void {
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
  }
}
