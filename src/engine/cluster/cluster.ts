// The cluster a controller runs: spawning node processes from a spec, changing membership, and
// reporting every state change as an event. Operations that change membership run one at a
// time; Describe and Watch read the state at any moment.

import { mkdirSync, readdirSync, renameSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { ClusterPhase, NodeState, type ClusterDescription, type HintSummary, type NodeInfo } from '../gen/ringdb/v1/control';
import type * as pb from '../gen/ringdb/v1/node';
import { unary } from '../rpc/client';
import { HUNG_PROBE_MS, HUNG_WORDS, letsPingPass } from '../rpc/hung-probe';
import { describeError, NotFoundError, PreconditionError, RpcError, UnavailableError } from '../rpc/errors';
import { status } from '@grpc/grpc-js';
import { ClusterSpecError, fitQuorumsToNodes, parseClusterSpec } from '../spec/index';
import { checkTopology, expandTopology } from '../spec/topology';
import { NODE_ID_PATTERN, nodeIdOf, type ClusterSpec } from '../spec/types';
import { EventHub } from './events';
import { readMembers, writeMembers } from './members-file';
import { type DownMarks, type HeldHints, downPhrase, readDownMarks, writeDownMarks } from './down-file';
import { changedCrdtKeys, readMode, writeMode } from './mode-file';
import { writeRecordedSpec } from './spec-record';
import { dialAddress, freePort, isPortFree, Member } from './member';
import { NodeMonitor } from './monitor';
import { nodeFiles, writeNodeConfig } from './node-config';
import { describeExit, NodeProcess } from './node-process';
import { NodePartitions } from './node-partitions';
import { type MoveSummary, PartitionManager } from './partitions';
import { type RunningRouter, startRouter } from './router-process';

export interface ClusterOptions {
  /** Absolute data folder. */
  dataDir: string;
  token: string;
  tokenFile: string;
  /** Node arguments that run the node entry (see client/launch scriptArgs). */
  nodeScriptArgs: string[];
  /** Node arguments that run the router entry, for specs with `router`. */
  routerScriptArgs: string[];
  statsIntervalMs: number;
  readyTimeoutMs: number;
  stopGraceMs: number;
}

/** A router that exits on its own is started again after this delay, at most this often per window. */
const ROUTER_RESTART_DELAY_MS = 500;
const ROUTER_RESTARTS_PER_WINDOW = 5;
const ROUTER_RESTART_WINDOW_MS = 60_000;

/** Consecutive failed Stats polls after which a running node is reported suspect. */
const SUSPECT_AFTER = 2;
const NODE_CALL_MS = 10_000;

export class Cluster {
  readonly hub = new EventHub();
  controllerAddress = '';
  private phase = ClusterPhase.CLUSTER_PHASE_EMPTY;
  private spec: ClusterSpec | undefined;
  private startedAt = 0;
  private readonly members = new Map<string, Member>();
  private nextIndex = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly nodePartitions: NodePartitions;
  /** The authoritative partition map and the topology operations (see partitions.ts). */
  readonly partitions: PartitionManager;
  /**
   * Per holder: the Stats stamp the last ListHints answered for ('' = unknown, ask again), the
   * rows published, and the newest request. A node a resume keeps down has the rows its down
   * mark saved, until its restarted process answers.
   */
  private readonly hints = new Map<string, { stamp: string; rows: HintSummary[]; asked: number }>();
  private hintRequests = 0;
  private router: RunningRouter | undefined;
  /** Why the spec'd router is not serving; '' while it serves. */
  private routerNote = '';
  /** When the router was last restarted after exiting on its own, within the window. */
  private routerRestarts: number[] = [];

  constructor(private readonly opts: ClusterOptions) {
    // Suspect nodes count as up here: on a loaded machine a node that missed two Stats polls still takes copies and maps.
    const up = (): Member[] => [...this.members.values()].filter((m) => m.monitor && m.running && !m.leaving && answersRequests(m.state));
    this.nodePartitions = new NodePartitions({
      upNodes: () => up().map((m) => ({ id: m.id, client: (m.monitor as NodeMonitor).node })),
      clientOf: (id) => {
        const m = this.members.get(id);
        return m?.running ? m.monitor?.node : undefined;
      },
      addresses: () => [...this.members.values()].filter((m) => m.address).map((m) => ({ id: m.id, address: m.address })),
    }, opts.token);
    this.partitions = new PartitionManager(this.hub, this.nodePartitions);
  }

  /** Runs a topology operation (split, merge, ...) after the membership changes queued before it. */
  topology<T>(op: (spec: ClusterSpec) => Promise<T>): Promise<T> {
    return this.exclusive(async () => op(this.requireRunning('this topology operation')));
  }

  /** Runs membership changes one after another. */
  private exclusive<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private setPhase(phase: ClusterPhase, reason: string): void {
    this.phase = phase;
    this.hub.publish({ $case: 'phase', value: { phase, reason } });
  }

  private setState(m: Member, state: NodeState, reason: string): void {
    const previous = m.setState(state, reason);
    if (previous !== undefined) this.hub.publish({ $case: 'nodeState', value: { node: m.info(), previous } });
  }

  describe(): ClusterDescription {
    return {
      phase: this.phase,
      specJson: this.spec ? JSON.stringify(this.spec) : '',
      dataDir: this.opts.dataDir,
      controllerAddress: this.controllerAddress,
      controllerPid: process.pid,
      startedAtUnixMs: this.startedAt,
      nodes: [...this.members.values()].map((m) => m.info()),
      partitionMap: this.partitions.info(),
      hints: [...this.hints.values()].flatMap((h) => h.rows),
      routerAddress: this.router?.process.running ? this.router.address : '',
      routerNote: this.spec?.router && !this.router?.process.running ? this.routerNote || 'not running' : '',
    };
  }

  /**
   * Asks a node for its hints when its Stats report a different count or other hint changes (one
   * delivered and another taken between two Stats leave the count as it was, not the keys), and
   * publishes them. Only the newest request's answer is used (an older one arriving late would
   * bring back delivered hints), and a failed request leaves the hints unknown so the next Stats
   * asks again: the views must never keep hints that the node no longer holds.
   */
  private noteHints(m: Member, stats: pb.NodeStats): void {
    const p = stats.partitioning;
    const held = p?.hintsHeld ?? 0;
    const changes = (p?.hintedWrites ?? 0) + (p?.hintsDelivered ?? 0) + (p?.hintsExpired ?? 0);
    // The counters start again at 0 with the process: its pid keeps a restart from matching.
    const stamp = `${stats.pid}:${held}:${changes}`;
    const known = this.hints.get(m.id);
    if (known?.stamp === stamp || (!known && held === 0)) return;
    const asked = ++this.hintRequests;
    this.hints.set(m.id, { stamp, rows: known?.rows ?? [], asked });
    void this.nodePartitions.hintCounts(m.id).then((counts) => {
      if (this.hints.get(m.id)?.asked !== asked) return;
      const now = Date.now();
      const rows = counts.map((c) => ({ holder: m.id, target: c.target, count: c.count, oldestUnixMs: c.oldestAgeMs ? now - c.oldestAgeMs : 0, changes }));
      this.hints.set(m.id, { stamp, rows, asked });
      this.hub.publish({ $case: 'hints', value: { nodeId: m.id, hints: rows } });
      // An answer that arrives after KillNode is the newest the controller will have: a resume lists it.
      if (m.downMark) {
        m.downMark = { ...m.downMark, hints: heldHints(rows) };
        this.saveDownMarks();
      }
    }, () => {
      const current = this.hints.get(m.id);
      if (current?.asked === asked) current.stamp = '';
    });
  }

  member(id: string): Member {
    const m = this.members.get(id);
    if (!m) {
      const ids = [...this.members.keys()];
      throw new NotFoundError(`no node "${id}" in this cluster; nodes are ${ids.length ? ids.join(', ') : 'none (start a cluster first)'}`);
    }
    return m;
  }

  private requireRunning(what: string): ClusterSpec {
    if (this.phase !== ClusterPhase.CLUSTER_PHASE_RUNNING || !this.spec) {
      throw new PreconditionError(`${what} needs a running cluster; start one first (StartCluster)`);
    }
    return this.spec;
  }

  /** A node a storage request can go to: up, or suspect (running, only slow to answer the Stats polls, as under a heavy load that flushing may be the cure for). */
  private requireAnswering(m: Member, what: string): NonNullable<Member['monitor']> {
    if (!answersRequests(m.state) || !m.monitor) {
      throw new PreconditionError(`${what}: node ${m.id} is ${NodeState[m.state].replace('NODE_STATE_', '').toLowerCase()}; it must be up or suspect (running)`);
    }
    return m.monitor;
  }

  // ------------------------------------------------------------------ processes

  private async spawn(m: Member, spec: ClusterSpec, port: number): Promise<void> {
    mkdirSync(m.files.dir, { recursive: true, mode: 0o700 });
    const peers = [...this.members.values()].filter((p) => p !== m && !p.leaving && p.address).map((p) => ({ id: p.id, address: p.address }));
    // In member order, as updateMembership lays it: ring and star presets follow the order, and a
    // restarted node listed first took itself for the star's hub or the ring's start, resending
    // its log to nodes that are not its destinations until the membership push corrected it.
    const ids = [...this.members.values()].filter((p) => p === m || (!p.leaving && p.address)).map((p) => p.id);
    writeNodeConfig({ spec, id: m.id, files: m.files, port, tokenFile: this.opts.tokenFile, peers, topology: expandTopology(spec.topology, ids), newMember: m.newMember });
    m.newMember = false;
    const proc = new NodeProcess({
      id: m.id,
      scriptArgs: this.opts.nodeScriptArgs,
      configFile: m.files.configFile,
      logFile: m.files.logFile,
      readyTimeoutMs: this.opts.readyTimeoutMs,
    });
    m.process = proc;
    m.expectedExit = undefined;
    m.stats = undefined;
    m.startedAt = Date.now();
    proc.on('line', (line: string) => m.lines.emit('line', line));
    void proc.exited.then((exit) => this.onExit(m, proc, describeExit(exit)));
    this.setState(m, NodeState.NODE_STATE_STARTING, `spawned (pid ${proc.pid})`);

    let ready;
    try {
      ready = await proc.ready;
    } catch (err) {
      if (m.process === proc && m.expectedExit === 'kill') throw new KilledWhileStarting(m.id);
      proc.kill(`it did not start: ${(err as Error).message}`);
      throw new UnavailableError((err as Error).message);
    }
    m.port = ready.port;
    m.address = dialAddress(spec.host, ready.port);
    const monitor = new NodeMonitor(m.id, m.address, this.opts.token, this.opts.statsIntervalMs, this.hub, {
      healthy: (stats) => {
        m.stats = stats;
        this.noteHints(m, stats);
        if (m.process === proc && m.state === NodeState.NODE_STATE_SUSPECT) this.setState(m, NodeState.NODE_STATE_UP, 'answering again');
      },
      unhealthy: (failures, error) => {
        if (m.process === proc && failures >= SUSPECT_AFTER && m.state === NodeState.NODE_STATE_UP) {
          this.setState(m, NodeState.NODE_STATE_SUSPECT, `not answering: ${error}, ${failures} in a row; its process runs (hung, paused or overloaded)`);
        }
      },
    });
    m.monitor = monitor;
    const until = Date.now() + this.opts.readyTimeoutMs;
    const answered = (): pb.NodeStats | undefined => m.stats;
    let first = answered();
    while (!first) {
      await monitor.poll();
      first = answered();
      if (!proc.running) {
        if (m.process === proc && m.expectedExit === 'kill') throw new KilledWhileStarting(m.id);
        throw new UnavailableError(`node ${m.id} exited while starting${saidWhy(proc)}; see ${m.files.logFile}`);
      }
      if (!first && Date.now() > until) {
        proc.kill(`it served but did not answer Stats within ${this.opts.readyTimeoutMs} ms`);
        throw new UnavailableError(`node ${m.id} served but did not answer Stats within ${this.opts.readyTimeoutMs} ms; see ${m.files.logFile}`);
      }
      if (!first) await new Promise((r) => setTimeout(r, 100));
    }
    // A log that lost an unsynced tail to a crash starts lower: never ask past its end.
    monitor.start(m.logResumeLsn === undefined ? first.logNextLsn : Math.min(m.logResumeLsn, first.logNextLsn));
    m.logResumeLsn = undefined;
    this.setState(m, NodeState.NODE_STATE_UP, `serving on ${m.address}`);
  }

  private onExit(m: Member, proc: NodeProcess, how: string): void {
    if (m.process !== proc) return;
    // Only a monitor that started streams has a place to resume from (one that never did is at 0).
    if (m.monitor?.started) m.logResumeLsn = m.monitor.nextLsn;
    m.monitor?.stop();
    m.monitor = undefined;
    if (m.expectedExit === 'stop') this.setState(m, NodeState.NODE_STATE_STOPPED, `stopped on request (${how})`);
    else if (m.expectedExit === 'kill') {
      // Said as a resume says it, so the row reads the same before and after a controller crash.
      this.setState(m, NodeState.NODE_STATE_DOWN, m.downMark ? `${downPhrase(m.downMark)}; ${staysDown(m.id)}` : 'killed by KillNode (SIGKILL)');
    }
    else {
      // A node that stops itself says why (node/main.ts: a damaged file, with the way out).
      this.setState(m, NodeState.NODE_STATE_DOWN, `exited unexpectedly (${how})${saidWhy(proc)}; restart it (\`ringdb restart ${m.id}\`, or RingDB: Restart Node in VS Code)`);
    }
  }

  /** Why members stopped themselves, giving an exit under way a moment to finish. */
  private async selfStopped(): Promise<string[]> {
    const procs = [...this.members.values()].flatMap((m) => (m.process ? [{ id: m.id, proc: m.process }] : []));
    await Promise.all(procs.map(({ proc }) => Promise.race([proc.exited, new Promise((r) => setTimeout(r, SELF_STOP_WAIT_MS))])));
    return procs.flatMap(({ id, proc }) => (!proc.running && saidWhy(proc) ? [`node ${id} stopped${saidWhy(proc)}`] : []));
  }

  private async terminate(m: Member): Promise<void> {
    const proc = m.process;
    if (!proc?.running) return;
    m.expectedExit = 'stop';
    await proc.terminate(this.opts.stopGraceMs);
  }

  /** Writes the marks of the members down on purpose (down-file.ts); durable once it returns. */
  private saveDownMarks(): void {
    writeDownMarks(this.opts.dataDir, Object.fromEntries([...this.members.values()].flatMap((m) => (m.downMark ? [[m.id, m.downMark]] : []))));
  }

  /**
   * Reads the marks of the nodes down on purpose for a start of `ids`: with `resume`, marks the
   * members to keep down (at their last address, so peers keep hints and log cursors for them)
   * and returns them; otherwise clears the marks. A damaged record is ignored, never fatal: it
   * only says which nodes a person took down, and refusing the start would keep every node down.
   */
  private applyDownMarks(ids: readonly string[], resume: boolean): { kept: string[]; note: string } {
    let marks: DownMarks = {};
    let damaged = '';
    const unreadHints = new Map<string, string>();
    try {
      marks = readDownMarks(this.opts.dataDir, undefined, (id, detail) => unreadHints.set(id, detail));
    } catch (err) {
      damaged = `${describeError(err)}; ignored it, so no node is kept down on purpose and every member starts (the record is written afresh)`;
    }
    const marked = ids.filter((id) => Object.hasOwn(marks, id));
    const said = marked.map((id) => `${id} (${downPhrase(marks[id])})`).join(', ');
    let kept: string[] = [];
    let note = damaged;
    if (marked.length && !resume) note = `started every member, as a start does, including the nodes that were down on purpose: ${said}`;
    else if (marked.length && marked.length === ids.length) note = `every member was down on purpose (${said}); started them all, as a cluster needs a node up`;
    else if (marked.length) {
      kept = marked;
      note = `kept down on purpose, as before the controller restarted: ${said}; \`ringdb restart <node>\` starts one`;
      // Only a kept mark's hints are listed; the others' nodes start and report their own.
      const unread = kept.flatMap((id) => unreadHints.get(id) ?? []);
      if (unread.length) note += `; ${unread.join('; ')}`;
    }
    for (const id of kept) {
      const m = this.member(id);
      const mark = marks[id];
      m.downMark = mark;
      // Its hints wait on its disk; no process answers for them until it is restarted.
      if (mark.hints?.length) {
        const rows = mark.hints.map((h) => ({ holder: id, target: h.target, count: h.count, oldestUnixMs: h.oldestUnixMs, changes: 0 }));
        this.hints.set(id, { stamp: '', rows, asked: 0 });
      }
      m.address = mark.address;
      m.port = mark.address ? Number(mark.address.slice(mark.address.lastIndexOf(':') + 1)) : 0;
      // A mark without an address is KillNode's on a process that had not served yet.
      const when = mark.address ? 'before' : 'while it was starting, before';
      this.setState(m, NodeState.NODE_STATE_DOWN,
        `${downPhrase(mark)} ${when} the controller restarted; ${staysDown(id)}`);
    }
    if (damaged || marked.length) this.saveDownMarks();
    return { kept, note };
  }

  /**
   * Gives each member kept down that never served (killed while it was starting) a free port:
   * listed nowhere, its peers would drop the log cursor they keep for it and keep no log for it,
   * and the person would see no address. Picked once the other nodes serve, so it is none of
   * theirs; the mark keeps no address, as the node never served there.
   */
  private async placeUnservedDown(spec: ClusterSpec): Promise<void> {
    for (const m of this.members.values()) {
      if (!m.downMark || m.running || m.address) continue;
      m.port = await freePort(spec.host);
      m.address = dialAddress(spec.host, m.port);
    }
  }

  /**
   * The members `members-file.ts` recorded in the data folder, undefined when it records none (a
   * new folder, or one from before the file existed). A damaged list stops the start: guessing
   * the members is what lost keys before it existed.
   */
  private recordedMembers(spec: ClusterSpec): string[] | undefined {
    try {
      return readMembers(this.opts.dataDir);
    } catch (err) {
      throw new PreconditionError(`${describeError(err)}. It lists this cluster's members: restore it, or move it away to start n1..n${spec.nodes} as the spec says`);
    }
  }

  /**
   * Refuses a spec whose consistencyMode is not the one the folder's values are stored in
   * (mode-file.ts): switching is not supported, and the keys would read as not found. Likewise a
   * spec that retypes or drops a recorded CRDT key: its state would fail every read as the new
   * type, or read as raw encoded bytes.
   */
  private checkRecordedMode(spec: ClusterSpec): void {
    let recorded;
    try {
      recorded = readMode(this.opts.dataDir);
    } catch (err) {
      throw new PreconditionError(`${describeError(err)}. It records the consistency mode this folder's values are stored in: restore it, or move it away if the spec's consistencyMode "${spec.consistencyMode}" is the one the folder was started with`);
    }
    if (recorded === undefined) return;
    const mode = recorded.consistencyMode;
    if (mode !== spec.consistencyMode) {
      throw new PreconditionError(`${this.opts.dataDir} holds a cluster whose values are stored in consistencyMode "${mode}", and the spec asks for "${spec.consistencyMode}"; `
        + `an existing folder cannot switch modes (its keys would read as not found). Start it with consistencyMode "${mode}", or use a new data folder (--dir) for a "${spec.consistencyMode}" cluster; nothing was started`);
    }
    const changed = changedCrdtKeys(recorded.crdt ?? {}, spec.crdt);
    if (!changed.length) return;
    throw new PreconditionError(`${this.opts.dataDir} holds CRDT states the spec's crdt setting would read as another type or as plain values: ${changed.join('; ')}. `
      + `A recorded CRDT key keeps its type (its stored state is that type's); keep these keys with their recorded types in crdt (new keys may be added), or use a new data folder (--dir) for the new types; nothing was started`);
  }

  /** Records the members (but a leaving one) and tells every running node who its peers are and how ops are forwarded. */
  private async updateMembership(spec: ClusterSpec): Promise<void> {
    const live = [...this.members.values()].filter((m) => !m.leaving);
    const ids = live.map((m) => m.id);
    writeMembers(this.opts.dataDir, ids);
    const expanded = expandTopology(spec.topology, ids) ?? {};
    const topology = Object.fromEntries(Object.entries(expanded).map(([id, to]) => [id, { nodeIds: to }]));
    const failures: string[] = [];
    await Promise.all(live.filter((m) => m.monitor && m.running).map(async (m) => {
      const client = (m.monitor as NodeMonitor).node;
      const peers = live.filter((p) => p !== m && p.address).map((p) => ({ id: p.id, address: p.address }));
      try {
        await unary(client, client.updateMembership, { peers, topology }, { token: this.opts.token, timeoutMs: NODE_CALL_MS });
      } catch (err) {
        failures.push(`${m.id}: ${describeError(err)}`);
      }
    }));
    this.hub.publish({ $case: 'membership', value: { nodeIds: ids } });
    if (failures.length) throw new UnavailableError(`could not update the membership of ${failures.join('; ')}`);
  }

  // ------------------------------------------------------------------ operations

  /**
   * Starts the cluster of `specText`. `resume` (a launcher bringing the cluster back after its
   * controller crashed) leaves the nodes marked down on purpose down; a start a person asked for
   * starts every member and clears the marks. `note` says what happened to the marks.
   */
  start(specText: string, resume = false): Promise<{ cluster: ClusterDescription; note: string }> {
    return this.exclusive(async () => {
      if (this.phase === ClusterPhase.CLUSTER_PHASE_RUNNING || this.phase === ClusterPhase.CLUSTER_PHASE_STARTING) {
        throw new PreconditionError(`a cluster is already running in ${this.opts.dataDir}; stop it first (StopCluster)`);
      }
      let spec: ClusterSpec;
      try {
        spec = parseClusterSpec(specText);
      } catch (err) {
        if (err instanceof ClusterSpecError) throw new RpcError(status.INVALID_ARGUMENT, `spec_json: invalid cluster spec: ${err.message.replace(/\n/g, '; ')}`);
        throw err;
      }
      this.checkRecordedMode(spec);
      // A folder that held a cluster starts the members it last had; the spec's count is for a new one.
      const recorded = this.recordedMembers(spec);
      const ids = recorded ?? Array.from({ length: spec.nodes }, (_, i) => nodeIdOf(i));
      if (recorded && typeof spec.topology === 'object' && spec.topology !== null) {
        // The spec checked its map against n1..nN; the folder brings back the members it recorded.
        const problems = checkTopology(spec.topology, ids);
        if (problems.length > 0) {
          throw new PreconditionError(`the spec's topology map does not fit this folder's members (${ids.join(', ')}): ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}; write the map over these members, or use a new data folder (--dir); nothing was started`);
        }
      }
      // Fewer members than replicas (RemoveNode ran): N, W and R shrink to them, as they did while it ran.
      const fitted = recorded ? fitQuorumsToNodes(spec, ids.length) : spec;
      // Quorums, strategy and key ranges are checked before any process starts.
      const placement = PartitionManager.plan(fitted, ids);
      this.spec = spec;
      this.hints.clear();
      this.members.clear();
      // On a folder that held a cluster, a node whose own folder is missing may be one that lost it.
      const seen = highestNodeIndex(this.opts.dataDir);
      const newCluster = seen === 0;
      for (const id of ids) {
        const m = new Member(id, nodeFiles(this.opts.dataDir, id));
        m.newMember = newCluster;
        this.members.set(id, m);
      }
      const { kept, note } = this.applyDownMarks(ids, resume);
      // Past every id this folder has seen (a removed node's folder stays as nN.removed-…): ids are never reused.
      this.nextIndex = Math.max(spec.nodes, seen, ...ids.map((id) => Number(id.slice(1))));
      this.startedAt = Date.now();
      const fittedNote = fitted === spec ? '' : `, replicationFactor ${fitted.replicationFactor}, writeQuorum ${fitted.writeQuorum}, readQuorum ${fitted.readQuorum} to fit them`;
      const resumed = recorded && (recorded.length !== spec.nodes || recorded.some((id, i) => id !== nodeIdOf(i)))
        ? ` (the members this folder had; the spec's "nodes": ${spec.nodes} is for a new folder${fittedNote})` : '';
      const starting = [...this.members.values()].filter((m) => !kept.includes(m.id));
      const keptNote = kept.length ? `; ${kept.join(', ')} kept down on purpose` : '';
      this.setPhase(ClusterPhase.CLUSTER_PHASE_STARTING, `starting ${starting.length} nodes: ${starting.map((m) => m.id).join(', ')}${keptNote}${resumed}`);
      const results = await Promise.allSettled(starting.map((m) => this.spawn(m, spec, 0)));
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
      if (!failed.length) {
        try {
          await this.placeUnservedDown(spec);
          // Once the nodes run they store values in this mode (a folder from before the record gets it now).
          writeMode(this.opts.dataDir, { consistencyMode: spec.consistencyMode, crdt: spec.crdt });
          await this.updateMembership(spec);
          const started = starting.map((m) => m.id);
          const stored = await this.nodePartitions.storedMaps(started);
          this.partitions.install(PartitionManager.resume(placement.map, stored), placement.quorum, spec);
          await this.partitions.propagate(started);
          await this.partitions.dropStale(started);
          if (spec.router) {
            this.routerRestarts = [];
            await this.startRouter(spec, spec.router.port);
          }
        } catch (err) {
          // A node that stopped itself just after serving (a damaged file its first scan read)
          // fails a later step with "not running" or a dropped connection: its own reason first.
          const own = await this.selfStopped();
          failed.push(own.length ? `${own.join('; ')} (then: ${(err as Error).message})` : (err as Error).message);
        }
      }
      if (failed.length) {
        await this.stopRouter();
        await Promise.all([...this.members.values()].map((m) => this.terminate(m)));
        this.setPhase(ClusterPhase.CLUSTER_PHASE_STOPPED, 'start failed');
        throw new UnavailableError(`the cluster did not start: ${failed.join('; ')}`);
      }
      // Only a start that got all the way is what this folder "last started with".
      writeRecordedSpec(this.opts.dataDir, spec);
      this.setPhase(ClusterPhase.CLUSTER_PHASE_RUNNING, `${starting.length} nodes up${note ? `; ${note}` : ''}`);
      return { cluster: this.describe(), note };
    });
  }

  stop(): Promise<string[]> {
    return this.exclusive(async () => {
      const running = [...this.members.values()].filter((m) => m.running);
      // Nothing runs after a failed start, but one that KillNode cut short left the node marked.
      const idle = this.phase !== ClusterPhase.CLUSTER_PHASE_RUNNING && running.length === 0;
      if (idle && ![...this.members.values()].some((m) => m.downMark)) return [];
      if (!idle) {
        this.setPhase(ClusterPhase.CLUSTER_PHASE_STOPPING, 'stopping every node');
        await this.stopRouter();
        await Promise.all(running.map((m) => this.terminate(m)));
      }
      // Nodes that were already down are now stopped too: the whole cluster is at rest.
      for (const m of this.members.values()) {
        m.downMark = undefined;
        if (m.state !== NodeState.NODE_STATE_STOPPED) this.setState(m, NodeState.NODE_STATE_STOPPED, 'cluster stopped');
      }
      // The person stopped the whole cluster: the next start, even a resume, starts every member.
      this.saveDownMarks();
      if (!idle) this.setPhase(ClusterPhase.CLUSTER_PHASE_STOPPED, 'stopped on request');
      return running.map((m) => m.id);
    });
  }

  addNode(): Promise<{ node: NodeInfo; moves: MoveSummary }> {
    return this.exclusive(async () => {
      const spec = this.requireRunning('AddNode');
      if (typeof spec.topology === 'object' && spec.topology !== null) {
        throw new PreconditionError('AddNode: the spec names an explicit topology map, which does not say where a new node goes; use null, "mesh", "ring" or "star"');
      }
      if (spec.topology === 'ring' || spec.topology === 'star') {
        // Every node of a ring or star must replicate every key (spec validate.ts); the map's N stays.
        throw new PreconditionError(`AddNode: a ${spec.topology} needs every node to hold every key, and a new node would leave ${spec.replicationFactor} replicas for ${this.members.size + 1} nodes, so writes would skip the replicas past a hop that is not one; start a new cluster with "nodes": ${this.members.size + 1} in another data folder, or use the full mesh (topology null) to grow`);
      }
      // Ids are never reused: op ids "<node>:<seq>" of a removed node live on in other nodes' version vectors.
      let id = nodeIdOf(this.nextIndex++);
      while (this.members.has(id)) id = nodeIdOf(this.nextIndex++);
      const m = new Member(id, nodeFiles(this.opts.dataDir, id));
      m.newMember = true;
      this.members.set(id, m);
      try {
        await this.spawn(m, spec, 0);
        await this.updateMembership(spec);
      } catch (err) {
        await this.terminate(m);
        this.members.delete(id);
        // Killed while it was starting: no longer a member, so nothing to keep down.
        if (m.downMark) this.saveDownMarks();
        writeMembers(this.opts.dataDir, [...this.members.keys()]);
        this.hub.publish({ $case: 'membership', value: { nodeIds: [...this.members.keys()] } });
        throw err;
      }
      // The node is a member now; if moving partitions to it fails it stays, owning nothing, and a
      // later Rebalance can give it its share.
      let moves: MoveSummary;
      try {
        moves = await this.partitions.addNode(id);
      } catch (err) {
        if (!(err instanceof UnavailableError)) throw err;
        throw new UnavailableError(`${err.message}; ${id} runs as a member that owns no partition: `
          + `\`ringdb rebalance\` gives it its share, \`ringdb remove-node ${id}\` removes it`);
      }
      return { node: m.info(), moves };
    });
  }

  /**
   * Removes `id`: its data handed over from it (it must be up), or with `dead` (it is down for
   * good) rebuilt on the nodes that take its partitions from their other replicas.
   */
  removeNode(id: string, dead = false): Promise<{ nodeId: string; handedOverOps: number; moves: MoveSummary }> {
    return this.exclusive(async () => {
      const spec = this.requireRunning('RemoveNode');
      const m = this.member(id);
      if (typeof spec.topology === 'object' && spec.topology !== null) {
        throw new PreconditionError('RemoveNode: the spec names an explicit topology map; removing a node could cut the forwarding paths. Use null, "mesh", "ring" or "star"');
      }
      if (this.members.size === 1) throw new PreconditionError(`RemoveNode: ${id} is the last node; stop the cluster instead`);
      if (dead && m.running) {
        throw new PreconditionError(`RemoveNode: ${id} is running (${NodeState[m.state].replace('NODE_STATE_', '').toLowerCase()}); remove it without "dead", which hands its data over, or kill it first if it is to be treated as lost`);
      }
      if (!dead && (m.state !== NodeState.NODE_STATE_UP || !m.monitor)) {
        throw new PreconditionError(`RemoveNode (its data must be handed over): node ${id} is ${NodeState[m.state].replace('NODE_STATE_', '').toLowerCase()}; it must be up. `
          + `Restart it, or, if it is gone for good, remove it as dead (\`ringdb remove-node ${id} --dead\`): its partitions are rebuilt from their other replicas, and writes only it held are lost`);
      }
      const others = [...this.members.values()].filter((o) => o !== m && o.monitor && o.state === NodeState.NODE_STATE_UP);
      if (others.length === 0) throw new PreconditionError(`RemoveNode: no other node is up to take over ${id}'s data`);
      let moves: MoveSummary;
      try {
        // Copy everything it holds to the nodes that replace it, flip the map, catch up (partitions.ts).
        moves = await this.partitions.removeNode(id);
        m.leaving = true;
        await this.updateMembership(spec);
      } catch (err) {
        m.leaving = false;
        throw new UnavailableError(`RemoveNode ${id}: ${dead ? 'rebuilding its partitions from their other replicas' : 'handover'} failed, the node stays in the cluster: ${describeError(err)}`);
      }
      await this.terminate(m);
      this.members.delete(id);
      if (m.downMark) this.saveDownMarks();
      // Kept, not deleted: the data now lives on the other nodes, but nothing on disk is ever thrown away silently.
      try {
        renameSync(m.files.dir, join(this.opts.dataDir, `${id}.removed-${Date.now()}`));
      } catch {
        // The folder stays where it is; a later node never reuses this id.
      }
      this.hub.publish({ $case: 'membership', value: { nodeIds: [...this.members.keys()] } });
      this.hints.delete(id);
      return { nodeId: id, handedOverOps: moves.entries, moves };
    });
  }

  /**
   * Not queued behind the operation under way: fault injection is for killing a node in the
   * middle of an AddNode or a rebalance, which copes with it as with any crash.
   */
  async killNode(id: string): Promise<NodeInfo> {
    const m = this.member(id);
    const proc = m.process;
    if (!proc?.running) throw new PreconditionError(`KillNode: node ${id} has no running process; it is ${NodeState[m.state].replace('NODE_STATE_', '').toLowerCase()}: ${m.reason}`);
    // Recorded before the kill: a controller that crashes right after must still leave it down.
    const known = this.hints.get(id);
    m.downMark = { how: 'killed', atUnixMs: Date.now(), address: m.address, ...(known ? { hints: heldHints(known.rows) } : {}) };
    this.saveDownMarks();
    m.expectedExit = 'kill';
    await proc.kill('KillNode (fault injection: SIGKILL, nothing flushed)');
    return m.info();
  }

  /** The restarted node, and a warning naming the peers that missed its membership update (hung or dying). */
  restartNode(id: string): Promise<{ node: NodeInfo; warning: string }> {
    return this.exclusive(async () => {
      const spec = this.requireRunning('RestartNode');
      const m = this.member(id);
      // Asked to run: a controller that crashes from here on starts it with the others.
      if (m.downMark) {
        m.downMark = undefined;
        this.saveDownMarks();
      }
      await this.terminate(m);
      const host = spec.host;
      const port = m.port && (await isPortFree(host, m.port)) ? m.port : 0;
      try {
        await this.spawn(m, spec, port);
      } catch (err) {
        if (err instanceof KilledWhileStarting) throw new UnavailableError(`${err.message}; restart it (\`ringdb restart ${id}\`, or RingDB: Restart Node in VS Code)`);
        throw err;
      }
      // A peer that does not answer (hung, or dying) must not keep the restarted node from its
      // map and its stale ranges: the restart finishes, then says which peer missed the update.
      let unreached: UnavailableError | undefined;
      try {
        await this.updateMembership(spec);
      } catch (err) {
        if (!(err instanceof UnavailableError)) throw err;
        unreached = err;
      }
      // It may have missed map changes while it was down; a newer version always wins on the node.
      await this.partitions.propagate([id]);
      await this.partitions.dropStale([id]);
      const warning = unreached
        ? `${unreached.message}; a node that missed it keeps its earlier list of peers (restart it if it stays behind)`
        : '';
      return { node: m.info(), warning };
    });
  }

  async compactNode(id: string): Promise<pb.StoreSnapshot | undefined> {
    const node = await this.answeringNow(id, 'CompactNode');
    const res = await unary(node, node.compact, {}, { token: this.opts.token, timeoutMs: 120_000 });
    return res.snapshot;
  }

  async flushNode(id: string): Promise<pb.FlushResponse> {
    const node = await this.answeringNow(id, 'FlushNode');
    return unary(node, node.flush, {}, { token: this.opts.token, timeoutMs: 120_000 });
  }

  /** `id`'s node, once it has answered a ping: a hung one would hold `what` to its 120 s deadline. */
  private async answeringNow(id: string, what: string): Promise<NodeMonitor['node']> {
    const node = this.requireAnswering(this.member(id), what).node;
    if (await letsPingPass(node, this.opts.token, 'controller')) {
      throw new UnavailableError(`${what}: node ${id} did not answer a ping within ${HUNG_PROBE_MS / 1000} s: ${HUNG_WORDS}; try again once it answers, or restart it`);
    }
    return node;
  }

  private async startRouter(spec: ClusterSpec, port: number): Promise<RunningRouter> {
    const r = await startRouter({
      dataDir: this.opts.dataDir, scriptArgs: this.opts.routerScriptArgs, controllerAddress: this.controllerAddress,
      tokenFile: this.opts.tokenFile, host: spec.host, port, readyTimeoutMs: this.opts.readyTimeoutMs,
    });
    this.router = r;
    this.routerNote = '';
    void r.process.exited.then((exit) => this.onRouterExit(r, describeExit(exit)));
    return r;
  }

  /**
   * A router that exits on its own (a crash, a kill) is started again, as a supervisor would, so
   * clients of its fixed port are not left without one until the whole cluster restarts; after
   * ROUTER_RESTARTS_PER_WINDOW quick exits it stays down, saying so in Describe and the log.
   */
  private onRouterExit(r: RunningRouter, how: string): void {
    if (this.router !== r) return; // stopRouter let go of it first: a stop, not a crash
    this.router = undefined;
    const now = Date.now();
    this.routerRestarts = this.routerRestarts.filter((t) => now - t < ROUTER_RESTART_WINDOW_MS);
    if (this.routerRestarts.length >= ROUTER_RESTARTS_PER_WINDOW) {
      this.routerNote = `exited (${how}) ${this.routerRestarts.length + 1} times within a minute and is not restarted again; see ${r.logFile}, then stop and start the cluster`;
      console.log(`controller: the router ${this.routerNote}`);
      return;
    }
    this.routerRestarts.push(now);
    this.routerNote = `exited unexpectedly (${how}); restarting it`;
    console.log(`controller: the router ${this.routerNote}`);
    setTimeout(() => {
      void this.exclusive(async () => {
        const current = this.spec;
        const router = current?.router;
        if (this.phase !== ClusterPhase.CLUSTER_PHASE_RUNNING || !current || !router || this.router) return;
        // On the port it had, so clients holding its address find it again (a spec port of 0 let the OS pick).
        const port = Number(r.address.slice(r.address.lastIndexOf(':') + 1));
        try {
          const restarted = await this.startRouter(current, port).catch(() => this.startRouter(current, router.port));
          console.log(`controller: the router serves again on ${restarted.address}`);
        } catch (err) {
          this.routerNote = `exited (${how}) and could not be restarted: ${describeError(err)}; stop and start the cluster`;
          console.log(`controller: the router ${this.routerNote}`);
        }
      });
    }, ROUTER_RESTART_DELAY_MS);
  }

  private async stopRouter(): Promise<void> {
    const r = this.router;
    this.router = undefined;
    if (r) await r.process.terminate(this.opts.stopGraceMs);
  }

  /** Stops every node at once, for controller shutdown; waits for all of them. */
  async shutdown(): Promise<void> {
    await this.stopRouter();
    await Promise.all([...this.members.values()].map((m) => this.terminate(m)));
  }
}

/** What a node that stopped itself said about why (node/main.ts: a damaged file, with the way out), as ": …"; else empty. */
/** How long a failed start waits for a node that is exiting to finish, to give its reason. */
const SELF_STOP_WAIT_MS = 1_000;

/**
 * A start cut short by fault injection says so, not that the node failed on its own. The way on
 * depends on the operation (RestartNode adds it): a failed StartCluster stops the cluster and a
 * failed AddNode drops the member, so "restart it" would be refused there.
 */
class KilledWhileStarting extends UnavailableError {
  constructor(readonly nodeId: string) {
    super(`node ${nodeId} was killed by KillNode while it was starting`);
  }
}

function saidWhy(proc: NodeProcess): string {
  const said = /^node (stopped|failed to start): (.*)$/.exec(proc.lastError);
  return said ? `: ${said[2]}` : '';
}

/** The highest N of a node folder `nN` or a removed node's `nN.removed-…` in `dataDir` (0 = none: a new cluster's folder). */
function highestNodeIndex(dataDir: string): number {
  let names: Dirent[];
  try {
    names = readdirSync(dataDir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let highest = 0;
  for (const e of names) {
    const id = e.name.split('.')[0];
    if (e.isDirectory() && NODE_ID_PATTERN.test(id)) highest = Math.max(highest, Number(id.slice(1)));
  }
  return highest;
}

function answersRequests(state: NodeState): boolean {
  return state === NodeState.NODE_STATE_UP || state === NodeState.NODE_STATE_SUSPECT;
}

/** What a down mark keeps of a holder's published hint rows. */
function heldHints(rows: readonly HintSummary[]): HeldHints[] {
  return rows.filter((r) => r.count > 0).map((r) => ({ target: r.target, count: r.count, oldestUnixMs: r.oldestUnixMs }));
}

/** The way back for a node down on purpose. */
function staysDown(id: string): string {
  return `it stays down until you restart it (\`ringdb restart ${id}\`, or RingDB: Restart Node in VS Code)`;
}
