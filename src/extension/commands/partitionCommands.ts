// Partitioning commands: Split, Merge, Rebalance, Mark Hot Key. Each takes a partition from the
// selected row of the Partitions view or an argument, else asks; data moves happen under progress.
import * as vscode from 'vscode';
import { Commands } from '../common/commandIds';
import { plural } from '../common/format';
import type { Log } from '../common/log';
import { UserError, type ClusterSession } from '../controller/clusterSession';
import { engineClient, type MergeResult, type MoveSummary, type PartitionMapInfo, type RebalanceResult, type SplitResult } from '../engineClient';
import type { ClusterModel } from '../model/clusterModel';
import type { PartitionView } from '../model/types';
import { PartitionItem, partitionDescription } from '../views/partitionsView';
import { argsOf, askText, checked, validateKey } from './inputs';
import { cancellationArg, runReported, withCancellableProgress } from './run';

/** Cancelling a data move stops the wait only: the controller finishes the move it began. */
const movePlan = (arg: unknown, what: string): { state: string; also: vscode.CancellationToken | undefined } => ({
  state: `The controller goes on with ${what}; the Partitions view shows the new map when it is done.`,
  also: cancellationArg(arg),
});

const moved = (m: MoveSummary): string =>
  `${plural(m.movedPartitions, 'partition')} moved, ${plural(m.entries, 'entry', 'entries')} copied`;

/**
 * The partition an argument names: a Partitions-view row (for `partition` only: a row names one
 * partition, and Merge asks for the other), `{ [field]: id }`, or a number.
 */
function partitionArg(arg: unknown, field = 'partition'): number | undefined {
  const fromItem = arg instanceof PartitionItem ? arg.partition : undefined;
  if (fromItem && field !== 'partition') return undefined;
  const raw = typeof arg === 'number' ? arg
    : fromItem ? fromItem.id
      : (argsOf(arg) as Record<string, unknown>)[field];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`Invalid ${field} ${JSON.stringify(raw)}.`, 'Pass a partition id from the Partitions view (a whole number).');
  return n;
}

