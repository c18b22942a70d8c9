// The router process of a cluster whose spec has `router: { port }`: spawned after the nodes, with
// a small config file (controller address, token file, host, port), supervised with the node
// process code (same ready line, log file, stdin pipe, so it dies with the controller).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../client/state-file';
import { dialAddress } from './member';
import { NodeProcess } from './node-process';

export interface RouterOptions {
  dataDir: string;
  /** Node arguments that run the router entry. */
  scriptArgs: string[];
  controllerAddress: string;
  tokenFile: string;
  host: string;
  port: number;
  readyTimeoutMs: number;
}

export interface RunningRouter {
  process: NodeProcess;
  /** host:port clients dial. */
  address: string;
  logFile: string;
}

export async function startRouter(opts: RouterOptions): Promise<RunningRouter> {
  const dir = join(opts.dataDir, 'router');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const configFile = join(dir, 'router-config.json');
  const logFile = join(dir, 'router.log');
  const config = { controllerAddress: opts.controllerAddress, tokenFile: opts.tokenFile, host: opts.host, port: opts.port };
  writeFileAtomic(configFile, `${JSON.stringify(config, null, 2)}\n`, 0o600);
  const proc = new NodeProcess({ id: 'router', scriptArgs: opts.scriptArgs, configFile, logFile, readyTimeoutMs: opts.readyTimeoutMs });
  try {
    const ready = await proc.ready;
    return { process: proc, address: dialAddress(opts.host, ready.port), logFile };
  } catch (err) {
    await proc.kill();
    throw err;
  }
}
