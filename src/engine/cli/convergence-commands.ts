// `ringdb repair [node]`: runs a Merkle anti-entropy round now on one node or on every node that
// is up, each against all its peers. The controller only tells where the nodes are; the rounds
// are the nodes' own (ConvergenceService), so this works whatever the controller is doing.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ControllerClient, RingDbError, defaultClusterSpec, loadClusterSpecFile } from '../client';
import { ConvergenceClient, type RepairReport } from '../client/convergence-client';
import type { CommandSpec, Parsed } from './args';
import type { Result } from './commands';

const EXIT_OK = 0;
const EXIT_FAILED = 1;

const dirOption = { name: 'dir', kind: 'string', value: 'folder', help: 'data folder of the cluster (default: the spec\'s dataDir, .ringdb/data)' } as const;
const SPEC_FILE = join('.ringdb', 'cluster.json');

/** --dir, else the dataDir of this folder's spec, else the default one (as the other commands do). */
function dataDir(p: Parsed): string {
  const dir = p.options.get('dir');
  if (typeof dir === 'string') return dir;
  return (existsSync(SPEC_FILE) ? loadClusterSpecFile(SPEC_FILE) : defaultClusterSpec()).dataDir;
}

export const CONVERGENCE_COMMANDS: CommandSpec[] = [
  {
    name: 'repair', args: ['node?'], summary: 'run Merkle anti-entropy now (on one node, or on every node that is up)', options: [dirOption],
    details: ['Each node compares its Merkle tree with every peer\'s and exchanges only the keys that differ.'],
  },
];

export function isConvergenceCommand(command: string): boolean {
  return CONVERGENCE_COMMANDS.some((c) => c.name === command);
}

function describeReport(r: RepairReport): string {
  const lines = r.peers.map((p) => {
    if (!p.ok) return `  ${r.nodeId} <-> ${p.peer}: failed: ${p.error}`;
    if (p.rootsMatched) return `  ${r.nodeId} <-> ${p.peer}: in sync (roots match)`;
    return `  ${r.nodeId} <-> ${p.peer}: sent ${p.keysSent}, received ${p.keysReceived} keys; ${p.bucketsCompared} buckets compared; ${p.bytesSent + p.bytesReceived} bytes`;
  });
  return [`${r.nodeId}: ${r.peers.length} peer${r.peers.length === 1 ? '' : 's'} in ${r.durationMs} ms`, ...lines].join('\n');
}

async function repair(p: Parsed): Promise<Result> {
  const controller = ControllerClient.fromDataDir(dataDir(p));
  try {
    const cluster = await controller.describe();
    const wanted = p.args[0];
    const ids = wanted ? [wanted] : cluster.nodes.filter((n) => n.state === 'up').map((n) => n.id);
    if (ids.length === 0) throw new RingDbError('unavailable', 'no node is up; restart one with `ringdb restart <node>`');
    const reports: RepairReport[] = [];
    for (const id of ids) {
      const node = await controller.nodeClient(id);
      node.close();
      const conv = new ConvergenceClient(node.target);
      try {
        reports.push(await conv.repair());
      } finally {
        conv.close();
      }
    }
    const failed = reports.some((r) => r.peers.some((x) => !x.ok));
    return { code: failed ? EXIT_FAILED : EXIT_OK, human: reports.map(describeReport).join('\n'), json: { reports } };
  } finally {
    controller.close();
  }
}

export function runConvergenceCommand(p: Parsed): Promise<Result> {
  return repair(p);
}
