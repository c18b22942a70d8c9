// consistencyMode "vector" from the command line: `ringdb siblings <key>` shows every sibling of a
// key with its clock and the causal context that supersedes them; `ringdb vput` writes (or, with
// --delete, deletes) naming that context, so one write resolves the siblings it read.

import { UsageError, type CommandSpec, type Parsed } from './args';
import { placementOf, quorumArg } from './cluster-facts';
import type { Result } from './commands';
import { dirOption, nodeOption, onNode } from './convergence-commands';
import { table } from './format';
import { OWN_COPY_ASK_MS, clockText } from './own-copies';

const EXIT_OK = 0;
const vectorDetails = ['The cluster spec\'s consistencyMode must be "vector". Any node answers: it merges the siblings of R replicas.'];

export const VECTOR_COMMANDS: CommandSpec[] = [
  {
    name: 'siblings', args: ['key'], summary: 'every sibling of a key with its vector clock, and the context to write with (vector mode)',
    options: [
      // The cluster's N bounds --r and --w (quorumArg), so 0 and N+1 get the words put and get use: no range here.
      { name: 'r', kind: 'int', value: 'n', help: 'replicas to merge, 1..N (default: the cluster\'s readQuorum)' },
      { name: 'local', kind: 'flag', help: 'with --node: that node\'s own siblings only, without a quorum' },
      nodeOption, dirOption,
    ],
    details: [
      ...vectorDetails, 'Pass the printed context to `ringdb vput --context` to replace every sibling shown.',
      'With --local --node n2, n2 answers from its own store alone: replicas may hold different siblings until replication and repair catch up (`ringdb where <key>` shows every replica\'s).',
    ],
  },
  {
    name: 'vput', args: ['key', 'value?'], summary: 'write a key naming the causal context it read (vector mode)',
    options: [
      { name: 'context', kind: 'string', value: 'token', help: 'context printed by `ringdb siblings` (default: none, which adds a sibling)' },
      { name: 'delete', kind: 'flag', help: 'write a delete (tombstone sibling) instead of a value' },
      { name: 'w', kind: 'int', value: 'n', help: 'acknowledgements to wait for, 1..N (default: the cluster\'s writeQuorum)' },
      nodeOption, dirOption,
    ],
    details: [...vectorDetails, 'Give either a value or --delete. The new version supersedes exactly the siblings the context covers.'],
  },
];

export function isVectorCommand(command: string): boolean {
  return VECTOR_COMMANDS.some((c) => c.name === command);
}

async function siblings(p: Parsed): Promise<Result> {
  const [key] = p.args;
  const local = p.options.get('local') === true;
  if (local && p.options.get('node') === undefined) throw new UsageError('--local reads one node\'s own siblings: name the node with --node <id>', 'siblings');
  if (local && p.options.has('r')) throw new UsageError('--local reads one node\'s own siblings; --r merges several replicas\': give one or the other', 'siblings');
  return onNode(p, async (conv, nodeId, controller) => {
    const r = p.options.has('r') ? quorumArg(p, 'r', await controller.getPartitionMap()) : undefined;
    const read = await conv.siblings(key, local ? { direct: true, timeoutMs: OWN_COPY_ASK_MS } : { r });
    const rows = read.siblings.map((s) => [s.value === null ? '-' : s.value.toString('utf8'), clockText(s.clock), s.value === null ? 'yes' : '']);
    const placed = local ? await placementOf(controller, key) : undefined;
    const replica = !placed || placed.replicas.includes(nodeId);
    const outside = replica ? '' : `\n(${nodeId} is not a replica of ${JSON.stringify(key)} (replicas ${placed!.replicas.join(', ')}): what it holds is a hint for a replica that was down)`;
    const human = read.siblings.length === 0
      ? local ? `(no siblings in ${nodeId}'s own copy)${outside}` : '(no siblings: the key was never written)'
      : `${table(['VALUE', 'CLOCK', 'TOMBSTONE'], rows)}\ncontext: ${read.context}${local ? `\n(${nodeId}'s own siblings; the context covers only them)` : ''}${outside}`;
    const json = {
      key, node: nodeId, context: read.context, replicas: read.replicas, ...(local ? { local: true, replica } : {}),
      siblings: read.siblings.map((s) => ({ value: s.value === null ? null : s.value.toString('utf8'), deleted: s.value === null, clock: s.clock, dot: s.dot })),
    };
    return { code: EXIT_OK, human, json };
  });
}

async function vput(p: Parsed): Promise<Result> {
  const [key, value] = p.args;
  const del = p.options.get('delete') === true;
  if (del === (value !== undefined)) throw new UsageError(del ? '--delete takes no value' : 'give a value, or --delete', 'vput');
  const context = p.options.get('context');
  return onNode(p, async (conv, nodeId, controller) => {
    const w = p.options.has('w') ? quorumArg(p, 'w', await controller.getPartitionMap()) : undefined;
    const r = await conv.vectorPut(key, del ? null : value, typeof context === 'string' ? context : '', { w });
    const what = del ? 'deleted' : 'written';
    return {
      code: EXIT_OK,
      human: `${what} as version ${r.dot.node}:${r.dot.counter} (acknowledged by ${r.replicas.join(', ')})`,
      json: { key, node: nodeId, deleted: del, dot: r.dot, replicas: r.replicas, opId: r.opId },
    };
  });
}

export function runVectorCommand(p: Parsed): Promise<Result> {
  return p.command === 'siblings' ? siblings(p) : vput(p);
}
