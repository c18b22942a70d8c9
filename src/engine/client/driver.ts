// The topology-aware driver: keeps the controller's partition map, sends each request straight to
// a replica of its key's partition, and when a node answers NotOwner (a partition moved, forwarding
// off) or is unreachable, refreshes the map and retries elsewhere. Map changes also arrive through
// the controller's Watch stream, so a driver usually knows about a move before it hits it. Any
// other answer a node gives (even UNAVAILABLE: a quorum it could not get) goes back to the caller.
// Requests travel as the generated NodeService messages, so the router relays them unchanged.

import { connectivityState, status } from '@grpc/grpc-js';
import * as pb from '../gen/ringdb/v1/node';
import { placementKeyOf } from '../codec/stored-key';
import { PartitionMap, preferenceList, ReadBalancer, ringWalk } from '../partitioning/index';
import { clientArgs, unary, type UnaryMethod } from '../rpc/client';
import { callOutcome, describeError, isTransient } from '../rpc/errors';
import { notOwnerOf } from '../rpc/not-owner';
import { LatencyWindow, type LatencyWindowOptions } from '../rpc/latency-window';
import { RetryBudget, type RetryBudgetOptions } from '../rpc/retry-budget';
import type { ControllerClient } from './controller-client';
import { fromGrpcError, RingDbError } from './errors';
import type { EventStream } from './stream';
import { tryDecodeCompositeKey } from '../codec/composite-key';
import { MAX_VALUE_BYTES } from '../rpc/channel';
import { getResultFromProto, scanEntryFromProto, versionFromProto } from './convert';
import type { Bytes } from './node-client';
import { Session } from './session';
import type {
  CallOptions, ClusterEvent, GetResult, KeyRef, PartitionMapInfo, ReadOptions, RowScanOptions, RowScanResult, Version, WriteOptions, WriteResult,
} from './types';

/**
 * Attempts per request beyond one per known node: enough to follow a move (NotOwner -> refresh).
 * Every node gets its turn, so a driver that has not yet seen N >= 5 replicas go down still
 * reaches a node that can coordinate the write as a sloppy quorum.
 */
const REDIRECT_ATTEMPTS = 3;
const DEFAULT_TIMEOUT_MS = 10_000;
/** The shortest attempt while other nodes remain: below this a node's answer cannot arrive even on loopback under load. */
const MIN_ATTEMPT_MS = 200;
/**
 * A Get whose coordinator has not answered within `Driver.hedgeLatency.delayMs()` (the 99th
 * percentile of this driver's recent Get answers, 5 to 500 ms; 500 ms until 50 are in) is also
 * sent to the next node (a hedged read; the nodes do the same with the replicas they ask,
 * node/quorum-read.ts): a node that hangs (paused, overloaded, SIGSTOPped) held the first reads
 * after it for half their deadline, 5 s. The first answer counts; the other call runs on to its
 * own deadline, unread.
 */

/** How an attempt ended: its answer, or the error it failed with. */
type Outcome<Res> = { node: string; sent: number; ok: true; result: Res } | { node: string; sent: number; ok: false; error: unknown };

export interface DriverOptions {
  /** Spread reads over a partition's replicas instead of always asking the owner (default: the cluster's loadBalanceReads). */
  loadBalanceReads?: boolean;
  /** Follow map changes through the controller's Watch stream (default true; the map is refreshed on NotOwner either way). */
  watch?: boolean;
  /** How many Gets may be hedged (default DEFAULT_RETRY_BUDGET: a tenth of them, plus 10 a second). */
  hedgeBudget?: Partial<RetryBudgetOptions>;
  /** When a Get is hedged (default DEFAULT_LATENCY_WINDOW: the 99th percentile of the last 5-10 s of answers, 5 to 500 ms). */
  hedgeLatency?: Partial<LatencyWindowOptions>;
}

export interface RouteOptions extends CallOptions {
  /** Send to this node first (it coordinates); NotOwner answers are still followed. */
  via?: string;
}

