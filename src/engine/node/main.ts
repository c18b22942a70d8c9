// The node process: `node dist/engine/node.js --config <file.json>`. Composition root: reads
// and validates the config and the token, opens the node, serves NodeService, prints the one
// ready line on stdout, and shuts down gracefully on SIGTERM/SIGINT or when stdin closes (the
// controller holds the other end, so a node never outlives a killed controller).

import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConvergenceServiceService } from '../gen/ringdb/v1/convergence';
import { NodeServiceService, PeerState } from '../gen/ringdb/v1/node';
import { describeError, readTokenFile, startServer, type RunningServer } from '../rpc';
import { ConfigError, NODE_LOG_FILE, NODE_READY_PREFIX, validateNodeConfig, type NodeConfig } from './config';
import { parseCrdtConfig } from '../crdt/registry';
import { Convergence } from './convergence/convergence';
import { CrdtMode } from './convergence/crdt-mode';
import { CrdtHandlers } from './convergence/crdt-service';
import { VectorCoordinator } from './convergence/vector-coordinator';
import { VectorDataPlane } from './convergence/vector-data-plane';
import { VectorMode } from './convergence/vector-mode';
import { VectorHandlers } from './convergence/vector-service';
import { convergenceService } from './convergence/service';
import type { GlobalIndex } from './indexes/global-index';
import { openGlobalIndex } from './indexes/global-node';
import { SecondaryIndexes } from './indexes/secondary';
import { createLogger, type Logger } from './logger';
import { CorruptionError, LockedError } from '../storage';
import { RingNode } from './node';
import { PartitionLayer } from './partition-layer';
import { nodeService } from './service';

/** Exit codes the controller can tell apart. */
export const EXIT = { ok: 0, failed: 1, badConfig: 2 } as const;
const SHUTDOWN_TIMEOUT_MS = 10_000;

function loadConfig(argv: string[]): NodeConfig {
  const at = argv.indexOf('--config');
  const file = at >= 0 ? argv[at + 1] : undefined;
  if (!file) throw new ConfigError(['usage: node node.js --config <file.json> (the --config argument is required)']);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([`cannot read config file ${file} as JSON: ${(err as Error).message}`]);
  }
  return validateNodeConfig(raw);
}