export function registerPartitionCommands(session: ClusterSession, model: ClusterModel, log: Log): vscode.Disposable[] {
  const requireMap = (): void => {
    if (!model.snapshot.reportsPartitions) {
      throw new UserError('This cluster reports no partition map.', 'Start a cluster whose engine supports partitioning.');
    }
  };

  /** The partition from the argument, else a quick pick over `choices` (every partition by default). */
  const pickPartition = async (arg: unknown, title: string, field = 'partition', choices = model.snapshot.partitions): Promise<number | undefined> => {
    const given = partitionArg(arg, field);
    // Checked before anything else is asked: a split key typed for a partition that is not there is wasted.
    if (given !== undefined && !model.snapshot.partitions.some((p) => Number(p.id) === given)) {
      throw new UserError(`There is no partition ${given}.`, `Partitions are: ${model.snapshot.partitions.map((p) => p.id).join(', ') || 'none'}.`);
    }
    if (given !== undefined) return given;
    const pick = await vscode.window.showQuickPick(
      choices.map((p) => ({ label: p.id, description: partitionDescription(p), detail: `${p.ops} ops · replicas ${p.replicas.join(', ')}` })),
      { title: `RingDB: ${title}`, placeHolder: 'Pick a partition' },
    );
    return pick ? Number(pick.label) : undefined;
  };

  /** Only neighbouring ranges merge: the partitions just before and after `pid` in the map. */
  const neighbours = (pid: number): PartitionView[] => {
    const all = model.snapshot.partitions;
    const i = all.findIndex((p) => Number(p.id) === pid);
    return i < 0 ? [] : [all[i - 1], all[i + 1]].filter((p): p is PartitionView => p !== undefined);
  };

  /**
   * The split key check of the input box: a key must fall inside the partition, which a person
   * cannot see for a hash map, so the message names the partition's range (and the key's token).
   */
  const splitKeyCheck = async (pid: number): Promise<(v: string) => string | undefined> => {
    const [{ splitKeyPosition }, map] = await Promise.all([engineClient(), session.client.getPartitionMap()]);
    const p = map.partitions.find((x) => x.id === pid);
    return (v) => {
      if (!v) return undefined;
      const problem = validateKey(v);
      if (problem || !p) return problem;
      const { positionHex, inside } = splitKeyPosition(map.strategy, p, v);
      if (inside) return undefined;
      const shown = v.length > 40 ? `${JSON.stringify(v.slice(0, 40)).slice(0, -1)}…"` : JSON.stringify(v);
      const where = map.strategy === 'hash' ? `${shown} hashes to token ${positionHex.slice(0, 12)}…, outside` : `${shown} is not inside`;
      return `${where} partition ${pid}. A split key must fall after its start and before its end: ${p.range}.`;
    };
  };

  const split = (arg?: unknown): Promise<SplitResult | undefined> => runReported(log, 'Split Partition', async () => {
    requireMap();
    const pid = await pickPartition(arg, 'Split Partition');
    if (pid === undefined) return undefined;
    const a = argsOf(arg);
    const key = a.key !== undefined ? (a.key && checked(a.key, validateKey, 'split key'))
      : await askText(`Split partition ${pid} at key (empty = the median of its keys)`, await splitKeyCheck(pid));
    if (key === undefined) return undefined;
    const r = await withCancellableProgress(`Splitting partition ${pid}…`, movePlan(arg, `the split of partition ${pid}`), () => session.client.splitPartition(pid, key || undefined));
    log.info(`split partition ${pid}: new partition ${r.newPid}, map version ${r.map.version}`);
    void vscode.window.setStatusBarMessage(`RingDB: split partition ${pid}; new partition ${r.newPid} (map version ${r.map.version})`, 5000);
    return r;
  });

  const merge = (arg?: unknown): Promise<MergeResult | undefined> => runReported(log, 'Merge Partitions', async () => {
    requireMap();
    const first = await pickPartition(arg, 'Merge Partitions');
    if (first === undefined) return undefined;
    const choices = neighbours(first);
    if (!choices.length && partitionArg(arg, 'other') === undefined) {
      throw new UserError(`Partition ${first} has no neighbour to merge with.`, 'Only neighbouring ranges merge; the Partitions view lists the map in order.');
    }
    const second = await pickPartition(arg, `Merge partition ${first} with (its neighbours)`, 'other', choices);
    if (second === undefined) return undefined;
    const r = await withCancellableProgress(`Merging partitions ${first} and ${second}…`, movePlan(arg, `the merge of partitions ${first} and ${second}`), () => session.client.mergePartitions(first, second));
    log.info(`merged partitions ${first} and ${second} into ${r.pid}: ${moved(r.moves)}`);
    void vscode.window.setStatusBarMessage(`RingDB: merged partitions ${first} and ${second} into ${r.pid}, ${moved(r.moves)}`, 5000);
    return r;
  });

  const rebalance = (arg?: unknown): Promise<RebalanceResult | undefined> => runReported(log, 'Rebalance', async () => {
    requireMap();
    const r = await withCancellableProgress('Rebalancing partitions…', movePlan(arg, 'the rebalance'), () => session.client.rebalance());
    log.info(`rebalanced: ${moved(r.moves)}; map version ${r.map.version}`);
    void vscode.window.setStatusBarMessage(`RingDB: rebalanced, ${moved(r.moves)}`, 5000);
    return r;
  });

  const markHotKey = (arg?: unknown): Promise<{ map: PartitionMapInfo; migrated: number } | undefined> => runReported(log, 'Mark Hot Key', async () => {
    requireMap();
    const a = argsOf(arg) as { key?: string; buckets?: unknown };
    const key = a.key !== undefined ? checked(a.key, validateKey, 'key') : await askText('Hot partition key to spread over salted variants', validateKey);
    if (key === undefined) return undefined;
    const buckets = a.buckets === undefined ? 4 : Number(a.buckets);
    if (!Number.isInteger(buckets) || buckets < 2 || buckets > 1024) throw new UserError(`Invalid buckets ${String(a.buckets)}.`, 'Use a whole number from 2 to 1024.');
    const r = await withCancellableProgress(`Marking "${key}" hot…`, movePlan(arg, `spreading "${key}" over its salted variants`), () => session.client.markHotKey(key, buckets, true));
    log.info(`marked ${key} hot with ${buckets} buckets; ${r.migrated} values migrated`);
    void vscode.window.setStatusBarMessage(`RingDB: "${key}" is spread over ${buckets} salted variants (${r.migrated} values migrated)`, 5000);
    return r;
  });

  return [
    vscode.commands.registerCommand(Commands.splitPartition, split),
    vscode.commands.registerCommand(Commands.mergePartitions, merge),
    vscode.commands.registerCommand(Commands.rebalance, rebalance),
    vscode.commands.registerCommand(Commands.markHotKey, markHotKey),
  ];
}
