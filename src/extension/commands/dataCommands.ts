// Data commands: Put, Get, Delete, Scan Partition, Where Is Key. Get and Where Is Key show each
// node's own copy of the key (ownCopies.ts), so a person sees which replicas have which version,
// and watches them converge.
import * as vscode from 'vscode';
import { engineClient, type KeyLocation, type ScanEntry, type Version } from '../engineClient';
import { ANSWERING, firstAnswering, type PartitionView } from '../model/types';
import { PartitionItem } from '../views/partitionsView';
import { Commands } from '../common/commandIds';
import type { Log } from '../common/log';
import { UserError, type ClusterSession } from '../controller/clusterSession';
import type { ClusterModel } from '../model/clusterModel';
import { levelName, refusedAtLevel, replicasFor, type Consistency, type ConsistencyLevel } from './consistency';
import { argsOf, askText, checked, coordinatorFor, nodeArg, pickNode, treeKeyArg, validateKey, validateValue } from './inputs';
import { askHints, askOwnCopies, crdtTypeOf, notRunning, quorumShortfall, readCrdt, readSalted, renderCopies, renderCrdt, renderGet, renderHints, saltedNote, summarize, type GetSummary, type ReplicaAnswer } from './ownCopies';
import { byNodeId, listNodes, plural } from '../common/format';
import { clip, code } from './markdown';
import type { ResultDocuments } from './resultDocuments';
import { cancellationArg, runReported, withCancellableProgress } from './run';

export type { GetSummary, ReplicaAnswer } from './ownCopies';

/** A partition's scan shows at most this many rows, and reads at most this many keys of the node. */
const PARTITION_SCAN_ROWS = 1000;
const PARTITION_SCAN_KEYS = 200_000;

