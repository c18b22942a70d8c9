// Replication topologies. Ops are forwarded along the topology's edges, so a topology is only
// usable when every node can reach every other one: otherwise some replicas would never converge.

import type { TopologySpec } from './types';

export interface TopologyProblem {
  field: string;
  message: string;
}

/** Problems of an explicit node -> destinations map over the given node ids. */
export function checkTopology(map: Record<string, string[]>, nodeIds: readonly string[]): TopologyProblem[] {
  const problems: TopologyProblem[] = [];
  const known = `a node of this cluster (${nodeIds.join(', ')})`;
  for (const [from, to] of Object.entries(map)) {
    if (!nodeIds.includes(from)) {
      problems.push({ field: `topology.${from}`, message: `unknown node; keys must be ${known}` });
      continue;
    }
    const seen = new Set<string>();
    to.forEach((dest, i) => {
      const field = `topology.${from}[${i}]`;
      if (!nodeIds.includes(dest)) problems.push({ field, message: `must be ${known}, got "${dest}"` });
      else if (dest === from) problems.push({ field, message: 'a node cannot forward to itself' });
      else if (seen.has(dest)) problems.push({ field, message: `"${dest}" is listed twice` });
      seen.add(dest);
    });
  }
  if (problems.length) return problems;
  for (const from of nodeIds) {
    const reached = reachable(map, from);
    const missing = nodeIds.filter((id) => !reached.has(id));
    if (missing.length) {
      problems.push({
        field: 'topology',
        message: `ops written on ${from} never reach ${missing.join(', ')}; every node must reach every other node along the topology's edges`,
      });
      break;
    }
  }
  return problems;
}

function reachable(map: Record<string, string[]>, from: string): Set<string> {
  const seen = new Set([from]);
  const queue = [from];
  while (queue.length) {
    for (const next of map[queue.shift() as string] ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

/** The forwarding map a node gets: null is the full mesh; presets are laid over the ids in order
 *  (ring: each to the next; star: the first to all, all to the first). */
export function expandTopology(topology: TopologySpec, nodeIds: readonly string[]): Record<string, string[]> | null {
  if (topology === null || topology === 'mesh') return null;
  if (topology === 'ring') {
    if (nodeIds.length < 2) return null;
    return Object.fromEntries(nodeIds.map((id, i) => [id, [nodeIds[(i + 1) % nodeIds.length]]]));
  }
  if (topology === 'star') {
    if (nodeIds.length < 2) return null;
    const [hub, ...rest] = nodeIds;
    return { [hub]: [...rest], ...Object.fromEntries(rest.map((id) => [id, [hub]])) };
  }
  return Object.fromEntries(nodeIds.map((id) => [id, (topology[id] ?? []).filter((d) => nodeIds.includes(d))]));
}
