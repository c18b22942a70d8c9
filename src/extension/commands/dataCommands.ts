// Data commands: Put, Get, Delete, Scan Partition, Where Is Key. Get and Where Is Key ask every
// node that is up for its own copy (no quorum, no read repair: a quorum read coordinated by each
// node would show every node holding what any two hold), so a person sees which replicas have
// which version of the key, and watches them converge.
import * as vscode from 'vscode';
import type { GetResult, ScanEntry, Version } from '../engineClient';
import { Commands } from '../common/commandIds';
import { formatBytes } from '../common/format';
import type { Log } from '../common/log';
import { UserError, type ClusterSession } from '../controller/clusterSession';
import type { ClusterModel } from '../model/clusterModel';
import { argsOf, askText, checked, coordinatorFor, pickNode, validateKey, validateValue } from './inputs';
import { codeBlock, type ResultDocuments } from './resultDocuments';
import { cancellationArg, explain, runReported, withCancellableProgress } from './run';

export interface ReplicaAnswer {
  node: string;
  found: boolean;
  deleted: boolean;
  version: Version | undefined;
  value: string | undefined;
  error: string | undefined;
}

export interface GetSummary {
  key: string;
  found: boolean;
  value: string | undefined;
  /** The newest version among the replicas' answers (LWW: timestamp, then origin). */
  version: Version | undefined;
  replicas: ReplicaAnswer[];
  /** The key's replicas by the partition map, owner first; undefined without a map. */
  placement: string[] | undefined;
}

const newer = (a: Version | undefined, b: Version | undefined): boolean =>
  !!a && (!b || a.ts > b.ts || (a.ts === b.ts && a.origin > b.origin));

const valueText = (b: Buffer): string => b.toString('utf8');