/** Which node served a request, and under which map version. */
export interface Routed<T> {
  result: T;
  node: string;
  mapVersion: number;
  /** Attempts it took (1 = the first replica answered). */
  attempts: number;
  /** Nodes tried before the one that answered, and what became of each attempt (`not reached: …`, NotOwner). */
  passedOver: NodeAttempt[];
}

/** One node tried for a routed request that did not give the answer. */
export interface NodeAttempt {
  node: string;
  answer: string;
}

interface NodeHandle {
  id: string;
  address: string;
  client: pb.NodeServiceClient;
}

/** What a request is placed by: the partition key, or for a raw key the key's placement key. */
export function placementOf(req: { key: Buffer; partitionKey?: Buffer }): Buffer {
  return req.partitionKey !== undefined ? req.partitionKey : placementKeyOf(req.key);
}

/** A Get answered through the driver: the result and who answered. */
export interface RoutedGet extends GetResult {
  node: string;
  /** Nodes whose answers made up the result. */
  replicas: string[];
  mapVersion: number;
  /** Nodes tried first that did not answer, and why (a `via` node that is down is one). */
  passedOver: NodeAttempt[];
}

/** A write acknowledged through the driver, and the nodes tried first that did not take it. */
export interface RoutedWrite extends WriteResult {
  passedOver: NodeAttempt[];
}

function bytes(field: string, v: Bytes, allowEmpty: boolean): Buffer {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);
  if (!allowEmpty && b.length === 0) throw new RingDbError('invalid-argument', `${field}: must not be empty`);
  if (b.length > MAX_VALUE_BYTES) throw new RingDbError('invalid-argument', `${field}: is ${b.length} bytes; at most ${MAX_VALUE_BYTES} are accepted`);
  return b;
}

/** A raw key (stored as given) or a row: partition key plus optional clustering key. */
export function keyFields(key: KeyRef): { key: Buffer; partitionKey?: Buffer; clusteringKey?: Buffer } {
  if (typeof key === 'string' || key instanceof Uint8Array) return { key: bytes('key', key, false) };
  return {
    key: Buffer.alloc(0),
    partitionKey: bytes('partitionKey', key.partitionKey, false),
    clusteringKey: key.clusteringKey === undefined ? undefined : bytes('clusteringKey', key.clusteringKey, true),
  };
}

function clusteringOf(stored: Buffer): Buffer | undefined {
  return tryDecodeCompositeKey(stored)?.clusteringKey;
}

/** What one node answered a routed request (a failure the driver moved on from). */
interface Attempt extends NodeAttempt {
  /** It took the request and did not answer in the time it was given: it may be hung, and may still apply a write. */
  hung?: boolean;
  /** No connection to it completed in the time it was given (a stopped process's port): nothing was sent. */
  unconnected?: boolean;
  /** It took the request and the call ended without an answer otherwise (connection dropped): it may have applied a write. */
  dropped?: boolean;
}

/** A failed attempt that got no answer, by what rpc/errors callOutcome says became of the request. */
function unanswered(node: string, err: unknown, tookMs: number): Attempt {
  const code = (err as { code?: unknown }).code;
  if (callOutcome(err) === 'never-sent') {
    if (code === status.DEADLINE_EXCEEDED) return { node, answer: `not reached: nothing was sent (no connection within ${tookMs} ms)`, unconnected: true };
    // gRPC's connection details carry a resolution note: the connect error alone says it.
    const connect = /connect (E[A-Z]+ \S+?)\.?(?:\s|$)/.exec(describeError(err));
    return { node, answer: `not reached: nothing was sent (${connect ? `connect ${connect[1]}` : describeError(err)})` };
  }
  if (code === status.DEADLINE_EXCEEDED) return { node, answer: `no answer in ${tookMs} ms`, hung: true };
  // A connection lost mid-call ("Connection dropped", "read ECONNRESET": a crash or kill) may
  // have come after the node read the request and acted on it.
  return { node, answer: `took the request and lost the connection (${describeError(err)})`, dropped: true };
}

function nodes(ids: readonly string[]): string {
  return ids.length === 1 ? `Node ${ids[0]}` : `Nodes ${ids.join(', ')}`;
}