export function registerDataCommands(session: ClusterSession, model: ClusterModel, log: Log, results: ResultDocuments, consistency: Consistency): vscode.Disposable[] {
  /** W or R of a level for key `k`: its replicas by the map (N of that key), else every node (full replication). */
  const replicasOf = async (level: ConsistencyLevel, k: string): Promise<number | undefined> => {
    if (level === 'default') return undefined;
    const n = model.snapshot.reportsPartitions ? (await session.client.whereIs(k)).replicas.length : model.snapshot.nodes.length;
    return replicasFor(level, n);
  };
  /** ", W=ALL (3)" for a level that is not the cluster's own. */
  const levelNote = (letter: 'W' | 'R', level: ConsistencyLevel, n: number | undefined): string =>
    (n === undefined ? '' : `, ${letter}=${levelName(level)} (${n})`);

  const key = async (arg: unknown, prompt: string): Promise<string | undefined> => {
    const given = argsOf(arg).key ?? treeKeyArg(arg);
    return given !== undefined ? checked(given, validateKey, 'key') : askText(prompt, validateKey);
  };

  const put = (arg?: unknown): Promise<{ node: string; version: Version } | undefined> => runReported(log, 'Put', async () => {
    const k = await key(arg, 'Key to write');
    if (k === undefined) return undefined;
    const given = argsOf(arg).value;
    const v = given !== undefined ? checked(given, validateValue, 'value') : await askText(`Value for "${k}"`, validateValue);
    if (v === undefined) return undefined;
    const node = coordinatorFor(model, arg);
    const level = consistency.levels.write;
    const w = await replicasOf(level, k);
    const { version, hinted, replicas } = await (await session.nodeClient(node)).putAcked(k, v, { w }).catch((err: unknown) => { throw refusedAtLevel(err, level, w); });
    // A write whose replicas were down is held as hints elsewhere: say where, or it seems lost.
    const hints = Object.entries(hinted).map(([replica, holder]) => `${holder} for ${replica}`).join(', ');
    log.info(`put ${k} on ${node}: ${version.opId} at ts ${version.ts}${hints ? `; hints: ${hints}` : ''}; ${coordination(node, version, replicas)}`);
    void vscode.window.setStatusBarMessage(`RingDB: wrote "${k}" as ${version.opId} (ts ${version.ts}), ${coordination(node, version, replicas)}${levelNote('W', level, w)}${hints ? `; replica down, hints: ${hints}` : ''}`, 5000);
    return { node, version };
  });

  const del = (arg?: unknown): Promise<{ node: string; version: Version } | undefined> => runReported(log, 'Delete', async () => {
    const k = await key(arg, 'Key to delete');
    if (k === undefined) return undefined;
    const node = coordinatorFor(model, arg);
    const level = consistency.levels.write;
    const w = await replicasOf(level, k);
    const { version, hinted, replicas } = await (await session.nodeClient(node)).deleteAcked(k, { w }).catch((err: unknown) => { throw refusedAtLevel(err, level, w); });
    const hints = Object.entries(hinted).map(([replica, holder]) => `${holder} for ${replica}`).join(', ');
    log.info(`deleted ${k} on ${node}: tombstone ${version.opId} at ts ${version.ts}${hints ? `; hints: ${hints}` : ''}; ${coordination(node, version, replicas)}`);
    void vscode.window.setStatusBarMessage(`RingDB: deleted "${k}" as tombstone ${version.opId}, ${coordination(node, version, replicas)}${levelNote('W', level, w)}${hints ? `; replica down, hints: ${hints}` : ''}`, 5000);
    return { node, version };
  });

  const get = (arg?: unknown): Promise<GetSummary | undefined> => runReported(log, 'Get', async () => {
    const k = await key(arg, 'Key to read');
    if (k === undefined) return undefined;
    const crdt = crdtTypeOf(model, k);
    if (crdt) {
      const answers = await readCrdt(session, model, k, crdt);
      if (!argsOf(arg).quiet) await results.show(`get ${k}`, renderCrdt(k, crdt, answers));
      const first = answers.find((a) => a.value !== undefined);
      return { key: k, found: first !== undefined, value: first?.value, version: undefined, replicas: [], placement: undefined, verdicts: [], hints: [] };
    }
    const loc = model.snapshot.reportsPartitions ? await session.client.whereIs(k) : undefined;
    const ownCopiesOf = async (): Promise<GetSummary> => {
      const [replicas, hints] = await Promise.all([askOwnCopies(session, model, k), askHints(session, model, k)]);
      const level = consistency.levels.read;
      const configured = model.snapshot.spec?.readQuorum;
      const r = level === 'default' ? (typeof configured === 'number' ? configured : undefined) : replicasFor(level, loc?.replicas.length ?? model.snapshot.nodes.length);
      return { ...await summarize(k, replicas, loc?.replicas, hints), readQuorum: r, readLevel: level === 'default' ? undefined : levelName(level) };
    };
    // A hot key's read is a coordinated one (its variants are merged), so the node judges R itself: the level's R is sent with it.
    const salted = async (buckets: number, replicas: string[]): Promise<GetSummary> => {
      const level = consistency.levels.read;
      const r = replicasFor(level, replicas.length);
      const read = await readSalted(session, k, buckets, coordinatorFor(model, arg), replicas, r).catch((err: unknown) => { throw refusedAtLevel(err, level, r, 'reads'); });
      return { ...read, readLevel: level === 'default' ? undefined : levelName(level) };
    };
    const summary = loc?.saltBuckets ? await salted(loc.saltBuckets, loc.replicas) : await ownCopiesOf();
    if (!argsOf(arg).quiet) {
      await results.show(`get ${k}`, renderGet(summary));
      // A result is a Markdown preview, with no buttons of its own: the way to the variants is a notification's.
      if (!summary.salted) offerQuorumSteps(summary);
      if (loc?.saltBuckets) {
        void vscode.window.showInformationMessage(`RingDB: "${k}" is marked hot: its value is merged from ${loc.saltBuckets} variant keys in other partitions.`, 'Where Is Key').then((choice) => {
          if (choice) void vscode.commands.executeCommand(Commands.whereIsKey, { key: k });
        });
      }
    }
    return summary;
  });

  const whereIsKey = (arg?: unknown): Promise<ReplicaAnswer[] | undefined> => runReported(log, 'Where Is Key', async () => {
    const k = await key(arg, 'Key to locate');
    if (k === undefined) return undefined;
    // With a partition map, the controller says where the key belongs; the nodes say what they hold.
    const loc = model.snapshot.reportsPartitions ? await session.client.whereIs(k) : undefined;
    const placement = loc ? placementLines(loc, model.snapshot.spec?.partitionStrategy !== 'range') : [];
    if (loc?.saltBuckets) {
      const partitions = [...new Set(loc.variants.map((v) => v.partitionId))].sort((a, b) => a - b);
      await results.show(`where ${k}`, [`# Where is ${code(k)}`, '', ...placement, saltedNote(k, loc.saltBuckets), '',
        `Its variants live in partition${partitions.length === 1 ? '' : 's'} ${partitions.join(', ')}.`].join('\n'));
      return [];
    }
    const [replicas, hints] = await Promise.all([askOwnCopies(session, model, k), askHints(session, model, k)]);
    const summary = await summarize(k, replicas, loc?.replicas, hints, crdtTypeOf(model, k) !== undefined);
    await results.show(`where ${k}`, [`# Where is ${code(k)}`, '', ...placement, ...renderCopies(summary), ...renderHints(summary.hints)].join('\n'));
    return replicas;
  });

  /**
   * The keys one partition holds, from its first replica that answers requests: a node stores keys
   * in its own order, not by partition, so its scan is filtered by the partition the map places each in.
   */
  const scanOnePartition = async (p: PartitionView, arg: unknown): Promise<ScanEntry[]> => {
    const node = firstAnswering(p.replicas, (id) => model.node(id)?.status);
    if (!node) throw new UserError(`No replica of partition ${p.id} is up (${p.replicas.join(', ')}).`, `Restart one ("RingDB: Restart Node") and scan again.`);
    const { Driver, storedKeyText } = await engineClient();
    const client = await session.nodeClient(node);
    // Only the map of now is needed to place each key: no Watch stream to follow changes.
    const driver = await Driver.connect(session.client, { watch: false });
    const pid = Number(p.id);
    const found: ScanEntry[] = [];
    let scanned = 0;
    let token: Buffer | undefined;
    try {
      await withCancellableProgress(`Scanning partition ${p.id} on ${node}…`, { state: 'Nothing was changed; the scan\'s result is dropped.', also: cancellationArg(arg) }, async (progress) => {
        do {
          const page = await client.scan({ limit: 1000, includeTombstones: true, continuationToken: token });
          scanned += page.entries.length;
          for (const e of page.entries) if (found.length < PARTITION_SCAN_ROWS && driver.partitionOf(e.key) === pid) found.push(e);
          token = page.continuationToken;
          progress.report({ message: `${scanned} keys of ${node} read, ${found.length} in partition ${p.id}` });
        } while (token && found.length < PARTITION_SCAN_ROWS && scanned < PARTITION_SCAN_KEYS);
      });
    } finally {
      driver.close();
    }
    const cut = found.length >= PARTITION_SCAN_ROWS ? ` (the first ${PARTITION_SCAN_ROWS} shown)` : token ? ` (stopped after reading ${scanned} keys of ${node})` : '';
    const rows = found.map((e) => `| ${code(clip(storedKeyText(e.key)), true)} | ${e.deleted ? '*(tombstone)*' : code(clip(e.value.toString('utf8')), true)} | ${e.version?.opId ?? '—'} | ${e.version?.ts ?? '—'} |`);
    await results.show(`scan partition ${p.id}`, [`# Partition ${p.id} on ${node}`, '', `Range ${code(p.range)}; replicas ${p.replicas.join(', ')} (map version ${p.mapVersion}).`, '',
      `${found.length} entries${cut}, tombstones included; ${scanned} keys of ${node} read.`, '',
      '| key | value | version | timestamp |', '| --- | --- | --- | --- |', ...rows].join('\n'));
    return found;
  };

  const scan = (arg?: unknown): Promise<ScanEntry[] | undefined> => runReported(log, 'Scan Partition', async () => {
    const a = argsOf(arg);
    const partition = arg instanceof PartitionItem ? arg.partition
      : a.partition !== undefined ? model.snapshot.partitions.find((p) => p.id === String(a.partition)) : undefined;
    if (a.partition !== undefined && !partition) throw new UserError(`There is no partition ${String(a.partition)}.`, `Partitions are: ${model.snapshot.partitions.map((p) => p.id).join(', ') || 'none'}.`);
    if (partition) return scanOnePartition(partition, arg);
    // From the palette, the command is about partitions: ask which, with a node's key range as
    // the one other choice. From a node's menu (or naming a node) it scans that node's range.
    if (nodeArg(arg) === undefined && a.start === undefined && a.end === undefined && model.snapshot.partitions.length > 0) {
      const picked = await pickPartition(model.snapshot.partitions);
      if (picked === undefined) return undefined;
      if (picked !== 'node-range') return scanOnePartition(picked, arg);
    }
    const node = await pickNode(model, arg, 'Scan a Node\'s Key Range', ANSWERING);
    if (!node) return undefined;
    const start = a.start ?? await askText('First key (inclusive; empty = from the first key)', () => undefined);
    if (start === undefined) return undefined;
    const end = a.end ?? await askText('End key (exclusive; empty = to the last key)', () => undefined);
    if (end === undefined) return undefined;
    const limit = a.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UserError(`Invalid limit ${limit}.`, 'Use a whole number from 1 to 10000.');
    const client = await session.nodeClient(node);
    const { storedKeyText } = await engineClient();
    const r = await withCancellableProgress(`Scanning ${node}…`, { state: 'Nothing was changed; the scan\'s result is dropped.', also: cancellationArg(arg) },
      () => client.scan({ start: start || undefined, end: end || undefined, limit, includeTombstones: true }));
    const rows = r.entries.map((e) => `| ${code(clip(storedKeyText(e.key)), true)} | ${e.deleted ? '*(tombstone)*' : code(clip(e.value.toString('utf8')), true)} | ${e.version?.opId ?? '—'} | ${e.version?.ts ?? '—'} |`);
    await results.show(`scan ${node}`, [`# Scan of ${node}: from ${start ? code(start) : '−∞'} to ${end ? code(end) : '+∞'}`, '',
      `${r.entries.length === 1 ? '1 entry' : `${r.entries.length} entries`}${r.continuationToken ? ` (limit ${limit} reached; more follow)` : ''}`, '',
      '| key | value | version | timestamp |', '| --- | --- | --- | --- |', ...rows].join('\n'));
    return r.entries;
  });

  return [
    vscode.commands.registerCommand(Commands.put, put),
    vscode.commands.registerCommand(Commands.get, get),
    vscode.commands.registerCommand(Commands.delete, del),
    vscode.commands.registerCommand(Commands.scanPartition, scan),
    vscode.commands.registerCommand(Commands.whereIsKey, whereIsKey),
  ];
}

