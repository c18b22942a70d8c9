// The router process (dist/engine/router.js), started by the controller when the cluster spec has
// `router: { port }`. It reads its config file, connects a Driver to the controller, serves the
// NodeService data plane on the configured port, and prints the same ready line as a node so the
// controller supervises it with the same code. Like a node, it exits when its stdin closes (the
// controller died) or on SIGTERM.

import { readFileSync } from 'node:fs';
import { parseCrdtConfig } from '../crdt/registry';
import type { CrdtName } from '../crdt/types';
import { readTokenFile } from '../rpc/auth';
import { ControllerClient } from './controller-client';
import { Driver } from './driver';
import { Router } from './router';

/** A node's ready line: the controller supervises the router with its node-process code. */
const READY_PREFIX = 'RINGDB_NODE_READY ';

export interface RouterConfig {
  /** host:port of the controller. */
  controllerAddress: string;
  tokenFile: string;
  host: string;
  /** 0 = the OS picks. */
  port: number;
}

function fail(problem: string): never {
  process.stderr.write(`router: ${problem}\nusage: router --config <router-config.json>\n`);
  process.exit(2);
}

function readConfig(argv: string[]): RouterConfig {
  if (argv.length !== 2 || argv[0] !== '--config') fail(`expected --config <file>, got ${JSON.stringify(argv.join(' '))}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(argv[1], 'utf8'));
  } catch (err) {
    fail(`cannot read ${argv[1]}: ${(err as Error).message}`);
  }
  const c = raw as Partial<RouterConfig>;
  const problems: string[] = [];
  if (typeof c.controllerAddress !== 'string' || !/^[^\s]+:\d{1,5}$/.test(c.controllerAddress)) problems.push(`controllerAddress must be host:port, got ${JSON.stringify(c.controllerAddress)}`);
  if (typeof c.tokenFile !== 'string' || !c.tokenFile) problems.push('tokenFile must be a file name');
  if (typeof c.host !== 'string' || !c.host) problems.push('host must be a host name or address');
  if (typeof c.port !== 'number' || !Number.isInteger(c.port) || c.port < 0 || c.port > 65535) problems.push(`port must be an integer from 0 to 65535, got ${JSON.stringify(c.port)}`);
  if (problems.length) fail(`invalid config ${argv[1]}: ${problems.join('; ')}`);
  return c as RouterConfig;
}

/** The CRDT keys of a crdt-mode cluster's spec (fixed for the controller's life, as the router's is). */
async function crdtKeysOf(controller: ControllerClient): Promise<ReadonlyMap<string, CrdtName>> {
  const { specJson } = await controller.describe();
  const spec = (specJson ? JSON.parse(specJson) : {}) as { consistencyMode?: string; crdt?: unknown };
  return spec.consistencyMode === 'crdt' ? parseCrdtConfig(spec.crdt) : new Map();
}

async function main(): Promise<void> {
  const config = readConfig(process.argv.slice(2));
  const token = readTokenFile(config.tokenFile);
  const controller = new ControllerClient({ address: config.controllerAddress, token });
  const driver = await Driver.connect(controller);
  const server = await new Router(driver, await crdtKeysOf(controller)).serve(config.host, config.port);
  let stopping = false;
  const shutdown = (why: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`router: ${why}; stopping`);
    driver.close();
    controller.close();
    void server.stop(1000).finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin failed'));
  process.stdin.resume();
  console.log(`${READY_PREFIX}${JSON.stringify({ id: 'router', port: server.port, pid: process.pid })}`);
}

main().catch((err: unknown) => {
  // The stack for the log, then the message last: the controller reports the last line it saw.
  if (err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.stderr.write(`router failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
