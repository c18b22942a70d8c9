// The config file a node process gets (`--config`), derived from the cluster spec and the current
// membership. It is checked with the node's own validator before it is written, so a mismatch
// between spec and node shows up as a controller error naming the field, not as a dead node.

import { join } from 'node:path';
import { NODE_LOG_FILE, validateNodeConfig, type NodeConfig, type PeerConfig } from '../node/config';
import { writeFileAtomic } from '../client/state-file';
import type { ClusterSpec } from '../spec/types';

export const NODE_CONFIG_FILE = 'node-config.json';

export interface NodeFiles {
  dir: string;
  configFile: string;
  logFile: string;
}

export function nodeFiles(dataDir: string, id: string): NodeFiles {
  const dir = join(dataDir, id);
  return { dir, configFile: join(dir, NODE_CONFIG_FILE), logFile: join(dir, NODE_LOG_FILE) };
}

export interface NodeConfigInput {
  spec: ClusterSpec;
  id: string;
  files: NodeFiles;
  port: number;
  tokenFile: string;
  /** Every other node with a known address. */
  peers: PeerConfig[];
  /** Forwarding map over the nodes; null = full mesh. Only ids of known peers may appear. */
  topology: Record<string, string[]> | null;
  /** The id is new to the cluster (NodeConfig.newMember). */
  newMember: boolean;
}

export function writeNodeConfig(input: NodeConfigInput): NodeConfig {
  const { spec } = input;
  const config = validateNodeConfig({
    id: input.id,
    dataDir: input.files.dir,
    host: spec.host,
    port: input.port,
    tokenFile: input.tokenFile,
    peers: input.peers,
    topology: input.topology,
    storage: { ...spec.storage },
    heartbeatIntervalMs: spec.heartbeatIntervalMs,
    antiEntropyIntervalMs: spec.antiEntropyIntervalMs,
    replicationBacklogOps: spec.replicationBacklogOps,
    merkleIntervalMs: spec.merkleIntervalMs,
    logLevel: spec.logLevel,
    // N/W/R as the spec validator resolved them (capped by the node count); forwarding and read balancing as given.
    replicationFactor: spec.replicationFactor,
    writeQuorum: spec.writeQuorum,
    readQuorum: spec.readQuorum,
    enableForwarding: spec.enableForwarding,
    loadBalanceReads: spec.loadBalanceReads,
    speculativeRetry: spec.speculativeRetry,
    consistencyMode: spec.consistencyMode,
    crdt: spec.crdt,
    cacheSize: spec.cacheSize,
    indexFields: spec.indexFields,
    globalIndexFields: spec.globalIndexFields,
    newMember: input.newMember,
    // updateMembership (cluster.ts) follows every start.
    awaitMembership: true,
  });
  writeFileAtomic(input.files.configFile, `${JSON.stringify(config, null, 2)}\n`, 0o600);
  return config;
}