/**
 * Who took a write: the op id's origin coordinated it, which is not the node it was sent to when
 * that node forwarded it to a replica; and who acknowledged it within W.
 */
function coordination(sentTo: string, version: Version, acked: readonly string[]): string {
  const by = version.origin === sentTo ? `coordinated by ${sentTo}` : `coordinated by ${version.origin} (sent to ${sentTo}, which forwarded it)`;
  return `${by}, acknowledged by ${acked.join(', ') || version.origin}`;
}

/**
 * A Get whose R fewer nodes met than it needs shows the copies it found, with a note in the
 * result; a Markdown preview has no buttons, so the next steps a refused read offers (a hot key's
 * Get at R=ALL) come on a notification beside it: lower the level, or restart a node that is down.
 */
function offerQuorumSteps(s: GetSummary): void {
  const short = quorumShortfall(s);
  if (!short) return;
  const restart = byNodeId(notRunning(s)).map((id) => ({ title: `Restart ${id}`, id }));
  const level = s.readLevel ? `R=${s.readLevel} (${short.r})` : `the cluster's R (${short.r})`;
  const steps = restart.length ? `Restart ${listNodes(restart.map((b) => b.id))}, or lower the level` : 'Lower the level';
  void vscode.window.showWarningMessage(
    `RingDB Get: a quorum read of "${s.key}" at ${level} would fail now: only ${plural(short.heard, 'node')} answered; the result shows their copies. ${steps} with "RingDB: Set Consistency Level".`,
    'Set Consistency Level', ...restart.map((b) => b.title),
  ).then((choice) => {
    const picked = restart.find((b) => b.title === choice);
    if (picked) void vscode.commands.executeCommand(Commands.restartNode, { node: picked.id });
    else if (choice) void vscode.commands.executeCommand(Commands.setConsistency);
  });
}

