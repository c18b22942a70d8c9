// Consistency levels for this workspace's requests (kept across reloads, shown in the status bar), as cqlsh's CONSISTENCY sets them for a session:
// ONE, QUORUM or ALL of a key's N replicas, or the cluster's configured W and R. Put and Delete
// send the W they give; Get judges the replicas' answers against the R they give. Kept as level
// names, not numbers, so they mean the same on a cluster with another replication factor.
import * as vscode from 'vscode';
import { Commands } from '../common/commandIds';
import { Disposable } from '../common/lifecycle';
import type { Log } from '../common/log';
import { UserError } from '../controller/clusterSession';
import { loadedEngineClient } from '../engineClient';
import type { ClusterModel } from '../model/clusterModel';
import { argsOf } from './inputs';
import { runReported } from './run';

export type ConsistencyLevel = 'default' | 'one' | 'quorum' | 'all';
const LEVELS: readonly ConsistencyLevel[] = ['default', 'one', 'quorum', 'all'];
const STATE_KEY = 'ringdb.consistency';

/** W or R for a key with `n` replicas; undefined for the cluster's own (the node applies its configured value). */
export function replicasFor(level: ConsistencyLevel, n: number): number | undefined {
  switch (level) {
    case 'default': return undefined;
    case 'one': return 1;
    case 'quorum': return Math.floor(n / 2) + 1;
    case 'all': return n;
  }
}

export function levelName(level: ConsistencyLevel): string {
  return level === 'default' ? 'cluster default' : level.toUpperCase();
}

export interface Levels {
  write: ConsistencyLevel;
  read: ConsistencyLevel;
}

export class Consistency extends Disposable {
  private readonly _onDidChange = this._register(new vscode.EventEmitter<Levels>());
  readonly onDidChange = this._onDidChange.event;

  constructor(private readonly state: vscode.Memento) {
    super();
  }

  get levels(): Levels {
    const saved = this.state.get<Partial<Levels>>(STATE_KEY) ?? {};
    const valid = (l: unknown): ConsistencyLevel => (LEVELS.includes(l as ConsistencyLevel) ? l as ConsistencyLevel : 'default');
    return { write: valid(saved.write), read: valid(saved.read) };
  }

  async set(levels: Levels): Promise<void> {
    await this.state.update(STATE_KEY, levels);
    this._onDidChange.fire(levels);
  }

  /** "W=ALL R=ONE" when either is not the cluster's own, else undefined. */
  get shortLabel(): string | undefined {
    const { write, read } = this.levels;
    if (write === 'default' && read === 'default') return undefined;
    return [write !== 'default' ? `W=${levelName(write)}` : '', read !== 'default' ? `R=${levelName(read)}` : ''].filter(Boolean).join(' ');
  }
}

/**
 * A request this window's level made stricter than the cluster's, refused because too few replicas
 * are up: says it was the level, and offers to change it. The general "not reachable" next step
 * sent a person to the Nodes view and a cluster restart for a refusal their own choice caused.
 */
export function refusedAtLevel(err: unknown, level: ConsistencyLevel, n: number | undefined, what: 'writes' | 'reads' = 'writes'): unknown {
  const RingDbError = loadedEngineClient()?.RingDbError;
  if (level === 'default' || n === undefined || !RingDbError || !(err instanceof RingDbError) || err.code !== 'unavailable') return err;
  const needs = what === 'writes' ? `W=${levelName(level)} (${n} acknowledgement${n === 1 ? '' : 's'})` : `R=${levelName(level)} (${n} answer${n === 1 ? '' : 's'})`;
  return new UserError(err.message,
    `This workspace ${what} with ${needs}: restart the nodes that are down, or lower the level with "RingDB: Set Consistency Level".`,
    [{ title: 'Set Consistency Level', run: () => vscode.commands.executeCommand(Commands.setConsistency) }]);
}

/** The configured W or R with N, as the running spec gives them (the nodes cap both at the node count). */
function configured(model: ClusterModel): { w: number; r: number; n: number; nodes: number } | undefined {
  const spec = model.snapshot.spec;
  const nodes = model.snapshot.nodes.length;
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
  const rf = num(spec?.replicationFactor);
  const w = num(spec?.writeQuorum);
  const r = num(spec?.readQuorum);
  if (rf === undefined || w === undefined || r === undefined || nodes === 0) return undefined;
  const n = Math.min(rf, nodes);
  return { w: Math.min(w, n), r: Math.min(r, n), n, nodes };
}

