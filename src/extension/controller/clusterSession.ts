// A cluster in this window: starts it through the controller host, follows the controller's Watch
// stream into the model (every refresh comes from an event), re-subscribes when the stream drops,
// and brings the cluster back with the same spec if the controller had to be restarted.
import * as vscode from 'vscode';
import { engineClient, type ClusterDescription, type ClusterEvent, type ClusterSpec, type ControllerClient, type EventStream, type NodeClient, type StartedCluster } from '../engineClient';
import { Commands } from '../common/commandIds';
import { Disposable, toDisposable } from '../common/lifecycle';
import { byNodeId, listNodes, plural } from '../common/format';
import { describeError, type Log } from '../common/log';
import type { ClusterModel } from '../model/clusterModel';
import { answersRequests, type HeldHintView } from '../model/types';
import type { ReplicationLogStore } from '../model/replicationLog';
import type { ControllerHost } from './controllerHost';
import { applyEvent, phaseView, specView } from './eventMapper';

const RESUBSCRIBE_MS = 500;
/** Restarts this soon after an announced one are not announced again (the output channel has each). */
const RESTART_NOTICE_QUIET_MS = 60_000;
const START_CLUSTER = 'Start Cluster';
const SHOW_OUTPUT = 'Show Output';
const RESUMING = 'The controller was restarted after a crash; bringing the cluster back from its data folder…';

/** A button on a failure's message that does the way out for the person. */
export interface UserAction {
  readonly title: string;
  run(): unknown;
}

/**
 * A user-facing failure: `message` says what went wrong, `next` what to do about it; `details`,
 * too long for a notification, go to the output channel only.
 */
export class UserError extends Error {
  constructor(message: string, readonly next: string, readonly actions: readonly UserAction[] = [], readonly details?: string) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * A restarted controller's events before its resume brought the cluster back say it has none
 * ("empty"): shown as they are, the window would list no node, say "stopped" and offer Start
 * Cluster for a second or two of a recovery. They are shown as the start they precede.
 */
function whileResuming(event: ClusterEvent): ClusterEvent {
  if (event.type === 'snapshot' && event.cluster.phase === 'empty') return { ...event, cluster: { ...event.cluster, phase: 'starting' } };
  if (event.type === 'phase' && event.phase === 'empty') return { ...event, phase: 'starting', reason: RESUMING };
  return event;
}

export class ClusterSession extends Disposable {
  private watch: EventStream<ClusterEvent> | undefined;
  private lastSpec: Partial<ClusterSpec> | undefined;
  private readonly nodeClients = new Map<string, NodeClient>();
  /** How the controller process last ended unexpectedly ("pid 12, SIGKILL"), for the notice once it is back. */
  private lastCrash: string | undefined;
  /** A restarted controller resumes the cluster: its first snapshot, before the resume, has none. */
  private resuming = false;
  /** When the last restart notice was shown: a controller that crashes again soon after adds no second one. */
  private restartNoticeAt = 0;
  private readonly _onDidReceiveEvent = this._register(new vscode.EventEmitter<ClusterEvent>());
  /** Every Watch event after it was applied to the model (tests and the webview wait on these). */
  readonly onDidReceiveEvent = this._onDidReceiveEvent.event;

  constructor(
    private readonly host: ControllerHost,
    private readonly model: ClusterModel,
    private readonly replicationLog: ReplicationLogStore,
    private readonly log: Log,
  ) {
    super();
    this._register(host.onDidChange((e) => {
      if (e.kind === 'started' && e.restart) void this.recover();
      if (e.kind === 'crashed') {
        this.lastCrash = e.exit ?? this.lastCrash;
        this.closeStreams();
        if (e.retryInMs === undefined) this.onGaveUp(e.detail);
        else this.model.setPhase('starting', e.detail);
      }
      if (e.kind === 'stopped') this.model.clear();
      if (e.kind === 'stoppedOutside') this.onStoppedOutside(e.detail, e.crashed);
    }));
    this._register(toDisposable(() => this.closeStreams()));
  }

  /** The controller client of the running cluster, or a UserError that says how to get one. */
  get client(): ControllerClient {
    const handle = this.host.current;
    if (!handle || this.model.snapshot.phase === 'none') {
      throw new UserError('No RingDB cluster is running in this window.', 'Run "RingDB: Start Cluster" first.');
    }
    return handle.client;
  }

  /** The pid of the controller this window launched, if one runs. */
  get controllerPid(): number | undefined {
    return this.host.current?.pid;
  }

  /** Starts the cluster of `spec` with its data in `dataDir`; resolves once every node answers. */
  async start(spec: Partial<ClusterSpec>, dataDir: string): Promise<ClusterDescription> {
    const handle = await this.host.ensure(dataDir);
    this.lastSpec = spec;
    this.restartNoticeAt = 0;
    this.follow(handle.client);
    this.model.setPhase('starting', '');
    try {
      const cluster = await handle.client.startCluster(spec);
      // E.g. the nodes killed before the window closed, which a start runs again.
      if (cluster.note) this.log.info(`Start Cluster: ${cluster.note}`);
      this.model.setSpec(specView(cluster.specJson));
      return cluster;
    } catch (err) {
      this.model.setPhase('none', '');
      throw err;
    }
  }