export function registerDataCommands(session: ClusterSession, model: ClusterModel, log: Log, results: ResultDocuments): vscode.Disposable[] {
  const key = async (arg: unknown, prompt: string): Promise<string | undefined> => {
    const given = argsOf(arg).key;
    return given !== undefined ? checked(given, validateKey, 'key') : askText(prompt, validateKey);
  };

  /** Every node that is up answers for `k` from its own copy; failures are answers too (shown, not thrown). */
  const askReplicas = async (k: string): Promise<ReplicaAnswer[]> => {
    const up = model.snapshot.nodes.filter((n) => n.status === 'up');
    if (!up.length) throw new UserError('No node is up to read from.', 'Restart a node or start the cluster.');
    return Promise.all(up.map(async (n): Promise<ReplicaAnswer> => {
      try {
        const r: GetResult = await (await session.nodeClient(n.id)).getOwnCopy(k);
        return { node: n.id, found: r.found, deleted: r.deleted, version: r.version, value: r.found ? valueText(r.value) : undefined, error: undefined };
      } catch (err) {
        return { node: n.id, found: false, deleted: false, version: undefined, value: undefined, error: explain(err).message };
      }
    }));
  };

  const put = (arg?: unknown): Promise<{ node: string; version: Version } | undefined> => runReported(log, 'Put', async () => {
    const k = await key(arg, 'Key to write');
    if (k === undefined) return undefined;
    const given = argsOf(arg).value;
    const v = given !== undefined ? checked(given, validateValue, 'value') : await askText(`Value for "${k}"`, validateValue);
    if (v === undefined) return undefined;
    const node = coordinatorFor(model, arg);
    const version = await (await session.nodeClient(node)).put(k, v);
    log.info(`put ${k} on ${node}: ${version.opId} at ts ${version.ts}`);
    void vscode.window.setStatusBarMessage(`RingDB: wrote "${k}" on ${node} (${version.opId}, ts ${version.ts})`, 5000);
    return { node, version };
  });

  const del = (arg?: unknown): Promise<{ node: string; version: Version } | undefined> => runReported(log, 'Delete', async () => {
    const k = await key(arg, 'Key to delete');
    if (k === undefined) return undefined;
    const node = coordinatorFor(model, arg);
    const version = await (await session.nodeClient(node)).delete(k);
    log.info(`deleted ${k} on ${node}: tombstone ${version.opId} at ts ${version.ts}`);
    void vscode.window.setStatusBarMessage(`RingDB: deleted "${k}" on ${node} (${version.opId})`, 5000);
    return { node, version };
  });

  const get = (arg?: unknown): Promise<GetSummary | undefined> => runReported(log, 'Get', async () => {
    const k = await key(arg, 'Key to read');
    if (k === undefined) return undefined;
    const [replicas, loc] = await Promise.all([askReplicas(k), model.snapshot.reportsPartitions ? session.client.whereIs(k) : undefined]);
    let best: ReplicaAnswer | undefined;
    for (const r of replicas) if (newer(r.version, best?.version)) best = r;
    const summary: GetSummary = { key: k, found: !!best?.found, value: best?.found ? best.value : undefined, version: best?.version, replicas, placement: loc?.replicas };
    if (!argsOf(arg).quiet) await results.show(`get ${k}`, renderGet(summary));
    return summary;
  });

  const whereIsKey = (arg?: unknown): Promise<ReplicaAnswer[] | undefined> => runReported(log, 'Where Is Key', async () => {
    const k = await key(arg, 'Key to locate');
    if (k === undefined) return undefined;
    const replicas = await askReplicas(k);
    // With a partition map, the controller says where the key belongs; the nodes say what they hold.
    const loc = model.snapshot.reportsPartitions ? await session.client.whereIs(k) : undefined;
    const placement = loc
      ? [`Partition **${loc.partitionId}** ${loc.range} (map version ${loc.mapVersion}); replicas, owner first: **${loc.replicas.join(', ')}**`
        + (loc.saltBuckets ? `; salted over ${loc.saltBuckets} buckets` : ''), '']
      : [];
    const lines = [`# Where is \`${k}\``, '', ...placement, '| node | holds | version | timestamp |', '| --- | --- | --- | --- |',
      ...replicas.map((r) => `| ${r.node} | ${r.error ? `error: ${r.error}` : r.found ? 'value' : r.deleted ? 'tombstone' : 'nothing'} | ${r.version?.opId ?? '—'} | ${r.version?.ts ?? '—'} |`),
      ...model.snapshot.nodes.filter((n) => n.status !== 'up').map((n) => `| ${n.id} | (${n.status}, not asked) | — | — |`)];
    await results.show(`where ${k}`, lines.join('\n'));
    return replicas;
  });

  const scan = (arg?: unknown): Promise<ScanEntry[] | undefined> => runReported(log, 'Scan Partition', async () => {
    const a = argsOf(arg);
    const node = await pickNode(model, arg, 'Scan Partition', ['up']);
    if (!node) return undefined;
    const start = a.start ?? await askText('First key (inclusive; empty = from the first key)', () => undefined);
    if (start === undefined) return undefined;
    const end = a.end ?? await askText('End key (exclusive; empty = to the last key)', () => undefined);
    if (end === undefined) return undefined;
    const limit = a.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UserError(`Invalid limit ${limit}.`, 'Use a whole number from 1 to 10000.');
    const client = await session.nodeClient(node);
    const r = await withCancellableProgress(`Scanning ${node}…`, { state: 'Nothing was changed; the scan\'s result is dropped.', also: cancellationArg(arg) },
      () => client.scan({ start: start || undefined, end: end || undefined, limit, includeTombstones: true }));
    const rows = r.entries.map((e) => `| \`${e.key.toString('utf8')}\` | ${e.deleted ? '*(tombstone)*' : escapeCell(valueText(e.value))} | ${e.version?.opId ?? '—'} | ${e.version?.ts ?? '—'} |`);
    await results.show(`scan ${node}`, [`# Scan of ${node}: [${start || '−∞'}, ${end || '+∞'})`, '',
      `${r.entries.length} entries${r.continuationToken ? ` (limit ${limit} reached; more follow)` : ''}`, '',
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

function escapeCell(text: string): string {
  const one = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return one.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function renderGet(s: GetSummary): string {
  const head = s.found
    ? [`# \`${s.key}\``, '', codeBlock(s.value ?? ''), '', `- version: **${s.version?.opId}** (origin ${s.version?.origin})`,
      `- Lamport timestamp: ${s.version?.ts}`, `- size: ${formatBytes(Buffer.byteLength(s.value ?? '', 'utf8'))}`]
    : [`# \`${s.key}\``, '', s.version ? `Deleted (tombstone **${s.version.opId}**, timestamp ${s.version.ts}).` : 'Not found on any replica that answered.'];
  const verdict = (r: ReplicaAnswer): string => {
    if (r.error) return '';
    if (r.version && s.version && r.version.opId === s.version.opId) return '✓ newest';
    if (s.placement && !s.placement.includes(r.node)) return 'not a replica';
    return r.version ? 'stale' : s.version ? 'missing' : '';
  };
  const rows = s.replicas.map((r) => `| ${r.node} | ${r.error ? `error: ${escapeCell(r.error)}` : r.found ? 'value' : r.deleted ? 'tombstone' : 'nothing'} | ${r.version?.opId ?? '—'} | ${r.version?.ts ?? '—'} | ${verdict(r)} |`);
  return [...head, '', '## Each node\'s own copy', '', '| node | holds | version | timestamp | |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}
