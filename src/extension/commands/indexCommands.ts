// Query Index: keys whose JSON value has field = value, through the indexes of the spec's
// `indexFields` (secondary: every node indexes what it holds) and `globalIndexFields`. One node
// up takes the query (QueryIndex RPC) and gathers the answer from the nodes that have it; the
// document then shows each key's value and version as that node reads it.
import * as vscode from 'vscode';
import { engineClient, loadedEngineClient, type Version } from '../engineClient';
import { Commands } from '../common/commandIds';
import type { Log } from '../common/log';
import { UserError, type ClusterSession } from '../controller/clusterSession';
import type { ClusterModel } from '../model/clusterModel';
import { argsOf, askText, checked, coordinatorFor } from './inputs';
import { clip, code, literal } from './markdown';
import type { ResultDocuments } from './resultDocuments';
import { cancellationArg, explain, runReported, withCancellableProgress } from './run';

/** The engine refuses longer values (QueryIndex INVALID_ARGUMENT). */
const MAX_VALUE_CHARS = 4096;
/** Values are read one key at a time; past this many the document lists the keys only. */
const MAX_VALUES_READ = 200;

export interface IndexMatch {
  key: string;
  value: string | undefined;
  version: Version | undefined;
  /** Why the value could not be read (the key is still a match). */
  error: string | undefined;
}

export interface QueryIndexSummary {
  field: string;
  value: string;
  /** The node that took the query. */
  node: string;
  matches: IndexMatch[];
  /** Nodes whose index answered (the coordinator first). */
  nodes: string[];
  /** Peers that could not answer, with why: their keys may be missing. */
  unreachable: string[];
}

export function validateField(field: string): string | undefined {
  if (!field) return 'A field name is required: one of the spec\'s "indexFields".';
  return undefined;
}

export function validateIndexValue(value: string): string | undefined {
  return value.length > MAX_VALUE_CHARS ? `The value is ${value.length} characters; at most ${MAX_VALUE_CHARS} are accepted.` : undefined;
}

