// Follows the log of every running node into the RingDB output channel, so the channel has the
// controller's and the nodes' lines together. A stream per node, opened when the node is up and
// closed when it goes away or the controller changes.
import { Disposable, toDisposable } from '../common/lifecycle';
import { LOG_LEVELS, type Log, type LogLevel } from '../common/log';
import type { ControllerClient, EventStream } from '../engineClient';
import type { ClusterModel } from '../model/clusterModel';

/** Lines the node already wrote before we subscribed, for context. */
const TAIL_LINES = 20;

/** "2026-01-01T00:00:00.000Z INFO  [n1] message" -> level and message. */
export function parseNodeLine(line: string): { level: LogLevel; message: string } {
  const m = /^\S+\s+(DEBUG|INFO|WARN|ERROR)\s+\[[^\]]*\]\s?(.*)$/.exec(line);
  if (!m) return { level: 'info', message: line };
  const level = m[1].toLowerCase() as LogLevel;
  return { level: LOG_LEVELS.includes(level) ? level : 'info', message: m[2] };
}

export class NodeLogFollower extends Disposable {
  private readonly streams = new Map<string, EventStream<string>>();
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
      this.client = client;
    }
    if (!client) return;
    const up = new Set(this.model.snapshot.nodes.filter((n) => n.status === 'up' || n.status === 'suspect').map((n) => n.id));
    for (const [id, stream] of this.streams) {
      if (!up.has(id)) {
        stream.close();
        this.streams.delete(id);
      }
    }
    for (const id of up) if (!this.streams.has(id)) this.follow(client, id);
  }

  private follow(client: ControllerClient, id: string): void {
    const stream = client.followNodeLogs(id, TAIL_LINES, true);
    this.streams.set(id, stream);
    void (async () => {
      try {
        for await (const line of stream) {
          const { level, message } = parseNodeLine(line);
          this.log.processLine(id, message, level);
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