/**
 * No node answered: how long the call waited, what each node tried answered, which were left
 * untried when the deadline passed, and what to do. A node that took the request and never
 * answered, or never completed a connection, may be stopped or paused (SIGSTOP, a debugger, a
 * long GC) rather than dead, which `ringdb status` shows as up until its heartbeats stop. Only
 * the first may still apply a write.
 */
function deadlineError(name: string, read: boolean, timeoutMs: number, waitedMs: number, answers: readonly Attempt[], untried: readonly string[], mapCut = false): RingDbError {
  const tried = answers.length === 0 ? 'no node was tried' : `tried ${answers.map((a) => `${a.node}: ${a.answer}`).join('; ')}`;
  const fetch = mapCut ? '; the partition map was being fetched from the controller, which had not answered' : '';
  const left = `${untried.length > 0 ? `; not tried: ${untried.join(', ')}` : ''}${fetch}`;
  const what = untried.length > 0 || waitedMs >= timeoutMs
    ? `no answer within the call's ${timeoutMs} ms deadline (waited ${waitedMs} ms; ${tried}${left})`
    : `none of the nodes tried answered (waited ${waitedMs} ms of the call's ${timeoutMs} ms deadline; ${tried})`;
  const hung = [...new Set(answers.filter((a) => a.hung).map((a) => a.node))];
  const unconnected = [...new Set(answers.filter((a) => a.unconnected).map((a) => a.node))].filter((id) => !hung.includes(id));
  const why = [
    ...(hung.length > 0 ? [`${nodes(hung)} took the request and did not answer: ${hung.length === 1 ? 'it may be' : 'they may be'} hung`] : []),
    ...(unconnected.length > 0 ? [`${nodes(unconnected)} accepted no connection in time, so nothing was sent to ${unconnected.length === 1 ? 'it' : 'them'}: ${unconnected.length === 1 ? 'it may be' : 'they may be'} hung`] : []),
  ];
  const stuck = [...hung, ...unconnected];
  const next = stuck.length > 0
    ? `${why.join('; ')} (stopped, paused or overloaded). ` +
      `Check \`ringdb status\`, restart ${stuck.length === 1 ? 'it' : 'them'} (\`ringdb restart ${stuck[0]}\`, or RingDB: Restart Node) and retry, or retry with a longer timeout`
    : mapCut ? 'Check that the controller answers (`ringdb status`) and retry' : 'Retry with a longer timeout';
  const late = read || hung.length === 0 ? '' : '; the write may still be applied by a node that answers late';
  return new RingDbError('deadline-exceeded', `${name}: ${what}${late}. ${next}`);
}

function required(v: pb.Version | undefined, call: string): Version {
  const version = versionFromProto(v);
  if (!version) throw new RingDbError('internal', `${call}: the node answered without a version`);
  return version;
}

export class Driver {
  private map: PartitionMap;
  private info: PartitionMapInfo;
  private readonly nodes = new Map<string, NodeHandle>();
  private readonly down = new Set<string>();
  /** Hedged Gets: by default at most a tenth of this driver's Gets (plus 10 a second) go to a second node. */
  readonly hedgeBudget: RetryBudget;
  /** Get answers' times, whose 99th percentile is how long a Get waits before it is hedged. */
  readonly hedgeLatency: LatencyWindow;
  private readonly balancer = new ReadBalancer('round-robin');
  private events: EventStream<ClusterEvent> | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;
  private readonly loadBalance: boolean;
  /** Map versions seen, for tests and the UI: how often the driver refreshed. */
  refreshes = 0;

  private constructor(
    private readonly controller: ControllerClient,
    info: PartitionMapInfo,
    addresses: { id: string; address: string; state: string }[],
    opts: DriverOptions,
  ) {
    this.info = info;
    this.map = PartitionMap.fromJSON(JSON.parse(info.mapJson));
    this.loadBalance = opts.loadBalanceReads ?? info.loadBalanceReads;
    this.hedgeBudget = new RetryBudget(opts.hedgeBudget);
    this.hedgeLatency = new LatencyWindow(opts.hedgeLatency);
    this.noteNodes(addresses);
  }

