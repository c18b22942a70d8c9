// consistencyMode "vector" from the command line: `ringdb siblings <key>` shows every sibling of a
// key with its clock and the causal context that supersedes them; `ringdb vput` writes (or, with
// --delete, deletes) naming that context, so one write resolves the siblings it read.

import { UsageError, type CommandSpec, type Parsed } from './args';
import type { Result } from './commands';
import { dirOption, nodeOption, onNode } from './convergence-commands';
import { table } from './format';

const EXIT_OK = 0;
const vectorDetails = ['The cluster spec\'s consistencyMode must be "vector". Any node answers: it merges the siblings of R replicas.'];

export const VECTOR_COMMANDS: CommandSpec[] = [
  {
    name: 'siblings', args: ['key'], summary: 'every sibling of a key with its vector clock, and the context to write with (vector mode)',
    options: [{ name: 'r', kind: 'int', min: 1, max: 1024, value: 'n', help: 'replicas to merge (default: the cluster\'s readQuorum)' }, nodeOption, dirOption],
    details: [...vectorDetails, 'Pass the printed context to `ringdb vput --context` to replace every sibling shown.'],
  },
  {
    name: 'vput', args: ['key', 'value?'], summary: 'write a key naming the causal context it read (vector mode)',
    options: [
      { name: 'context', kind: 'string', value: 'token', help: 'context printed by `ringdb siblings` (default: none, which adds a sibling)' },
      { name: 'delete', kind: 'flag', help: 'write a delete (tombstone sibling) instead of a value' },
      { name: 'w', kind: 'int', min: 1, max: 1024, value: 'n', help: 'acknowledgements to wait for (default: the cluster\'s writeQuorum)' },
      nodeOption, dirOption,
    ],
    details: [...vectorDetails, 'Give either a value or --delete. The new version supersedes exactly the siblings the context covers.'],
  },
];

export function isVectorCommand(command: string): boolean {
  return VECTOR_COMMANDS.some((c) => c.name === command);
}

const clockText = (clock: Record<string, number>): string => `{${Object.keys(clock).sort().map((n) => `${n}:${clock[n]}`).join(', ')}}`;

async function siblings(p: Parsed): Promise<Result> {
  const [key] = p.args;
  const r = p.options.get('r');
  return onNode(p, async (conv, nodeId) => {
    const read = await conv.siblings(key, { r: typeof r === 'number' ? r : undefined });
    const rows = read.siblings.map((s) => [s.value === null ? '-' : s.value.toString('utf8'), clockText(s.clock), s.value === null ? 'yes' : '']);
    const human = read.siblings.length === 0
      ? '(no siblings: the key was never written)'
      : `${table(['VALUE', 'CLOCK', 'TOMBSTONE'], rows)}\ncontext: ${read.context}`;
    const json = {
      key, node: nodeId, context: read.context, replicas: read.replicas,
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
  const w = p.options.get('w');
  return onNode(p, async (conv, nodeId) => {
    const r = await conv.vectorPut(key, del ? null : value, typeof context === 'string' ? context : '', { w: typeof w === 'number' ? w : undefined });
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