  /**
   * Shows the cluster that a controller this window did not start serves in `dataDir` (`ringdb
   * start`): follows its events; launches nothing. Stop Cluster stops it; closing the window does not.
   */
  async attach(dataDir: string): Promise<ClusterDescription> {
    const handle = await this.host.attach(dataDir);
    this.lastSpec = undefined;
    this.follow(handle.client);
    const cluster = await handle.client.describe();
    if (cluster.specJson) this.model.setSpec(specView(cluster.specJson));
    return cluster;
  }

  /** Stops every node and the controller process. */
  async stop(): Promise<void> {
    const handle = this.host.current;
    this.lastSpec = undefined;
    if (handle) {
      try {
        await handle.client.stopCluster();
      } catch (err) {
        this.log.warn(`StopCluster failed, stopping the controller anyway: ${describeError(err)}`);
      }
    }
    this.closeStreams();
    await this.host.stop();
    this.replicationLog.clear();
    this.model.clear();
  }

  /** A data-plane client for `nodeId`, reused while the node keeps its address. */
  async nodeClient(nodeId: string): Promise<NodeClient> {
    const handle = this.host.current;
    if (!handle) throw new UserError('No RingDB cluster is running in this window.', 'Run "RingDB: Start Cluster" first.');
    const node = this.model.node(nodeId);
    if (!node) {
      throw new UserError(`There is no node "${nodeId}" in the running cluster.`, `Pick one of: ${this.model.snapshot.nodes.map((n) => n.id).join(', ') || 'none (start a cluster)'}.`);
    }
    if (!answersRequests(node.status)) {
      throw new UserError(`Node ${nodeId} is ${node.status}.`, `Restart it ("RingDB: Restart Node") or use another node.`);
    }
    const cached = this.nodeClients.get(nodeId);
    if (cached && cached.target.address === node.address) return cached;
    cached?.close();
    const { NodeClient } = await engineClient();
    const client = new NodeClient({ address: node.address, token: handle.token, nodeId });
    this.nodeClients.set(nodeId, client);
    return client;
  }

  /** The newest `limit` hints `holder` keeps for `target`, newest first, as the Hints view lists their keys. */
  async heldHints(holder: string, target: string, limit: number): Promise<HeldHintView[]> {
    const { getKeyOf, storedKeyText } = await engineClient();
    // Asked by target, newest first: a listing of every hint, oldest first, stopped at 10,000
    // before the newest (or before any for this target) when the holder kept more.
    const hints = await (await this.nodeClient(holder)).listHints({ target, newestFirst: true, limit });
    return hints.map((h) => ({
      target: h.target, key: storedKeyText(h.key), getKey: getKeyOf(h.key), opId: h.opId, ts: h.version?.ts, deleted: h.deleted, ageMs: h.ageMs,
    }));
  }

  private follow(client: ControllerClient): void {
    this.watch?.close();
    const stream = client.watch();
    this.watch = stream;
    void (async () => {
      try {
        for await (const event of stream) {
          this.log.debug(`event ${event.seq} ${event.type}`);
          applyEvent(this.model, this.replicationLog, this.resuming ? whileResuming(event) : event);
          if (event.type === 'phase') this.host.noteClusterStopped(event.phase === 'stopped');
          if (event.type === 'snapshot') this.host.noteClusterStopped(event.cluster.phase === 'stopped');
          this._onDidReceiveEvent.fire(event);
        }
      } catch (err) {
        this.log.warn(`the controller's event stream failed: ${describeError(err)}`);
      }
      // Ended without close(): resubscribe while the same controller is alive (a snapshot comes first).
      if (this.watch === stream && !this.isDisposed && this.host.current?.client === client) {
        setTimeout(() => { if (this.watch === stream && this.host.current?.client === client) this.follow(client); }, RESUBSCRIBE_MS);
      }
    })();
  }

  /**
   * After a controller restart: follow the new one and start the same cluster again (nodes recover
   * from disk). A resume: nodes the person killed stay down, as they were before the crash.
   */
  private async recover(): Promise<void> {
    const handle = this.host.current;
    if (!handle || !this.lastSpec) return;
    this.resuming = true;
    this.follow(handle.client);
    let resumed: StartedCluster | undefined;
    try {
      resumed = await handle.client.startCluster(this.lastSpec, { resume: true });
      if (this.abandoned(handle)) return;
      if (resumed.note) this.log.info(`after the controller restart: ${resumed.note}`);
      this.model.setSpec(specView(resumed.specJson));
      this.log.info('the cluster was started again after the controller restart');
      this.announceRestart(resumed);
    } catch (err) {
      if (this.abandoned(handle)) {
        this.log.info(`the resume after the controller restart ended as the cluster was stopped meanwhile: ${describeError(err)}`);
        return;
      }
      this.log.error('the cluster could not be started again after the controller restart', err);
      const spec = this.lastSpec;
      void vscode.window.showErrorMessage(
        `RingDB: the controller stopped unexpectedly and was restarted, but the cluster did not come back: ${describeError(err)}. The data folder keeps what was written; Start Cluster tries again.`,
        SHOW_OUTPUT, START_CLUSTER,
      ).then((a) => {
        if (a === SHOW_OUTPUT) this.log.show();
        if (a === START_CLUSTER) void vscode.commands.executeCommand(Commands.startCluster, spec ? { spec } : undefined);
      });
    } finally {
      this.resuming = false;
      // Held at "starting" while resuming (whileResuming), and its own events may all have come
      // already: the phase is the controller's, from the start's answer or else asked for.
      if (!this.abandoned(handle) && this.model.snapshot.phase === 'starting') {
        const now = resumed ?? await handle.client.describe().catch(() => undefined);
        if (!this.abandoned(handle) && this.model.snapshot.phase === 'starting') this.model.setPhase(now ? phaseView(now.phase) : 'none', '');
      }
    }
  }

