// Hotspots, as `ringdb hot` shows them: the busiest partitions and the most frequent keys since
// the counters were last reset, with what would spread each hot partition's load (a split for
// many keys, salting for one); Split Hot Partitions (the controller's threshold-based splits) and
// Reset Hotspot Counters, to watch a new workload from zero.
import * as vscode from 'vscode';
import { Commands } from '../common/commandIds';
import { compareNodeIds, formatShare, listNodes, plural } from '../common/format';
import type { Log } from '../common/log';
import { UserError, type ClusterSession } from '../controller/clusterSession';
import { hotThreshold } from '../controller/eventMapper';
import type { CheckHotResult, HotKeyInfo, HotPartitionInfo, KeyLocation } from '../engineClient';
import type { ClusterModel } from '../model/clusterModel';
import { answersRequests, type PartitionView } from '../model/types';
import { argsOf } from './inputs';
import { escapeCell } from './ownCopies';
import type { ResultDocuments } from './resultDocuments';
import { cancellationArg, runReported, withCancellableProgress } from './run';

/** Keys listed, and located one WhereIs each to tell a one-key hotspot from a many-key one. */
const HOT_KEYS = 20;
/** Partitions listed; the Partitions view has every partition's count. */
const BUSIEST_PARTITIONS = 20;
/** A key making at least this share of its partition's operations is what makes it hot. */
const ONE_KEY_SHARE = 0.5;

export interface Hotspots {
  totalOps: number;
  partitions: HotPartitionInfo[];
  keys: (HotKeyInfo & { location?: KeyLocation })[];
}

/** Split Hot Partitions' suggested threshold, and how many partitions it splits (those with more operations than it). */
export interface ThresholdSuggestion {
  readonly value: number;
  readonly splits: number;
  /** Twice the mean, which the Partitions view calls hot above. */
  readonly twiceMean: number;
}

/**
 * Twice the mean, as the Partitions view marks hot; but on a small workload that can equal the
 * busiest count, and accepting it split nothing: then one below the busiest count.
 */
export function suggestThreshold(partitions: readonly { ops: number }[]): ThresholdSuggestion {
  const twiceMean = Math.max(1, Math.floor(hotThreshold(partitions)));
  const busiest = Math.max(0, ...partitions.map((p) => p.ops));
  const value = busiest > twiceMean ? twiceMean : Math.max(1, busiest - 1);
  return { value, splits: partitions.filter((p) => p.ops > value).length, twiceMean };
}

/** The nodes whose counts are not summed: not up, so their in-memory counters are gone or unread. */
function notCounted(model: ClusterModel): string[] {
  return model.snapshot.nodes.filter((n) => !answersRequests(n.status)).map((n) => n.id).sort(compareNodeIds);
}

/**
 * Each node counts the requests it coordinated, in memory: a workload sent through a node that went
 * down is not in the figures, which without this sentence read as no workload at all.
 */
export function notCountedNote(notUp: readonly string[]): string {
  if (notUp.length === 0) return '';
  const one = notUp.length === 1;
  return `${listNodes(notUp)} ${one ? 'is' : 'are'} not up, so the requests ${one ? 'it' : 'they'} coordinated are not counted (a node keeps its counts in memory: they went with its process).`;
}

