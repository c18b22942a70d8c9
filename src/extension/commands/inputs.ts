// Inputs of commands: every command takes its values from arguments (tree items or plain
// objects, so tests need no input boxes) and asks, with validation as the user types, only for
// what is missing.
import * as vscode from 'vscode';
import type { ClusterModel } from '../model/clusterModel';
import { firstAnswering, type NodeStatus } from '../model/types';
import { UserError } from '../controller/clusterSession';

/** The engine accepts keys of 1 to 64 KiB (UTF-8 here). */
const MAX_KEY_BYTES = 64 * 1024;
/** Values typed in an input box; larger ones belong in a script using the CLI. */
const MAX_INPUT_VALUE_BYTES = 1024 * 1024;

/** Plain-object arguments any command may receive (from tests, links or other extensions). */
export interface CommandArgs {
  node?: string;
  key?: string;
  value?: string;
  start?: string;
  end?: string;
  limit?: number;
  nodes?: number;
  /** Remove Node: the node is down for good; remove it without asking (scripts and tests). */
  dead?: boolean;
  /** Scan Partition: one partition's keys (as from its row in the Partitions view). */
  partition?: number | string;
  /** Return the result without opening a document (scripts and tests). */
  quiet?: boolean;
  /** Query Index: the indexed JSON field and the value to match. */
  field?: string;
  /**
   * Show Running Cluster: only if a controller `ringdb start` launched serves the folder, and
   * silently nothing otherwise (what the extension asks when it activates).
   */
  ifRunning?: boolean;
  /** Cancels the command's wait like the Cancel button of its progress notification. */
  cancellation?: vscode.CancellationToken;
}

/** The node a tree item or an argument names, if any. */
export function nodeArg(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object') {
    const o = arg as { node?: unknown; nodeId?: unknown };
    if (typeof o.nodeId === 'string') return o.nodeId;
    if (typeof o.node === 'string') return o.node;
    if (o.node && typeof o.node === 'object' && typeof (o.node as { id?: unknown }).id === 'string') return (o.node as { id: string }).id;
  }
  return undefined;
}

export function argsOf(arg: unknown): CommandArgs {
  return arg && typeof arg === 'object' && !(arg instanceof vscode.TreeItem) ? (arg as CommandArgs) : {};
}

/** The key a tree row stands for (a hint's key in the Hints view), by its `getKey`. */
export function treeKeyArg(arg: unknown): string | undefined {
  const k = arg instanceof vscode.TreeItem ? (arg as { getKey?: unknown }).getKey : undefined;
  return typeof k === 'string' ? k : undefined;
}

export function validateKey(key: string): string | undefined {
  if (!key) return 'A key is required (1 to 64 KiB of text).';
  // Valid bytes to the engine, but a key no one can see in a view or type again the same way.
  if (!key.trim()) return 'A key of only spaces would be invisible in the views; use at least one visible character.';
  const n = Buffer.byteLength(key, 'utf8');
  if (n > MAX_KEY_BYTES) return `The key is ${n} bytes; at most ${MAX_KEY_BYTES} are accepted.`;
  return undefined;
}

export function validateValue(value: string): string | undefined {
  const n = Buffer.byteLength(value, 'utf8');
  return n > MAX_INPUT_VALUE_BYTES ? `The value is ${n} bytes; at most ${MAX_INPUT_VALUE_BYTES} can be typed here.` : undefined;
}

/** Rejects bad argument values with the same messages the input boxes show. */
export function checked(value: string, validate: (v: string) => string | undefined, field: string): string {
  const problem = validate(value);
  if (problem) throw new UserError(`Invalid ${field}: ${problem}`, `Pass a valid ${field}.`);
  return value;
}

/** Asks for a text; undefined when the person cancelled. */
export async function askText(prompt: string, validate: (v: string) => string | undefined, value = ''): Promise<string | undefined> {
  return vscode.window.showInputBox({ prompt, value, validateInput: validate, ignoreFocusOut: true });
}

/** The node from the argument, or a quick pick over nodes in one of `statuses`. */
export async function pickNode(model: ClusterModel, arg: unknown, title: string, statuses?: readonly NodeStatus[]): Promise<string | undefined> {
  const given = nodeArg(arg);
  if (given) {
    if (!model.node(given)) {
      throw new UserError(`There is no node "${given}".`, `Nodes are: ${model.snapshot.nodes.map((n) => n.id).join(', ') || 'none'}.`);
    }
    return given;
  }
  const nodes = model.snapshot.nodes.filter((n) => !statuses || statuses.includes(n.status));
  if (!nodes.length) {
    throw new UserError(`No node can be used for "${title}".`, statuses ? `It needs a node that is ${statuses.join(' or ')}.` : 'Start a cluster first.');
  }
  const pick = await vscode.window.showQuickPick(
    nodes.map((n) => ({ label: n.id, description: `${n.status} · ${n.address}`, detail: n.reason || undefined })),
    { title: `RingDB: ${title}`, placeHolder: 'Pick a node' },
  );
  return pick?.label;
}

/** A node to send a data-plane request to: the argument's, else the first one that is up, else the first suspect one. */
export function coordinatorFor(model: ClusterModel, arg: unknown): string {
  const given = nodeArg(arg);
  if (given) return given;
  const up = firstAnswering(model.snapshot.nodes.map((n) => n.id), (id) => model.node(id)?.status);
  if (!up) throw new UserError('No node is up to take the request.', 'Restart a node ("RingDB: Restart Node") or start the cluster.');
  return up;
}
