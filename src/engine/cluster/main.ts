// The controller process (dist/engine/controller.js): serves ControlService on loopback for one
// data folder. Attached (the extension's way) it exits when its stdin closes, like a language
// server; detached (`ringdb start`) it runs until StopCluster + SIGTERM. Either way it stops every
// node on SIGTERM/SIGINT, and nodes die with it even on SIGKILL (their stdin pipes close).

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ControlServiceService } from '../gen/ringdb/v1/control';
import { CONTROLLER_READY, scriptArgs } from '../client/launch';
import { isProcessAlive, readStateFile, removeStateFile, TOKEN_FILE, writeFileAtomic, writeStateFile } from '../client/state-file';
import { startServer } from '../rpc/server';
import { Cluster } from './cluster';
import { ControlServiceImpl } from './service';

interface Args {
  dataDir: string;
  nodeScript: string;
  routerScript: string;
  detached: boolean;
  statsIntervalMs: number;
  readyTimeoutMs: number;
  stopGraceMs: number;
}

const USAGE = 'usage: controller --data-dir <dir> [--node-script <file>] [--router-script <file>] [--detached] [--stats-interval-ms 1000] [--ready-timeout-ms 30000] [--stop-grace-ms 10000]';

function usage(problem: string): never {
  process.stderr.write(`controller: ${problem}\n${USAGE}\n`);
  process.exit(2);
}

function defaultNodeScript(): string {
  return __filename.endsWith('.ts') ? join(__dirname, '..', 'node', 'main.ts') : join(__dirname, 'node.js');
}

function defaultRouterScript(): string {
  return __filename.endsWith('.ts') ? join(__dirname, '..', 'client', 'router-main.ts') : join(__dirname, 'router.js');
}

function parseArgs(argv: string[]): Args {
  const a: Args = { dataDir: '', nodeScript: defaultNodeScript(), routerScript: defaultRouterScript(), detached: false, statsIntervalMs: 1000, readyTimeoutMs: 30_000, stopGraceMs: 10_000 };
  const int = (flag: string, v: string | undefined, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) usage(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--data-dir': a.dataDir = resolve(value()); break;
      case '--node-script': a.nodeScript = resolve(value()); break;
      case '--router-script': a.routerScript = resolve(value()); break;
      case '--detached': a.detached = true; break;
      case '--stats-interval-ms': a.statsIntervalMs = int(flag, value(), 50, 60_000); break;
      case '--ready-timeout-ms': a.readyTimeoutMs = int(flag, value(), 1000, 600_000); break;
      case '--stop-grace-ms': a.stopGraceMs = int(flag, value(), 100, 600_000); break;
      default: usage(`unknown argument ${JSON.stringify(flag)}`);
    }
  }
  if (!a.dataDir) usage('--data-dir is required');
  if (!existsSync(a.nodeScript)) usage(`node script ${a.nodeScript} does not exist; build with \`npm run build\` or pass --node-script`);
  return a;
}

function otherController(dataDir: string): string | undefined {
  try {
    const s = readStateFile(dataDir);
    if (s.pid !== process.pid && isProcessAlive(s.pid)) return `${dataDir} is already served by the controller at ${s.address} (pid ${s.pid})`;
  } catch {
    // No state file, or a damaged one: nobody serves this folder.
  }
  return undefined;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  mkdirSync(args.dataDir, { recursive: true, mode: 0o700 });
  const busy = otherController(args.dataDir);
  if (busy) {
    process.stderr.write(`controller: ${busy}; stop it first (ringdb stop)\n`);
    process.exit(1);
  }
  const tokenFile = join(args.dataDir, TOKEN_FILE);
  const token = randomBytes(32).toString('hex');
  writeFileAtomic(tokenFile, `${token}\n`, 0o600);

  const cluster = new Cluster({
    dataDir: args.dataDir, token, tokenFile, nodeScriptArgs: scriptArgs(args.nodeScript), routerScriptArgs: scriptArgs(args.routerScript),
    statsIntervalMs: args.statsIntervalMs, readyTimeoutMs: args.readyTimeoutMs, stopGraceMs: args.stopGraceMs,
  });
  const service = new ControlServiceImpl(cluster);
  const server = await startServer('127.0.0.1', 0, token, [{ definition: ControlServiceService, implementation: service.implementation() }]);
  const address = `127.0.0.1:${server.port}`;
  cluster.controllerAddress = address;
  writeStateFile(args.dataDir, { address, pid: process.pid, startedAtUnixMs: Date.now(), dataDir: args.dataDir, detached: args.detached });

  let stopping = false;
  const shutdown = (why: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`controller: ${why}; stopping every node`);
    service.endStreams();
    void cluster.shutdown()
      .then(() => server.stop(1000))
      .finally(() => {
        removeStateFile(args.dataDir, process.pid);
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  if (!args.detached) {
    process.stdin.on('end', () => shutdown('stdin closed'));
    process.stdin.on('error', () => shutdown('stdin failed'));
    process.stdin.resume();
  }
  console.log(`${CONTROLLER_READY} ${JSON.stringify({ port: server.port, pid: process.pid })}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`controller: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