export function registerIndexCommands(session: ClusterSession, model: ClusterModel, log: Log, results: ResultDocuments): vscode.Disposable[] {
  // The spec the controller runs (its Watch snapshot), also for a cluster this window attached to.
  const specList = (name: string): string[] => {
    const v = model.snapshot.spec?.[name];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  };
  const indexedFields = (): { field: string; kind: string }[] => [
    ...specList('indexFields').map((field) => ({ field, kind: 'secondary index' })),
    ...specList('globalIndexFields').map((field) => ({ field, kind: 'global index' })),
  ];

  const pickField = async (arg: unknown): Promise<string | undefined> => {
    const given = argsOf(arg).field;
    if (given !== undefined) return checked(given, validateField, 'field');
    const fields = indexedFields();
    if (!fields.length && model.snapshot.spec) {
      // The running spec names no index: every query would fail, so nothing is asked for.
      throw new UserError('This cluster indexes no field: its spec has neither "indexFields" nor "globalIndexFields".',
        'Add the JSON fields to query, e.g. "indexFields": ["color"], to .ringdb/cluster.json and start the cluster again (indexes are built from the stored values).');
    }
    if (!fields.length) return askText('JSON field to query (the cluster\'s spec is not known here)', validateField);
    const pick = await vscode.window.showQuickPick(fields.map((f) => ({ label: f.field, description: f.kind })), {
      title: 'RingDB: Query Index', placeHolder: 'Pick an indexed JSON field',
    });
    return pick?.label;
  };

  /** A field the nodes do not index becomes a message that says how to index it. */
  const notIndexed = (err: unknown, field: string): unknown => {
    const RingDbError = loadedEngineClient()?.RingDbError;
    if (!RingDbError || !(err instanceof RingDbError) || err.code !== 'invalid-argument' || !/is not indexed|has no \w+ index/.test(err.message)) return err;
    log.error(`Query Index: the nodes refused field "${field}"`, err);
    const fields = indexedFields().map((f) => f.field);
    return new UserError(
      `The field "${field}" is not indexed by this cluster (indexed: ${fields.length ? fields.join(', ') : 'none'}).`,
      `Pick one of those, or add "${field}" to "indexFields" (or "globalIndexFields") in .ringdb/cluster.json and start the cluster again (indexes are rebuilt from the stored values).`,
    );
  };

  const query = (arg?: unknown): Promise<QueryIndexSummary | undefined> => runReported(log, 'Query Index', async () => {
    const field = await pickField(arg);
    if (field === undefined) return undefined;
    const given = argsOf(arg).value;
    const value = given !== undefined ? checked(given, validateIndexValue, 'value')
      : await askText(`Value of "${field}" to match (numbers and booleans as their JSON text, strings without quotes)`, validateIndexValue);
    if (value === undefined) return undefined;
    const node = coordinatorFor(model, arg);
    const nodeClient = await session.nodeClient(node);
    const { ConvergenceClient, storedKeyText } = await engineClient();
    const conv = new ConvergenceClient(nodeClient.target);
    const summary = await withCancellableProgress(`Querying ${field} = ${value}…`, {
      state: 'Nothing was changed; the answer is dropped.', also: cancellationArg(arg),
    }, async (progress) => {
      const r = await conv.queryIndex(field, value)
        .catch((err: unknown) => { throw notIndexed(err, field); })
        .finally(() => conv.close());
      progress.report({ message: `${r.keys.length} keys; reading their values on ${node}` });
      // Shown as a person reads them (a row as "o1 / c1"), read by their stored bytes.
      const matches = await Promise.all(r.keys.map(async (stored, i): Promise<IndexMatch> => {
        const key = storedKeyText(stored);
        if (i >= MAX_VALUES_READ) return { key, value: undefined, version: undefined, error: undefined };
        try {
          const g = await nodeClient.get(stored);
          return { key, value: g.found ? g.value.toString('utf8') : undefined, version: g.version, error: g.found ? undefined : g.deleted ? 'deleted since it was indexed' : 'not found' };
        } catch (err) {
          return { key, value: undefined, version: undefined, error: explain(err).message };
        }
      }));
      return { field, value, node, matches, nodes: r.nodes, unreachable: r.unreachable };
    });
    log.info(`query ${field} = ${value} on ${node}: ${summary.matches.length} keys from ${summary.nodes.join(', ')}`
      + (summary.unreachable.length ? `; not reached: ${summary.unreachable.join('; ')}` : ''));
    if (!argsOf(arg).quiet) await results.show(`query ${field}=${value}`, renderQuery(summary));
    return summary;
  });

  return [vscode.commands.registerCommand(Commands.queryIndex, query)];
}

export function renderQuery(s: QueryIndexSummary): string {
  const head = [`# Query Index: ${code(s.field)} = ${code(s.value)}`, '',
    `- **${s.matches.length}** matching key${s.matches.length === 1 ? '' : 's'}; asked **${s.node}**, which merged the indexes of: ${s.nodes.join(', ')}`,
    ...(s.unreachable.length ? [`- not reached (their keys may be missing): ${s.unreachable.map((u) => literal(u)).join('; ')}`] : []),
    `- values and versions as ${s.node} reads them${s.matches.length > MAX_VALUES_READ ? ` (the first ${MAX_VALUES_READ} keys)` : ''}`, ''];
  if (!s.matches.length) return [...head, 'No key has this value (indexes are eventually consistent: a write that just happened may still be on its way).'].join('\n');
  const rows = s.matches.map((m) => `| ${code(clip(m.key), true)} | ${m.value !== undefined ? code(clip(m.value), true) : m.error ? `*(${literal(clip(m.error))})*` : '—'} | ${m.version?.opId ?? '—'} | ${m.version?.ts ?? '—'} |`);
  return [...head, '| key | value | version | timestamp |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