export function registerHotspotCommands(session: ClusterSession, model: ClusterModel, log: Log, results: ResultDocuments): vscode.Disposable[] {
  const requireMap = (): void => {
    if (!model.snapshot.reportsPartitions) throw new UserError('This cluster reports no partition map, so it counts no hotspots.', 'Start a cluster whose engine supports partitioning.');
  };

  const showHotspots = (arg?: unknown): Promise<Hotspots | undefined> => runReported(log, 'Show Hotspots', async () => {
    requireMap();
    const [{ partitions, totalOps }, keys] = await Promise.all([session.client.getHotPartitions(0), session.client.getHotKeys(HOT_KEYS)]);
    // A key whose partition cannot be found now (a map change under way) is listed without one.
    const located = await Promise.all(keys.map(async (k) => ({
      ...k,
      location: await session.client.whereIs(Buffer.from(k.keyHex, 'hex')).catch((err: unknown) => {
        log.warn(`Show Hotspots: where is ${shownKey(k)}: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      }),
    })));
    const hotspots: Hotspots = { totalOps, partitions, keys: located };
    if (!argsOf(arg).quiet) await results.show('hotspots', renderHotspots(hotspots, model.snapshot.partitions, notCounted(model)));
    return hotspots;
  });

  const splitHotPartitions = (arg?: unknown): Promise<CheckHotResult | undefined> => runReported(log, 'Split Hot Partitions', async () => {
    requireMap();
    const given = (argsOf(arg) as { threshold?: unknown }).threshold;
    let threshold: number;
    if (given !== undefined) {
      threshold = Number(given);
      if (!Number.isInteger(threshold) || threshold < 1) throw new UserError(`Invalid threshold ${JSON.stringify(given)}.`, 'Pass a whole number of operations, 1 or more.');
    } else {
      const { partitions } = await session.client.getHotPartitions(0);
      if (partitions.length === 0) {
        // Nothing is hot, which is no failure: an error's red icon told a person something broke.
        const uncounted = notCountedNote(notCounted(model));
        void vscode.window.showInformationMessage(`RingDB: no partition has counted an operation since the counters were last reset, so none is hot.${uncounted ? ` ${uncounted}` : ''} Put or get some keys, then split the partitions that took most of them.`);
        return undefined;
      }
      const s = suggestThreshold(partitions);
      const busiest = partitions[0];
      const mean = s.value === s.twiceMean ? `twice the mean: ${s.twiceMean}` : `twice the mean, ${s.twiceMean}, would split none`;
      const typed = await vscode.window.showInputBox({
        title: 'RingDB: Split Hot Partitions',
        prompt: `Split, at the median of its keys, every partition with more operations than this since the last reset (busiest: partition ${busiest.pid} with ${busiest.ops}; ${mean}). ${s.value} splits ${plural(s.splits, 'partition')}.`,
        value: String(s.value),
        ignoreFocusOut: true,
        validateInput: (v) => (/^[1-9]\d*$/.test(v.trim()) ? undefined : 'A whole number of operations, 1 or more'),
      });
      if (typed === undefined) return undefined;
      threshold = Number(typed.trim());
    }
    const r = await withCancellableProgress(`Splitting partitions with more than ${threshold} operations…`, {
      state: 'The controller goes on with the splits it began; the Partitions view shows the new map when they are done.',
      also: cancellationArg(arg),
    }, () => session.client.checkHotPartitions(threshold));
    log.info(`split hot partitions above ${threshold}: ${r.split.length ? r.split.join(', ') : 'none'} (map version ${r.map.version})${r.skipped.length ? `; not split: ${r.skipped.map((s) => `partition ${s.pid}: ${s.reason}`).join('; ')}` : ''}`);
    const done = r.split.length ? `split ${plural(r.split.length, 'partition')} (${r.split.join(', ')}), map version ${r.map.version}` : `no partition has more than ${threshold} operations`;
    const uncounted = notCountedNote(notCounted(model));
    if (r.skipped.length) {
      // A hot partition left whole is still hot: say why, and what spreads it instead (restarting
      // an owner the controller could not sample split keys from).
      const down = [...new Set(r.skipped.flatMap((s) => (s.ownerDown === undefined ? [] : [s.ownerDown])))].sort(compareNodeIds);
      const why = r.skipped.map((s) => `partition ${s.pid}: ${s.reason}`);
      const restart = down.map((id) => ({ title: `Restart ${id}`, id }));
      const detail = down.length
        ? `Restart ${listNodes(down)} (or click below), then run Split Hot Partitions again; or split at a key of your choice (Split Partition).`
        : 'Split it at a key of your choice (Split Partition), or, when one key makes its load, spread that key (Mark Hot Key; Show Hotspots lists the hot keys).';
      // "No partition has more than N operations" was wrong beside a hot partition left whole.
      void vscode.window.showWarningMessage(`RingDB: ${r.split.length ? `${done}. ` : ''}Not split: ${why.join('; ')}.`, { detail }, ...restart.map((b) => b.title)).then((choice) => {
        const picked = restart.find((b) => b.title === choice);
        if (picked) void vscode.commands.executeCommand(Commands.restartNode, { node: picked.id });
      });
    } else if (uncounted) {
      // Splitting less than expected may be the missing counts, which a 5-second status bar message would not carry.
      void vscode.window.showInformationMessage(`RingDB: ${done}. ${uncounted}`);
    } else {
      void vscode.window.setStatusBarMessage(`RingDB: ${done}`, 5000);
    }
    return r;
  });

  const resetHotspotCounters = (): Promise<boolean | undefined> => runReported(log, 'Reset Hotspot Counters', async () => {
    requireMap();
    await session.client.resetMetrics();
    log.info('reset the hotspot counters of every up node');
    void vscode.window.setStatusBarMessage('RingDB: hotspot counters reset on every node that is up', 5000);
    return true;
  });

  return [
    vscode.commands.registerCommand(Commands.showHotspots, showHotspots),
    vscode.commands.registerCommand(Commands.splitHotPartitions, splitHotPartitions),
    vscode.commands.registerCommand(Commands.resetHotspotCounters, resetHotspotCounters),
  ];
}

/**
 * A hot key as the page names it: its text quoted, or, for a key that is not printable text, 0x and
 * hex (which `key` is then, as keyText writes it; no printable key's text equals 0x and its own hex).
 */
function shownKey(k: HotKeyInfo): string {
  return k.key === `0x${k.keyHex}` ? k.key : JSON.stringify(k.key);
}

/** What spreads a hot partition's load: salting when one key makes most of it, else a split. */
function remedy(p: HotPartitionInfo, keys: Hotspots['keys']): string {
  const top = keys.find((k) => k.location?.partitionId === p.pid && k.location.saltBuckets === 0 && k.count - k.error >= ONE_KEY_SHARE * p.ops);
  if (top) return `one key, ${escapeCell(shownKey(top))}, makes at least ${formatShare((top.count - top.error) / p.ops)} of it: a split cannot divide a key; Mark Hot Key spreads it`;
  return 'many keys: Split Partition (at the median of its keys)';
}

export function renderHotspots(h: Hotspots, rows: readonly PartitionView[], notUp: readonly string[]): string {
  const lines = ['# Hotspots', ''];
  const uncounted = notCountedNote(notUp);
  if (h.totalOps === 0) {
    lines.push(`No operation has been counted since the counters were last reset. Each node counts the requests it coordinates; put or get some keys and show the hotspots again.${uncounted ? ` ${uncounted}` : ''}`);
    return lines.join('\n');
  }
  const threshold = hotThreshold(h.partitions);
  const byId = new Map(rows.map((r) => [r.id, r]));
  lines.push(
    `${h.totalOps.toLocaleString('en-US')} operations since the counters were last reset, counted by the node that coordinated each request and summed over the nodes that are up. ` +
    `"Hot" marks a partition with more than twice the mean of the partitions that had any (${Math.floor(threshold).toLocaleString('en-US')}), as the Partitions view does.${uncounted ? ` ${uncounted}` : ''}`,
    '', '## Busiest partitions', '',
    '| partition | operations | share | owner | replicas | range | load |',
    '| --- | ---: | ---: | --- | --- | --- | --- |',
  );
  for (const p of h.partitions.slice(0, BUSIEST_PARTITIONS)) {
    const row = byId.get(String(p.pid));
    const hot = h.partitions.length > 1 && p.ops > threshold;
    lines.push(`| ${p.pid}${hot ? ' 🔥 hot' : ''} | ${p.ops.toLocaleString('en-US')} | ${formatShare(p.ops / h.totalOps)} | ${p.owner} | ${row ? row.replicas.join(', ') : '—'} | ${row ? escapeCell(row.range) : '—'} | ${hot ? remedy(p, h.keys) : ''} |`);
  }
  if (h.partitions.length > BUSIEST_PARTITIONS) lines.push('', `… and ${plural(h.partitions.length - BUSIEST_PARTITIONS, 'more partition')} with operations; the Partitions view lists every count.`);
  lines.push('', '## Most frequent keys', '',
    'Counted approximately (a space-saving sketch per node): a key made at least the lower bound and at most the upper.', '',
    '| key | operations | partition | note |', '| --- | ---: | --- | --- |');
  for (const k of h.keys) {
    const range = k.error > 0 ? `${(k.count - k.error).toLocaleString('en-US')}–${k.count.toLocaleString('en-US')}` : k.count.toLocaleString('en-US');
    const where = k.location ? String(k.location.partitionId) : '—';
    const note = k.location?.saltBuckets ? `salted over ${k.location.saltBuckets} buckets (partitions ${[...new Set(k.location.variants.map((v) => v.partitionId))].join(', ')})` : '';
    lines.push(`| ${escapeCell(shownKey(k))} | ${range} | ${where} | ${note} |`);
  }
  lines.push('', '## What spreads the load', '',
    '- **A partition hot from many keys**: *Split Partition* from its row in the Partitions view splits it at the median of its keys; *Split Hot Partitions* splits every partition above a number of operations.',
    '- **A partition hot from one key**: a split cannot divide a key. *Mark Hot Key* spreads that key\'s writes over salted variants in other partitions; reads ask every variant for the newest.',
    '- *Reset Hotspot Counters* starts the counts from zero, to watch a new workload.');
  return lines.join('\n');
}