export function registerConsistencyCommand(consistency: Consistency, model: ClusterModel, log: Log): vscode.Disposable[] {
  const ask = async (what: 'writes' | 'reads', current: ConsistencyLevel): Promise<ConsistencyLevel | undefined> => {
    const c = configured(model);
    const letter = what === 'writes' ? 'W' : 'R';
    const own = c ? (what === 'writes' ? c.w : c.r) : undefined;
    const describe = (l: ConsistencyLevel): string => {
      if (!c) return l === 'default' ? 'the cluster\'s configured value' : '';
      const n = replicasFor(l, c.n) ?? own;
      return `${letter}=${n} of N=${c.n}${l === 'default' ? ` (${what === 'writes' ? 'writeQuorum' : 'readQuorum'} of the spec)` : ''}`;
    };
    const detail: Record<ConsistencyLevel, string> = {
      default: 'What the cluster spec configures.',
      one: what === 'writes' ? 'Acknowledged by one replica: stays available with replicas down; a read may miss it.' : 'One replica\'s answer: fast and available, possibly stale.',
      quorum: what === 'writes' ? 'A majority acknowledges: with QUORUM reads, a read sees it (W + R > N).' : 'A majority answers: with QUORUM writes, sees the newest acknowledged write.',
      // With more nodes than N a write to a down replica is hinted to another node, whose acknowledgement counts for it (sloppy quorum).
      all: what === 'writes'
        ? (c && c.nodes > c.n ? `All ${c.n} acknowledge; a node outside the key's replicas keeping a hint for a down one counts for it, so it fails only with fewer than ${c.n} nodes up.` : 'Every replica acknowledges: fails while one is down.')
        // A coordinator reads from any node that is up, replicas first: a substitute answers from its hints, or with nothing.
        : (c && c.nodes > c.n ? `All ${c.n} answer; a node outside the key's replicas answers for a down one (from a hint it keeps, or with nothing), so it fails only with fewer than ${c.n} nodes up, or with none of the key's replicas up and no hint of it.` : 'Every replica answers: fails while one is down.'),
    };
    const pick = await vscode.window.showQuickPick(
      LEVELS.map((l) => ({ label: levelName(l), level: l, description: `${describe(l)}${l === current ? ' · current' : ''}`, detail: detail[l] })),
      { title: `RingDB: Consistency Level for ${what} (${letter})`, placeHolder: `${letter} for this workspace's ${what === 'writes' ? 'Put and Delete' : 'Get'}` },
    );
    return pick?.level;
  };

  const setConsistency = (arg?: unknown): Promise<Levels | undefined> => runReported(log, 'Set Consistency Level', async () => {
    const a = argsOf(arg) as { write?: unknown; read?: unknown };
    const given = (field: 'write' | 'read'): ConsistencyLevel | undefined => {
      const v = a[field];
      if (v === undefined) return undefined;
      if (typeof v === 'string' && LEVELS.includes(v.toLowerCase() as ConsistencyLevel)) return v.toLowerCase() as ConsistencyLevel;
      throw new UserError(`Invalid ${field} level ${JSON.stringify(v)}.`, `Use one of ${LEVELS.join(', ')}.`);
    };
    const now = consistency.levels;
    let write = given('write');
    let read = given('read');
    if (write === undefined && read === undefined) {
      write = await ask('writes', now.write);
      if (write === undefined) return undefined;
      read = await ask('reads', now.read);
      if (read === undefined) return undefined;
    }
    const levels = { write: write ?? now.write, read: read ?? now.read };
    await consistency.set(levels);
    log.info(`consistency: writes ${levelName(levels.write)}, reads ${levelName(levels.read)}`);
    void vscode.window.setStatusBarMessage(`RingDB: writes ${levelName(levels.write)}, reads ${levelName(levels.read)}`, 5000);
    return levels;
  });
  return [vscode.commands.registerCommand(Commands.setConsistency, setConsistency)];
}
