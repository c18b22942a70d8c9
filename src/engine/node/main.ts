// The node process: `node dist/engine/node.js --config <file.json>`. Composition root: reads
// and validates the config and the token, opens the node, serves NodeService, prints the one
// ready line on stdout, and shuts down gracefully on SIGTERM/SIGINT or when stdin closes (the
// controller holds the other end, so a node never outlives a killed controller).

import { readFileSync } from 'node:fs';
import { ConvergenceServiceService } from '../gen/ringdb/v1/convergence';
import { NodeServiceService, PeerState } from '../gen/ringdb/v1/node';
import { readTokenFile, startServer, type RunningServer } from '../rpc';
import { ConfigError, NODE_READY_PREFIX, validateNodeConfig, type NodeConfig } from './config';
import { parseCrdtConfig } from '../crdt/registry';
import { Convergence } from './convergence/convergence';
import { CrdtMode } from './convergence/crdt-mode';
import { CrdtHandlers } from './convergence/crdt-service';
import { convergenceService } from './convergence/service';
import { SecondaryIndexes } from './indexes/secondary';
import { createLogger, type Logger } from './logger';
import { LockedError } from '../storage';
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
  const node = await openWaitingForPredecessor(config, token, logger);
  const partitioning = PartitionLayer.open(node, logger);
  let server: RunningServer;
  let convergence: Convergence;
  try {
    node.observed.enableCache(config.cacheSize ?? 0);
    const mode = config.consistencyMode ?? 'lww';
    const crdt = mode === 'crdt' ? new CrdtMode({
      nodeId: config.id, types: parseCrdtConfig(config.crdt), read: (key) => node.observed.get(key), tick: () => node.replica.clock.tick(),
      writeLocal: (key, state) => node.replica.writeLocal([{ key, value: state }]).then(() => undefined),
    }) : undefined;
    if (crdt) node.observed.resolveWith((ops) => crdt.resolve(ops));
    convergence = new Convergence({
      nodeId: config.id, token, store: node.store, observed: node.observed, observeTs: (ts) => node.replica.clock.observe(ts),
      peers: () => node.peers.views().map((p) => ({ id: p.id, address: p.address, down: p.state === PeerState.PEER_STATE_DOWN })),
      intervalMs: config.antiEntropyIntervalMs, logger, versionOf: crdt && ((e) => crdt.versionOf(e)),
      holdsKey: (key) => partitioning.partitions.replicates(config.id, key),
      fullReplication: () => {
        const map = partitioning.partitions.map;
        return !map || map.replicationFactor >= map.nodes.length;
      },
    });
    server = await startServer(config.host, config.port, token, [
      { definition: NodeServiceService, implementation: nodeService(node, logger, partitioning) },
      { definition: ConvergenceServiceService, implementation: convergenceService(convergence, new CrdtHandlers(crdt, mode), new SecondaryIndexes(config.indexFields ?? [], node.store, node.observed)) },
    ]);
  } catch (err) {
    await node.close();
    throw err;
  }
  const hostPart = config.host.includes(':') ? `[${config.host}]` : config.host;
  partitioning.start();
  node.start(`${hostPart}:${server.port}`);
  convergence.start();

  let stopping: Promise<void> | undefined;
  const shutdown = (why: string) => {
    stopping ??= (async () => {
      logger.info(`shutting down: ${why}`);
      setTimeout(() => {
        logger.error('shutdown took too long; exiting without finishing it');
        process.exit(EXIT.failed);
      }, SHUTDOWN_TIMEOUT_MS).unref();
      await server.stop();
      await convergence.close();
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
  process.stdin.on('end', () => shutdown('stdin closed (controller gone)'));
  process.stdin.on('error', () => shutdown('stdin failed (controller gone)'));
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
  process.stderr.write(`node failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(EXIT.failed);
});

/**
 * When a controller dies, its nodes see their stdin close and shut down gracefully, which takes
 * a moment; a controller restarted at once (the extension does that) spawns the same node ids on
 * the same folders meanwhile. The new node waits for its predecessor to release the folder
 * instead of failing; a folder held for longer than that is a real conflict and is reported.
 */
async function openWaitingForPredecessor(config: NodeConfig, token: string, logger: Logger): Promise<RingNode> {
  const deadline = Date.now() + PREDECESSOR_WAIT_MS;
  for (;;) {
    try {
      return await RingNode.open(config, token, logger);
    } catch (err) {
      if (!(err instanceof LockedError) || Date.now() > deadline) throw err;
      logger.info(`waiting for process ${err.holderPid ?? '?'} to release ${err.dir}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

const PREDECESSOR_WAIT_MS = 15_000;