async function run(): Promise<void> {
  let config: NodeConfig;
  let token: string;
  try {
    config = loadConfig(process.argv.slice(2));
    token = readTokenFile(config.tokenFile);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(EXIT.badConfig);
  }
  const logger: Logger = createLogger(config.id, config.logLevel);
  // A store that cannot read its own files stops the node, as it stops a start: answering on
  // would acknowledge writes it cannot store, fail every resend from its peers, and report
  // Merkle roots over data it cannot read (found with one damaged SSTable block).
  const stopOnDamage = (err: unknown): void => {
    if (!(err instanceof CorruptionError)) return;
    // Its own stderr line, unprefixed: the controller quotes it as the reason the node is down.
    process.stderr.write(`node stopped: ${damageAdvice(err)}\n`);
    process.exit(EXIT.failed);
  };
  // Vector mode merges sibling sets in the store's resolver, installed before the log replays so
  // replayed deltas merge instead of overwriting the stored set.
  let vectorMode: VectorMode | undefined;
  const node = await openWaitingForPredecessor(config, token, logger, (observed, replica) => {
    if (config.consistencyMode !== 'vector') return;
    const vm = new VectorMode({ nodeId: config.id, read: (key) => observed.get(key), tick: () => replica.clock.tick() });
    observed.resolveWith((ops) => vm.resolve(ops));
    vectorMode = vm;
  });
  const partitioning = PartitionLayer.open(node, logger);
  let server: RunningServer;
  let convergence: Convergence;
  let vector: VectorCoordinator | undefined;
  let globalIndex: GlobalIndex;
  try {
    node.observed.enableCache(config.cacheSize ?? 0);
    const mode = config.consistencyMode ?? 'lww';
    const crdt = mode === 'crdt' ? new CrdtMode({
      nodeId: config.id, types: parseCrdtConfig(config.crdt), read: (key) => node.observed.get(key), tick: () => node.replica.clock.tick(),
      ready: () => node.ownSeqsSettled(),
      writeLocal: (key, state) => node.writeLocal([{ key, value: state }]).then(() => undefined),
    }) : undefined;
    if (crdt) node.observed.resolveWith((ops) => crdt.resolve(ops));
    convergence = new Convergence({
      nodeId: config.id, token, store: node.store, observed: node.observed, observeTs: (ts) => node.replica.clock.observe(ts),
      peers: () => node.peers.views().map((p) => ({ id: p.id, address: p.address, down: p.state === PeerState.PEER_STATE_DOWN })),
      intervalMs: config.merkleIntervalMs ?? config.antiEntropyIntervalMs, logger,
      versionOf: (crdt && ((e) => crdt.versionOf(e))) ?? (vectorMode && ((e) => (vectorMode as VectorMode).versionOf(e))),
      placement: { map: () => partitioning.partitions.map, partitionOf: (map, key) => partitioning.partitions.partitionOf(map, key) },
      onMapChange: (listener) => partitioning.partitions.onChange(listener),
      onDamage: stopOnDamage,
    });
    vector = vectorMode && new VectorCoordinator(node, partitioning, vectorMode, logger);
    globalIndex = openGlobalIndex(node, partitioning, convergence, logger);
    server = await startServer(config.host, config.port, token, [
      { definition: NodeServiceService, implementation: nodeService(node, logger, partitioning, vector && new VectorDataPlane(vector), crdt && ((key) => crdt.typeOf(key))), subscriptions: ['watchReplicationLog', 'watchStore'] },
      { definition: ConvergenceServiceService, implementation: convergenceService(convergence, new CrdtHandlers(crdt, mode), new SecondaryIndexes(config.indexFields ?? [], node.store, node.observed, (key) => partitioning.partitions.replicates(config.id, key)), new VectorHandlers(vector, mode), globalIndex) },
    ]);
  } catch (err) {
    await node.close();
    throw err;
  }
  const hostPart = config.host.includes(':') ? `[${config.host}]` : config.host;
  partitioning.start();
  node.start(`${hostPart}:${server.port}`);
  node.observed.onDamage(stopOnDamage);
  // A store that failed in the background refuses every write from then on: answering on as "up"
  // would only fail each write and each peer's resend, with nothing said (found with a folder made
  // read-only under a running node). Its data is on disk and in the replication log; a restart,
  // once the cause is fixed, recovers it.
  node.store.onFailure((err) => {
    if (err instanceof CorruptionError) return stopOnDamage(err);
    logger.error(`the store failed in the background: ${err.message}`);
    process.stderr.write(`node stopped: its store failed in the background and takes no more writes: ${err.message}; `
      + 'what it acknowledged is in its replication log and files: fix the cause (permissions, free space) and restart it\n');
    process.exit(EXIT.failed);
  });
  convergence.start();
  // One round per peer at a time: a segment with lost ops in many windows asks for one each.
  const repairing = new Set<string>();
  node.onLostOps((peer) => {
    if (repairing.has(peer)) return;
    repairing.add(peer);
    convergence.repair([peer]).finally(() => repairing.delete(peer)).then(({ peers: [r] }) => logger.info(r?.ok
      ? `Merkle round with ${peer} after the lost log records: ${r.keysSent} keys sent, ${r.keysReceived} received`
      : `Merkle round with ${peer} after the lost log records did not complete (the periodic rounds retry): ${r?.error ?? `${peer} is no longer a peer`}`),
      (err: unknown) => logger.warn(`Merkle round with ${peer} after skipping lost log records failed (the periodic rounds retry): ${describeError(err)}`));
  });
  globalIndex.rebuild().catch((err: unknown) => logger.error(`global index rebuild failed: ${(err as Error).message}`));

  let stopping: Promise<void> | undefined;
  const shutdown = (why: string) => {
    stopping ??= (async () => {
      logger.info(`shutting down: ${why}`);
      setTimeout(() => {
        logger.error('shutdown took too long; exiting without finishing it');
        process.exit(EXIT.failed);
      }, SHUTDOWN_TIMEOUT_MS).unref();
      await server.stop();
      globalIndex.close();
      await convergence.close();
      vector?.close();
      await partitioning.close();
      await node.close();
      logger.info('stopped');
      process.exit(EXIT.ok);
    })().catch((err: unknown) => {
      logger.error(`shutdown failed: ${(err as Error).stack ?? String(err)}`);
      process.exit(EXIT.failed);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // The controller writes this node's output to its log; once the controller is gone, nothing
  // does, so the node says in the file itself why it stops (a stop already under way is logged).
  const controllerGone = (why: string): void => {
    if (!stopping) noteInOwnLog(config, `the controller is gone (${why}): shutting down; the lines after this one are not recorded`);
    shutdown(`${why} (controller gone)`);
  };
  process.stdin.on('end', () => controllerGone('stdin closed'));
  process.stdin.on('error', () => controllerGone('stdin failed'));
  process.stdin.resume();

  process.stdout.write(`${NODE_READY_PREFIX}${JSON.stringify({ id: config.id, port: server.port, pid: process.pid })}\n`);
}

process.on('uncaughtException', (err) => {
  process.stderr.write(`fatal: ${err.stack ?? err.message}\n`);
  process.exit(EXIT.failed);
});
process.on('unhandledRejection', (err) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(EXIT.failed);
});

run().catch((err: unknown) => {
  process.stderr.write(`node failed to start: ${damageAdvice(err)}\n`);
  process.exit(EXIT.failed);
});

/** Appends one warning to the node's log file directly, as the logger writes it; best effort. */
function noteInOwnLog(config: NodeConfig, message: string): void {
  try {
    createLogger(config.id, 'warn', (line) => appendFileSync(join(config.dataDir, NODE_LOG_FILE), line)).warn(message);
  } catch {
    // Nothing else can be done: the controller that would show an error is gone too.
  }
}

/** Damage on disk does not go away with a retry: the message says what can be done about it. */
function damageAdvice(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (!(err instanceof CorruptionError)) return message;
  return `${message}. The file is left as it is: restore it from a copy, or move this node's folder away and start it again, `
    + 'which then starts empty and takes the data back from its peers (writes that no other node holds are lost)';
}

/**
 * When a controller dies, its nodes see their stdin close and shut down gracefully, which takes
 * a moment; a controller restarted at once (the extension does that) spawns the same node ids on
 * the same folders meanwhile. The new node waits for its predecessor to release the folder
 * instead of failing; a folder held for longer than that is a real conflict and is reported.
 */
async function openWaitingForPredecessor(config: NodeConfig, token: string, logger: Logger, beforeReplay: Parameters<typeof RingNode.open>[3]): Promise<RingNode> {
  const deadline = Date.now() + PREDECESSOR_WAIT_MS;
  for (;;) {
    try {
      return await RingNode.open(config, token, logger, beforeReplay);
    } catch (err) {
      if (!(err instanceof LockedError) || Date.now() > deadline) throw err;
      logger.info(`waiting for process ${err.holderPid ?? '?'} to release ${err.dir}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

const PREDECESSOR_WAIT_MS = 15_000;