/**
 * Where a key belongs. A hash map's range is shown with whole tokens beside the key's own token
 * (the SHA-1 of the key, where the ring places it): shortened tokens, as the Partitions view's
 * narrow rows need, cannot show that the key falls inside. A range map's range is its keys, whole.
 */
function placementLines(loc: KeyLocation, hash: boolean): string[] {
  const head = `Partition **${loc.partitionId}**${hash ? '' : ` ${loc.range}`} (map version ${loc.mapVersion}); replicas, owner first: **${loc.replicas.join(', ')}**`;
  if (!hash) return [head, ''];
  return [head, '',
    `- the key's token: ${code(`token ${loc.positionHex}`)} (the SHA-1 of the key: its place on the hash ring)`,
    `- partition ${loc.partitionId}'s range: from ${code(`token ${loc.startHex}`)} (inclusive) to ${loc.endHex === null ? 'the end of the ring' : `${code(`token ${loc.endHex}`)} (exclusive)`}`,
    ''];
}

/** A partition to scan, or 'node-range' for one node's keys in a key range; undefined if dismissed. */
async function pickPartition(partitions: readonly PartitionView[]): Promise<PartitionView | 'node-range' | undefined> {
  type Item = vscode.QuickPickItem & { partition?: PartitionView };
  const items: Item[] = [
    { label: '$(server) A node\'s key range…', description: 'the keys one node holds from a first key to an end key, whatever their partitions' },
    { label: 'Partitions', kind: vscode.QuickPickItemKind.Separator },
    ...partitions.map((p): Item => ({ label: `partition ${p.id}`, description: p.range, detail: `owner ${p.owner} · replicas ${p.replicas.join(', ')}`, partition: p })),
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'Scan Partition', placeHolder: 'Type a partition id, or pick a node\'s key range', matchOnDescription: true });
  if (!picked) return undefined;
  return picked.partition ?? 'node-range';
}