  /** Connects through a controller: fetches the map and node addresses, then follows changes. */
  static async connect(controller: ControllerClient, opts: DriverOptions = {}): Promise<Driver> {
    const cluster = await controller.describe();
    if (!cluster.partitionMap) throw new RingDbError('failed-precondition', 'the cluster has no partition map yet; start it first');
    const d = new Driver(controller, cluster.partitionMap, cluster.nodes, opts);
    if (opts.watch ?? true) d.follow();
    return d;
  }

  /** The map the driver routes by. */
  get partitionMap(): PartitionMapInfo {
    return this.info;
  }

  get token(): string {
    return this.controller.target.token;
  }

  private noteNodes(nodes: { id: string; address: string; state: string }[]): void {
    for (const n of nodes) {
      if (n.address) this.handle(n.id, n.address);
      if (n.state === 'up') this.down.delete(n.id);
      else this.down.add(n.id);
    }
  }

  private handle(id: string, address: string): NodeHandle {
    const known = this.nodes.get(id);
    if (known && known.address === address) return known;
    known?.client.close();
    const h = { id, address, client: new pb.NodeServiceClient(...clientArgs(address)) };
    this.nodes.set(id, h);
    return h;
  }

  private adopt(info: PartitionMapInfo): void {
    if (info.version <= this.info.version) return;
    this.info = info;
    this.map = PartitionMap.fromJSON(JSON.parse(info.mapJson));
  }

  private follow(): void {
    const events = this.controller.watch();
    this.events = events;
    void (async () => {
      try {
        for await (const e of events) {
          if (e.type === 'snapshot') {
            if (e.cluster.partitionMap) this.adopt(e.cluster.partitionMap);
            this.noteNodes(e.cluster.nodes);
          } else if (e.type === 'partitionMap') this.adopt(e.map);
          else if (e.type === 'nodeState') this.noteNodes([e.node]);
        }
      } catch {
        // The controller went away; NotOwner answers still trigger refreshes.
      }
    })();
  }