  /**
   * Whether the person stopped the cluster (or started another) while `handle`'s resume ran:
   * its answer, success or failure, is then not news, and a "the cluster is back" would be wrong.
   */
  private abandoned(handle: { client: ControllerClient }): boolean {
    return this.host.current !== handle || this.lastSpec === undefined;
  }

  /** Tells the person once that the controller crashed and was restarted, and what came back (the output channel alone went unseen). */
  private announceRestart(cluster: ClusterDescription): void {
    if (Date.now() - this.restartNoticeAt < RESTART_NOTICE_QUIET_MS) return;
    const up = cluster.nodes.filter((n) => n.state === 'up');
    // Left down because the person killed them (fault injection), not a failure of the restart.
    const kept = cluster.nodes.filter((n) => n.state !== 'up' && n.downOnPurpose).map((n) => n.id);
    const notUp = cluster.nodes.filter((n) => n.state !== 'up' && !n.downOnPurpose).map((n) => `${n.id} ${n.state}`);
    const keptNote = kept.length
      ? ` ${listNodes(kept)} ${kept.length === 1 ? 'was' : 'were'} left down on purpose, as killed before the crash ("RingDB: Restart Node" starts ${kept.length === 1 ? 'it' : 'one'}).`
      : '';
    const back = notUp.length
      ? `The cluster is partly back: ${up.length} of ${cluster.nodes.length} nodes up (${byNodeId(notUp).join(', ')}); the Nodes view shows them.${keptNote}`
      : `The cluster is back: ${plural(up.length, 'node')} up, recovered from ${up.length === 1 ? 'its' : 'their'} logs and SSTables.${keptNote}`;
    const why = this.lastCrash ? ` (${this.lastCrash})` : '';
    this.restartNoticeAt = Date.now();
    void vscode.window.showWarningMessage(`RingDB: the controller stopped unexpectedly${why} and was restarted. ${back}`, SHOW_OUTPUT).then((a) => {
      if (a === SHOW_OUTPUT) this.log.show();
    });
  }

  /** The controller kept crashing and the host stopped restarting it: nothing runs, and the person must know. */
  private onGaveUp(detail: string): void {
    const spec = this.lastSpec;
    this.lastSpec = undefined;
    this.replicationLog.clear();
    this.model.clear(`${detail}; not restarted again.`);
    void vscode.window.showErrorMessage(
      `RingDB: the controller kept crashing, so it is not restarted any more (last: ${detail}). No node runs now; the data folder keeps what was written.`,
      SHOW_OUTPUT, START_CLUSTER,
    ).then((a) => {
      if (a === SHOW_OUTPUT) this.log.show();
      if (a === START_CLUSTER) void vscode.commands.executeCommand(Commands.startCluster, spec ? { spec } : undefined);
    });
  }

  /**
   * The controller was stopped from outside (`ringdb stop`), or one this window attached to
   * ended without a stop (`crashed`): nothing runs, so nothing is shown running.
   */
  private onStoppedOutside(detail: string, crashed: boolean): void {
    const spec = this.lastSpec;
    const dataDir = this.model.snapshot.dataDir;
    this.lastSpec = undefined;
    this.closeStreams();
    this.replicationLog.clear();
    this.model.clear(`${detail}.`);
    const where = dataDir ? ` in ${dataDir}` : '';
    const what = crashed
      ? `RingDB: the controller of the cluster${where}, which this window showed but did not start, exited without a stop: it crashed or was killed. Its nodes stopped with it; the data folder keeps what was written.`
      : `RingDB: the cluster${where} was stopped outside VS Code (for example by "ringdb stop"); its controller and nodes no longer run.`;
    void (crashed ? vscode.window.showWarningMessage(what, START_CLUSTER) : vscode.window.showInformationMessage(what, START_CLUSTER)).then((a) => {
      if (a === START_CLUSTER) void vscode.commands.executeCommand(Commands.startCluster, spec ? { spec } : undefined);
    });
  }

  private closeStreams(): void {
    this.watch?.close();
    this.watch = undefined;
    for (const c of this.nodeClients.values()) c.close();
    this.nodeClients.clear();
  }
}