  /** Fetches the current map and node addresses from the controller (one fetch at a time, which later callers join). */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const cluster = await this.controller.describe();
        if (cluster.partitionMap) this.adopt(cluster.partitionMap);
        this.noteNodes(cluster.nodes);
        this.refreshes++;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /**
   * A refresh made while routing a call, waited for only until the call's deadline: the map
   * fetch is part of the call's time (a hung controller held a 2 s call for the fetch's own 15 s).
   * A fetch cut short by the deadline is not the call's error: its deadline error, naming what
   * each node answered, is. False when it did not finish in time. The fetch itself is not capped
   * by this call's deadline: other calls join it, and a short call's cap would fail theirs early.
   */
  private async refreshBy(deadline: number): Promise<boolean> {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), left);
    });
    try {
      return await Promise.race([this.refresh().then(() => true), expired]);
    } catch (err) {
      if (Date.now() < deadline) throw err;
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The partition a stored key (as a node's scan returns it: raw, a row, a salted variant) lives in under the driver's map. */
  partitionOf(storedKey: Buffer): number {
    return this.map.locate(placementKeyOf(storedKey)).id;
  }

  /** Replicas of a placement key in the order to try them: owner first (or balanced reads), down nodes last. */
  replicasFor(placementKey: Buffer, read: boolean): string[] {
    const replicas = preferenceList(this.map, this.map.locate(placementKey).id);
    const up = replicas.filter((r) => !this.down.has(r));
    const first = read && this.loadBalance ? this.balancer.pick(up) : up[0];
    const ordered = first === undefined ? up : [first, ...up.filter((r) => r !== first)];
    return [...ordered, ...replicas.filter((r) => this.down.has(r))];
  }

  /**
   * Nodes to send a request for `placementKey` to, in order: the replicas that are up, then the
   * other nodes in ring order (with every replica down, one of them coordinates the write as a
   * sloppy quorum, with hints, or the read from its hints), then the replicas that are down.
   */
  private candidatesFor(placementKey: Buffer, read: boolean): string[] {
    const replicas = this.replicasFor(placementKey, read);
    const others = ringWalk(this.map, this.map.locate(placementKey).id).filter((id) => !replicas.includes(id));
    const upReplicas = replicas.filter((r) => !this.down.has(r));
    return [...upReplicas, ...others.filter((id) => !this.down.has(id)), ...replicas.filter((r) => this.down.has(r)), ...others.filter((id) => this.down.has(id))];
  }

  /**
   * Sends a request to a replica of `placementKey`'s partition, following NotOwner answers and
   * skipping unreachable replicas. `send` gets the node's generated client and how long this
   * attempt may take.
   *
   * Any other answer a node gives is final, whatever its status: a quorum refusal or timeout
   * comes from a live coordinator that may already have written, so sending the request to
   * another coordinator would write it again and bury the answer under a worse one. Only a
   * failure to reach the node (no connection, the deadline passing with no answer) moves on.
   *
   * The attempts share one deadline (`timeoutMs`): each gets half of what is left while other
   * nodes remain to try, the last one all of it. With a fixed timeout per attempt, every hung
   * node (SIGSTOPped, paused) cost a full timeout, and a call that met two took three.
   *
   * When `hedged` (reads only: a request sent twice must change nothing), an attempt still
   * unanswered after `hedgeLatency.delayMs()` stays running while the next node is tried, and the
   * first answer of any of them is the call's; each answer's time goes into `hedgeLatency`. Not
   * after a NotOwner redirect, nor past `hedgeBudget`.
   */
  async route<Res>(
    name: string,
    placementKey: Buffer,
    read: boolean,
    send: (client: pb.NodeServiceClient, node: string, timeoutMs: number) => Promise<Res>,
    opts: RouteOptions = {},
    hedged = false,
  ): Promise<Routed<Res>> {
    if (this.closed) throw new RingDbError('cancelled', 'the driver is closed');
    if (hedged) this.hedgeBudget.request();
    const hedgeAfterMs = hedged ? this.hedgeLatency.delayMs() : undefined;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const started = Date.now();
    const deadline = started + timeoutMs;
    const answers: Attempt[] = [];
    let unreached: unknown;
    let redirected: unknown;
    /** Where to go next instead of this driver's own map, and the map version the redirecting node named it under. */
    let redirect: { id: string; address: string; mapVersion?: number } | undefined;
    if (opts.via !== undefined) {
      const h = this.nodes.get(opts.via);
      if (!h) throw new RingDbError('not-found', `no node "${opts.via}" with a known address; nodes are ${[...this.nodes.keys()].join(', ') || 'none'}`);
      redirect = { id: opts.via, address: h.address };
    }
    const tried = new Set<string>();
    /** Attempts a hedge left running, with their node and start: the first of them or of the newest attempt to answer wins. */
    const running = new Map<Promise<Outcome<Res>>, { node: string; sent: number; connected: boolean; passed: string }>();
    /** Running attempts as the deadline error names them, as unanswered() names a call that ran out of time. */
    const stillRunning = (): Attempt[] => [...running.values()].map(({ node, sent, connected }): Attempt => (connected
      ? { node, answer: `no answer in ${Date.now() - sent} ms`, hung: true }
      : { node, answer: `not reached: nothing was sent (no connection within ${Date.now() - sent} ms)`, unconnected: true }));
    /**
     * A node's own error answer to a hedged attempt: the call's answer unless another node answers
     * (an answer is final when it is the newest attempt's, see below).
     */
    let answeredError: { node: string; error: unknown } | undefined;
    /** True, with the attempt recorded, when `error` means the node was not reached (no answer of its own): the call moves on. */
    const notReached = (node: string, error: unknown, sent: number): boolean => {
      if (!isTransient(error) || callOutcome(error) === 'answered') return false;
      unreached = error;
      answers.push(unanswered(node, error, Date.now() - sent));
      this.down.add(node);
      return true;
    };
    /** A hedged attempt that failed: what became of it goes with the error or the answer, as for the newest attempt. */
    const missed = (o: Outcome<Res>): void => {
      if (o.ok || notReached(o.node, o.error, o.sent)) return;
      answeredError ??= { node: o.node, error: o.error };
      answers.push({ node: o.node, answer: describeError(o.error) });
    };
    /** A running attempt's answer, or undefined once every one of them failed (each recorded). */
    const runningAnswer = async (): Promise<{ node: string; result: Res } | undefined> => {
      while (running.size > 0) {
        const o = await Promise.race([...running.keys()].map((p) => p.then((outcome) => ({ p, outcome }))));
        running.delete(o.p);
        if (o.outcome.ok) return o.outcome;
        missed(o.outcome);
      }
      return undefined;
    };
    const answered = (o: { node: string; result: Res }, mapVersion: number): Routed<Res> => ({
      result: o.result, node: o.node, mapVersion, attempts: attempt,
      passedOver: [...answers.map(({ node, answer }) => ({ node, answer })),
        ...[...running.values()].filter(({ node }) => node !== o.node).map(({ node, passed }) => ({ node, answer: passed }))],
    });
    /** A map refresh the deadline cut short: the error says the controller had not answered. */
    let mapCut = false;
    /**
     * A map fetch a NotOwner answer started, running while the request follows the owner that
     * node named: a hung controller cannot hold up a redirect. It is awaited (within the deadline)
     * only before the driver next picks a node from its own map.
     */
    let fetch: Promise<{ done: boolean } | { error: unknown }> | undefined;
    let fetchPending = false;
    const settleFetch = async (): Promise<void> => {
      if (fetch === undefined) return;
      const outcome = await fetch;
      fetch = undefined;
      if ('error' in outcome) throw outcome.error;
      if (!outcome.done) mapCut = true;
    };
    const cut = (): boolean => mapCut || fetchPending;
    const maxAttempts = Math.max(this.nodes.size, this.map.nodes.length) + REDIRECT_ATTEMPTS;
    let attempt = 0;
    while (++attempt <= maxAttempts) {
      if (redirect === undefined) await settleFetch();
      const left = deadline - Date.now();
      const candidates = this.candidatesFor(placementKey, read);
      if (left <= 0) throw deadlineError(name, read, timeoutMs, Date.now() - started, [...answers, ...stillRunning()], candidates.filter((c) => !tried.has(c)), cut());
      // Every node had its turn and none redirected: another round would only wait on them again.
      if (redirect === undefined && redirected === undefined && candidates.every((c) => tried.has(c))) break;
      const target: typeof redirect = redirect ?? (() => {
        const id = candidates.find((c) => !tried.has(c)) ?? candidates[0];
        const h = this.nodes.get(id);
        return h ? { id, address: h.address } : undefined;
      })();
      redirect = undefined;
      if (!target) {
        if (!(await this.refreshBy(deadline))) mapCut = true;
        continue;
      }
      tried.add(target.id);
      const untried = candidates.filter((c) => !tried.has(c)).length;
      const attemptMs = untried > 0 ? Math.max(Math.min(MIN_ATTEMPT_MS, left), Math.floor(left / 2)) : left;
      const h = this.handle(target.id, target.address);
      const sent = Date.now();
      const timedFrom = performance.now();
      const call: Promise<Outcome<Res>> = send(h.client, h.id, attemptMs).then((result) => ({ node: h.id, sent, ok: true as const, result }), (error: unknown) => ({ node: h.id, sent, ok: false as const, error }));
      // Every answer, the hedged attempt's that nobody reads included: timing only the winners would
      // leave the slow tail out, and the wait would sink until about a tenth of the Gets were hedged.
      if (hedged) void call.then((o) => { if (o.ok) this.hedgeLatency.record(performance.now() - timedFrom); });
      // Not when following a NotOwner answer: the other nodes of this driver's map would say the same.
      const hedgeMs = hedgeAfterMs !== undefined && untried > 0 && target.mapVersion === undefined ? hedgeAfterMs : undefined;
      let outcome = await this.firstOf(call, running, hedgeMs, missed);
      // Past the budget, this node is waited on as an unhedged call would.
      if (outcome === undefined && !this.hedgeBudget.tryExtra()) outcome = await this.firstOf(call, running, undefined, missed);
      if (outcome === undefined) {
        // Still no answer after hedgeMs: the next node is asked while this call runs on.
        // A channel not yet connected has not sent it (a SIGSTOPped node's handshake never completes).
        const connected = h.client.getChannel().getConnectivityState(false) === connectivityState.READY;
        running.set(call, { node: h.id, sent, connected, passed: `${connected ? 'no answer' : 'not reached: no connection'} within ${hedgeMs} ms; asked another node beside it` });
        continue;
      }
      // Followed before the driver's own map caught up: the answer was routed by the newer map.
      if (outcome.ok) return answered(outcome, outcome.node === h.id ? Math.max(this.map.version, target.mapVersion ?? 0) : this.map.version);
      const err = outcome.error;
      const notOwner = notOwnerOf(err);
      if (notOwner) {
        redirected = err;
        answers.push({ node: target.id, answer: `NotOwner (partition ${notOwner.partitionId}${notOwner.ownerId ? ` is on ${notOwner.ownerId}` : ''})` });
        // The node knows a newer map: fetch it while going where the node says the owner is.
        if (notOwner.mapVersion > this.map.version && fetch === undefined) {
          fetchPending = true;
          fetch = this.refreshBy(deadline).then((done) => ({ done }), (error: unknown) => ({ error }))
            .finally(() => { fetchPending = false; });
        }
        if (notOwner.ownerId && notOwner.ownerAddress && !tried.has(notOwner.ownerId)) redirect = { id: notOwner.ownerId, address: notOwner.ownerAddress, mapVersion: notOwner.mapVersion };
        continue;
      }
      if (notReached(target.id, err, sent)) continue;
      throw fromGrpcError(err, `${name} on node ${target.id}`);
    }
    const late = await runningAnswer();
    if (late !== undefined) return answered(late, this.map.version);
    if (answeredError !== undefined) throw fromGrpcError(answeredError.error, `${name} on node ${answeredError.node}`);
    // A node's NotOwner answer says more (where the partition lives) than a connection failure.
    const what = `${name} (after ${attempt - 1} attempts on ${[...tried].join(', ')})`;
    if (redirected === undefined && unreached !== undefined && tried.size > 0) {
      // A replica that took the request and hung may still apply it; one never reached cannot.
      if (answers.some((a) => a.hung || a.unconnected)) throw deadlineError(name, read, timeoutMs, Date.now() - started, answers, [], cut());
      const nodes = [...tried];
      const dropped = answers.filter((a) => a.dropped);
      if (dropped.length > 0) {
        const who = dropped.map((a) => a.node).join(', ');
        const after = read ? '' : `; it may have been written by ${who}: read it back or retry (a retry writes the same value again)`;
        throw new RingDbError('unavailable', `${name}: no node answered (${answers.map((a) => `${a.node}: ${a.answer}`).join('; ')})${after}. Restart them (\`ringdb restart ${nodes[0]}\`, or RingDB: Restart Node) and retry`);
      }
      const after = read ? '' : '; nothing was written';
      throw new RingDbError('unavailable', `${name}: none could be reached of the nodes tried (${nodes.join(', ')})${after}. Restart one of them (\`ringdb restart ${nodes[0]}\`, or RingDB: Restart Node) and retry`);
    }
    const e = fromGrpcError(redirected ?? unreached, what);
    throw redirected !== undefined && e instanceof RingDbError ? new RingDbError(e.code, `${what}: ${e.message}`) : e;
  }

  /**
   * The newest attempt's outcome or a running one's answer, whichever comes first (a running
   * attempt that fails is passed to `missed` and waited past); undefined when `hedgeMs` passed
   * first. The newest attempt's own failure is its outcome: the caller decides what it means.
   */
  private async firstOf<Res>(call: Promise<Outcome<Res>>, running: Map<Promise<Outcome<Res>>, unknown>, hedgeMs: number | undefined, missed: (o: Outcome<Res>) => void): Promise<Outcome<Res> | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const hedge = hedgeMs === undefined ? undefined : new Promise<'hedge'>((resolve) => (timer = setTimeout(() => resolve('hedge'), hedgeMs)));
    try {
      for (;;) {
        const contenders: Promise<{ p: Promise<Outcome<Res>>; outcome: Outcome<Res> } | 'hedge'>[] = [call, ...running.keys()].map((p) => p.then((outcome) => ({ p, outcome })));
        if (hedge) contenders.push(hedge);
        const first = await Promise.race(contenders);
        if (first === 'hedge') return undefined;
        if (first.p === call) return first.outcome;
        running.delete(first.p);
        if (first.outcome.ok) return first.outcome;
        missed(first.outcome);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** A unary NodeService call routed by its key (the request is sent as given). */
  call<Req extends { key: Buffer; partitionKey?: Buffer }, Res>(
    name: string,
    method: (c: pb.NodeServiceClient) => UnaryMethod<Req, Res>,
    req: Req,
    read: boolean,
    opts: RouteOptions = {},
  ): Promise<Routed<Res>> {
    return this.route(name, placementOf(req), read, (c, _node, timeoutMs) => unary(c, method(c), req, { token: this.token, timeoutMs }), opts);
  }

  // ---------------------------------------------------------------- data plane

  /** Writes a value; `w` overrides the write quorum (1..N) for this write. */
  async put(key: KeyRef, value: Bytes, opts: WriteOptions = {}): Promise<RoutedWrite> {
    const req: pb.PutRequest = { ...keyFields(key), value: bytes('value', value, true), w: opts.w };
    const r = await this.call('Put', (c) => c.put, req, false, opts);
    return { version: required(r.result.version, 'Put'), node: r.node, replicas: r.result.replicas, hinted: { ...r.result.hinted }, mapVersion: r.mapVersion, passedOver: r.passedOver };
  }

  /** Deletes (a tombstone, replicated like a write). */
  async delete(key: KeyRef, opts: WriteOptions = {}): Promise<RoutedWrite> {
    const req: pb.DeleteRequest = { ...keyFields(key), w: opts.w };
    const r = await this.call('Delete', (c) => c.delete, req, false, opts);
    return { version: required(r.result.version, 'Delete'), node: r.node, replicas: r.result.replicas, hinted: { ...r.result.hinted }, mapVersion: r.mapVersion, passedOver: r.passedOver };
  }

  /** Reads the newest version among R replicas (`r` overrides R for this read). */
  async get(key: KeyRef, opts: ReadOptions = {}): Promise<RoutedGet> {
    const req: pb.GetRequest = { ...keyFields(key), r: opts.r };
    const r = await this.route('Get', placementOf(req), true, (c, _node, timeoutMs) => unary(c, c.get, req, { token: this.token, timeoutMs }), opts, true);
    return { ...getResultFromProto(r.result), node: r.node, replicas: r.result.replicas, mapVersion: r.mapVersion, passedOver: r.passedOver };
  }

  /** One page of a partition's rows in clustering-key order; pass `continuationToken` back for the next page. */
  async scan(partitionKey: Bytes, opts: RowScanOptions = {}): Promise<RowScanResult> {
    const pk = bytes('partitionKey', partitionKey, false);
    const req: pb.ScanRequest = {
      start: Buffer.alloc(0), end: Buffer.alloc(0), limit: opts.limit ?? 0,
      continuationToken: Buffer.from(opts.continuationToken ?? new Uint8Array()), includeTombstones: opts.includeTombstones ?? false,
      partitionKey: pk,
      clusteringStart: opts.from === undefined ? undefined : bytes('from', opts.from, true),
      clusteringEnd: opts.to === undefined ? undefined : bytes('to', opts.to, true),
      r: opts.r,
    };
    const r = await this.route('Scan', pk, true, (c, _node, timeoutMs) => unary(c, c.scan, req, { token: this.token, timeoutMs }), opts);
    return {
      rows: r.result.entries.map((e) => ({ ...scanEntryFromProto(e), clusteringKey: clusteringOf(Buffer.from(e.key)) })),
      continuationToken: r.result.continuationToken.length ? Buffer.from(r.result.continuationToken) : undefined,
      node: r.node,
      mapVersion: r.mapVersion,
    };
  }

  /** A read-your-writes session for one user (see session.ts). */
  session(user: string): Session {
    return new Session(this, user);
  }

  /** Marks a node reachable again (the Watch stream does this by itself). */
  markUp(nodeId: string): void {
    this.down.delete(nodeId);
  }

  close(): void {
    this.closed = true;
    this.events?.close();
    for (const h of this.nodes.values()) h.client.close();
    this.nodes.clear();
  }
}
