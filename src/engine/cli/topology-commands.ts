// The `ringdb` commands of partitioning: rows through the topology-aware driver (put/get/delete
// with --clustering, scan), the map (ring, where) and the topology operations (split, merge,
// rebalance, hot, mark-hot). Each returns what to print and its exit code; main.ts prints.

import { base64IfNotUtf8, bytesText, keyText, printableKeyText, quotedKeyText } from '../codec/bytes-text';
import { Driver, RingDbError, type ControllerClient, type KeyRef, type NodeAttempt, type PartitionMapInfo, type Version } from '../client';
import { UsageError, type CommandSpec, type OptionSpec, type Parsed } from './args';
import { placementOf } from '../client/driver';
import { quorumArg } from './cluster-facts';
import { formatNotFound, formatVersion, formatWrite, readValue, table, uncountedNote } from './format';
import { formatKeyHints, formatOwnCopies, hintsOfKey, ownCopies, unreadHintHolders } from './own-copies';

const OK = 0;
const FAILED = 1;

export interface TopologyResult {
  code: number;
  human: string;
  json: unknown;
  /** A line for stderr in the human output only, about how the result came (the JSON says it in its fields). */
  notice?: string;
}

const dirOption: OptionSpec = { name: 'dir', kind: 'string', value: 'folder', help: 'data folder of the cluster (default: the spec\'s dataDir, .ringdb/data)' };
export const clusteringOption: OptionSpec = { name: 'clustering', kind: 'string', value: 'ck', help: 'clustering key: address a row of the partition key instead of a plain key' };
const MAX_SCAN_ROWS = 1_000_000;
/** A partition key's limit, as the controller checks it (a longer --at was refused naming the request field split_key). */
const MAX_SPLIT_KEY_BYTES = 64 * 1024;

export const TOPOLOGY_COMMANDS: CommandSpec[] = [
  {
    name: 'scan', args: ['partitionKey'], summary: 'list a partition\'s rows in clustering-key order',
    options: [
      { name: 'from', kind: 'string', value: 'ck', help: 'first clustering key (inclusive)' },
      { name: 'to', kind: 'string', value: 'ck', help: 'clustering key to stop before (exclusive)' },
      { name: 'limit', kind: 'int', min: 1, max: MAX_SCAN_ROWS, value: 'n', help: 'rows to print at most (default 100)' },
      { name: 'page', kind: 'int', min: 1, max: 10_000, value: 'n', help: 'rows per request (default 1000); pages follow the continuation token' },
      { name: 'r', kind: 'int', value: 'n', help: 'replicas of the partition that must answer, 1..N (default: the cluster\'s readQuorum)' },
      dirOption,
    ],
    details: [
      'Rows are written with `ringdb put <partitionKey> <value> --clustering <ck>`.',
      'Only the partition\'s replicas answer a scan: with fewer than --r of them up it fails (exit code 1) naming the ones that did not answer,',
      'rather than list a partial partition. A row written while every replica was down is listed once its hints reach the replicas (handoff, soon after they are back).',
      'With --json each row has `valueBase64`: a value that is not UTF-8 in base64 (its `value`, 0x and hex, could also be a text value), else null, as in `get --json`.',
    ],
  },
  {
    name: 'split', args: ['pid'], summary: 'split a partition in two (at the median key unless --at)',
    options: [{ name: 'at', kind: 'string', value: 'key', help: 'partition key that starts the new upper half' }, dirOption],
  },
  { name: 'merge', args: ['pid1', 'pid2'], summary: 'merge two adjacent partitions', options: [dirOption] },
  { name: 'rebalance', args: [], summary: 'spread partitions evenly over the nodes (counts differ by at most one)', options: [dirOption] },
  {
    name: 'hot', args: [], summary: 'show the busiest partitions and keys',
    options: [
      { name: 'reset', kind: 'flag', help: 'reset every node\'s counters instead' },
      { name: 'threshold', kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, value: 'ops', help: 'only partitions with more operations (default 0)' },
      { name: 'keys', kind: 'int', min: 1, max: 1000, value: 'n', help: 'hot keys to list (default 10)' },
      { name: 'split', kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER, value: 'ops', help: 'split every partition with more operations than this' },
      dirOption,
    ],
  },
  {
    name: 'mark-hot', args: ['key'], summary: 'spread a hot key\'s writes over salted variants',
    options: [
      { name: 'buckets', kind: 'int', min: 2, max: 1024, value: 'n', help: 'salted variants (default 4)' },
      { name: 'migrate', kind: 'flag', help: 'copy the key\'s current value to every variant' },
      dirOption,
    ],
  },
  { name: 'ring', args: [], summary: 'show the partition map: ranges, owners, replicas', options: [dirOption] },
  {
    name: 'where', args: ['key'], summary: 'show where a partition key lives: partition, replicas, salted variants, and what each replica holds',
    options: [dirOption],
  },
];

function str(p: Parsed, name: string): string | undefined {
  const v = p.options.get(name);
  return typeof v === 'string' ? v : undefined;
}

function int(p: Parsed, name: string): number | undefined {
  const v = p.options.get(name);
  return typeof v === 'number' ? v : undefined;
}

function pidArg(p: Parsed, index: number, name: string): number {
  const raw = p.args[index];
  if (!/^\d{1,10}$/.test(raw) || Number(raw) > 0xffffffff) throw new UsageError(`<${name}> must be a partition id (an integer from 0, see \`ringdb ring\`), got ${JSON.stringify(raw)}`, p.command);
  return Number(raw);
}


const versionJson = (v: Version | undefined): Version | null => v ?? null;

function counts(map: PartitionMapInfo): string {
  const c = new Map(map.nodeIds.map((n) => [n, 0]));
  for (const p of map.partitions) c.set(p.owner, (c.get(p.owner) ?? 0) + 1);
  return [...c].map(([n, k]) => `${n}: ${k}`).join(', ');
}

export function formatRing(map: PartitionMapInfo): string {
  const head = `partition map version ${map.version}: ${map.partitions.length} ${map.strategy} partitions over ${map.nodeIds.join(', ')}; ` +
    `N=${map.replicationFactor} W=${map.writeQuorum} R=${map.readQuorum}, forwarding ${map.enableForwarding ? 'on' : 'off'}${map.loadBalanceReads ? ', balanced reads' : ''}`;
  const rows = map.partitions.map((p) => [String(p.id), p.range, p.owner, p.replicas.join(','), map.strategy === 'hash' ? `${(p.share * 100).toFixed(2)}%` : '-', String(p.ops)]);
  const salted = map.saltedKeys.length ? `\nsalted keys: ${map.saltedKeys.map((s) => `${quotedKeyText(Buffer.from(s.keyHex, 'hex'))} x${s.buckets}`).join(', ')}` : '';
  return `${head}\n${table(['PID', 'RANGE', 'OWNER', 'REPLICAS', 'SHARE', 'OPS'], rows)}\npartitions per node: ${counts(map)}${salted}`;
}

/** Says that --node `via` did not give the answer, why (the driver's attempt), who did, and what to do about `via`. */
function askedElsewhere(via: string, answered: string, passedOver: readonly NodeAttempt[], placementName: string): string {
  const why = passedOver.find((a) => a.node === via)?.answer;
  // A NotOwner answer came from a node that is up: restarting it would change nothing. A node the
  // controller lists as down was refused before the driver ran, so any other miss is a node that
  // was running but did not answer.
  const next = why?.startsWith('NotOwner')
    ? `${via} is up but is not a replica of ${JSON.stringify(placementName)}: \`ringdb where ${JSON.stringify(placementName)}\` names its replicas`
    : `${via} was not down but did not answer, hung or overloaded: \`ringdb status\` shows its state; \`ringdb restart ${via}\` replaces its process`;
  return `asked ${via} (--node) first${why ? `: ${why}` : ''}; ${answered} answered instead (${next})`;
}

/**
 * Says which answers came from nodes outside the key's replicas (a sloppy quorum: one stands in
 * for a replica that is down, from a hint it keeps or with nothing), which the value alone hides.
 * None for a salted key, whose variants have replicas of their own.
 */
function standInNote(driver: Driver, name: string, isRow: boolean, answered: readonly string[]): string[] {
  const bytes = Buffer.from(name, 'utf8');
  if (!isRow && driver.partitionMap.saltedKeys.some((s) => s.keyHex === bytes.toString('hex'))) return [];
  const replicas = driver.replicasFor(isRow ? bytes : placementOf({ key: bytes }), true);
  const standIns = answered.filter((n) => !replicas.includes(n));
  if (standIns.length === 0) return [];
  const missing = replicas.filter((n) => !answered.includes(n));
  const who = standIns.length === 1 ? `${standIns[0]} is not a replica of ${JSON.stringify(name)}` : `${standIns.join(', ')} are not replicas of ${JSON.stringify(name)}`;
  return [`${who} (its replicas are ${replicas.join(', ')}) and answered for ${missing.join(', ') || 'a replica'} from a hint it keeps, or with nothing: ` +
    `a sloppy quorum counts it toward R; \`ringdb where ${JSON.stringify(name)}\` shows each replica's own copy`];
}

/** put/get/delete through the driver (rows with --clustering, or any key without --node). */
export async function driverData(p: Parsed, c: ControllerClient): Promise<TopologyResult> {
  const clustering = str(p, 'clustering');
  const via = str(p, 'node');
  const name = p.args[0];
  if (name.length === 0) throw new RingDbError('invalid-argument', 'key: must not be empty');
  const key: KeyRef = clustering === undefined ? name : { partitionKey: name, clusteringKey: clustering };
  const shown = clustering === undefined ? JSON.stringify(name) : `${JSON.stringify(name)}/${JSON.stringify(clustering)}`;
  const driver = await Driver.connect(c, { watch: false });
  try {
    const base = { key: name, clusteringKey: clustering ?? null };
    // The driver passes over a named node that is down for another coordinator, so `--node n2 --w 2`
    // wrote while n2 was down: a node known to be down is refused as the plain request refuses it,
    // once the arguments are judged (a bad --w is a usage error whatever the node's state).
    const refuseDown = async () => { if (via !== undefined) await c.reachableMember(via); };
    if (p.command === 'put' || p.command === 'delete') {
      const opts = { via, w: quorumArg(p, 'w', driver.partitionMap) };
      await refuseDown();
      const w = p.command === 'put' ? await driver.put(key, p.args[1], opts) : await driver.delete(key, opts);
      const human = formatWrite(p.command === 'put' ? 'OK' : `deleted ${shown}`, w);
      const notice = via !== undefined && w.node !== via ? askedElsewhere(via, w.node, w.passedOver, name) : undefined;
      return { code: OK, human, json: { ...base, node: w.node, version: w.version, replicas: w.replicas, hinted: w.hinted, mapVersion: w.mapVersion, passedOver: w.passedOver }, notice };
    }
    const readQuorum = quorumArg(p, 'r', driver.partitionMap);
    await refuseDown();
    const r = await driver.get(key, { via, r: readQuorum });
    const { human, value, valueBase64 } = readValue(r.found, r.value);
    const json = {
      ...base, node: r.node, passedOver: r.passedOver, replicas: r.replicas, found: r.found, deleted: r.deleted,
      value, valueBase64, version: versionJson(r.version), mapVersion: r.mapVersion,
    };
    // The JSON names the answering node; a person reading only the value would take it for --node's.
    const notices = [
      ...(via !== undefined && r.node !== via ? [askedElsewhere(via, r.node, r.passedOver, name)] : []),
      ...standInNote(driver, name, clustering !== undefined, r.replicas),
    ];
    const notice = notices.length ? notices.join('\nringdb: ') : undefined;
    if (!r.found) return { code: FAILED, human: formatNotFound(shown, r), json, notice };
    return { code: OK, human, json, notice };
  } finally {
    driver.close();
  }
}

async function scan(p: Parsed, c: ControllerClient): Promise<TopologyResult> {
  const limit = int(p, 'limit') ?? 100;
  const page = int(p, 'page') ?? 1000;
  const driver = await Driver.connect(c, { watch: false });
  const rows: { clusteringKey: string | null; clusteringKeyBase64: string | null; value: string; valueBase64: string | null; version: Version | null }[] = [];
  let pages = 0;
  let token: Buffer | undefined;
  let more = false;
  try {
    const readQuorum = quorumArg(p, 'r', driver.partitionMap);
    do {
      const r = await driver.scan(p.args[0], { from: str(p, 'from'), to: str(p, 'to'), limit: Math.min(page, limit - rows.length), continuationToken: token, r: readQuorum });
      pages++;
      for (const row of r.rows) {
        const ck = row.clusteringKey;
        // keyText of a key that is not printable text ("0x630a31") could also be a text key: the bytes settle it.
        rows.push({
          clusteringKey: ck ? keyText(ck) : null, clusteringKeyBase64: ck && printableKeyText(ck) === undefined ? Buffer.from(ck).toString('base64') : null,
          // `value` of bytes that are not UTF-8 is 0x and hex, which a text value could also be: the base64 settles it.
          value: bytesText(row.value), valueBase64: base64IfNotUtf8(row.value), version: versionJson(row.version),
        });
      }
      token = r.continuationToken;
      more = token !== undefined;
    } while (more && rows.length < limit);
  } finally {
    driver.close();
  }
  const human = rows.length === 0
    ? `no rows in partition ${JSON.stringify(p.args[0])}`
    : `${table(['CLUSTERING', 'VALUE', 'VERSION'], rows.map((r) => [r.clusteringKey ?? '(none)', r.value, r.version ? formatVersion(r.version) : '-']))}\n${rows.length} rows${more ? ` (more after --limit ${limit})` : ''}`;
  return { code: OK, human, json: { partitionKey: p.args[0], rows, pages, more } };
}

function moved(m: { movedPartitions: number; transfers: number; entries: number }): string {
  return `${m.movedPartitions} partition${m.movedPartitions === 1 ? '' : 's'} changed owner, ${m.transfers} range cop${m.transfers === 1 ? 'y' : 'ies'}, ${m.entries} entr${m.entries === 1 ? 'y' : 'ies'} copied`;
}

async function hot(p: Parsed, c: ControllerClient): Promise<TopologyResult> {
  if (p.options.get('reset') === true) {
    await c.resetMetrics();
    return { code: OK, human: 'reset the hotspot counters of every up node', json: { reset: true } };
  }
  const splitAbove = int(p, 'split');
  if (splitAbove !== undefined) {
    const [r, described] = await Promise.all([c.checkHotPartitions(splitAbove), c.describe()]);
    const uncounted = uncountedNote(described);
    // A partition that could not be split at its median is hot all the same: say how to split it, and fail.
    const skipped = r.skipped.map((s) => `\n  ${s.pid}: not split: ${s.reason}`).join('');
    const down = [...new Set(r.skipped.flatMap((s) => (s.ownerDown === undefined ? [] : [s.ownerDown])))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    const restart = down.length ? `\nrestart ${down.join(', ')} (\`ringdb restart ${down[0]}\`) and run \`ringdb hot --split ${splitAbove}\` again, or` : '\n';
    const advice = r.skipped.length
      ? `${restart}${down.length ? ' ' : ''}split ${r.skipped.length === 1 ? 'it' : 'them'} at a key of your choice (\`ringdb split <pid> --at <key>\`), or, when one key makes the load, spread that key (\`ringdb mark-hot <key>\`; \`ringdb hot\` lists the hot keys)`
      : '';
    const human = (r.split.length ? `split ${r.split.join(', ')} (map version ${r.map.version})${skipped}${advice}` : `no partition split${r.skipped.length ? '' : `: none has more than ${splitAbove} operations`}${skipped}${advice}`) +
      (uncounted ? `\n${uncounted}` : '');
    return { code: r.skipped.length ? FAILED : OK, human, json: r };
  }
  const [parts, keys, described] = await Promise.all([c.getHotPartitions(int(p, 'threshold') ?? 0), c.getHotKeys(int(p, 'keys') ?? 10), c.describe()]);
  const uncounted = uncountedNote(described);
  const human = [
    `${parts.totalOps} operation${parts.totalOps === 1 ? '' : 's'} since the last reset${uncounted ? `\n${uncounted}` : ''}`,
    table(['PID', 'OPS', 'OWNER'], parts.partitions.slice(0, 20).map((h) => [String(h.pid), String(h.ops), h.owner])),
    '',
    table(['KEY', 'COUNT', '±'], keys.map((k) => [k.key, String(k.count), String(k.error)])),
  ].join('\n');
  return { code: OK, human, json: { ...parts, keys } };
}

export async function runTopologyCommand(p: Parsed, c: ControllerClient): Promise<TopologyResult> {
  switch (p.command) {
    case 'scan': return scan(p, c);
    case 'ring': {
      // The map's op counts are summed from the nodes when hot partitions are asked for, not as they
      // grow; best effort: the map itself is what `ring` is for, also while a node hangs.
      await c.getHotPartitions(0, { timeoutMs: 3_000 }).catch(() => undefined);
      const map = await c.getPartitionMap();
      return { code: OK, human: formatRing(map), json: map };
    }
    case 'where': {
      if (p.args[0].length === 0) throw new RingDbError('invalid-argument', 'key: must not be empty');
      const w = await c.whereIs(p.args[0]);
      const salted = w.saltBuckets ? `\nsalted over ${w.saltBuckets} buckets: ${w.variants.map((v, i) => `#${i} -> partition ${v.partitionId}`).join(', ')}` : '';
      const human = `${JSON.stringify(p.args[0])}: partition ${w.partitionId} ${w.range}, replicas ${w.replicas.join(', ')} (owner ${w.replicas[0]}); position ${w.positionHex}, in [${w.startHex}, ${w.endHex ?? 'the end'}); map version ${w.mapVersion}${salted}`;
      // A salted key's writes go to its variants' partitions; the plain key's copy is from before the salting.
      if (w.saltBuckets) return { code: OK, human: `${human}\n(each replica's own copy is not shown for a salted key: its values live under the variants)`, json: { key: p.args[0], ...w } };
      // One Describe for both: which nodes are up, and the spec's modes.
      const described = await c.describe();
      const [copies, hints] = await Promise.all([ownCopies(c, described, p.args[0], w.replicas), hintsOfKey(c, described, p.args[0])]);
      const hintsUnread = unreadHintHolders(described);
      return {
        code: OK,
        human: `${human}\n${formatOwnCopies(p.args[0], copies)}${formatKeyHints(hints, hintsUnread)}`,
        json: { key: p.args[0], ...w, copies: copies.copies, crdtType: copies.crdtType ?? null, hints, hintsUnread },
      };
    }
    case 'split': {
      const at = str(p, 'at');
      const atBytes = at === undefined ? 0 : Buffer.byteLength(at, 'utf8');
      if (atBytes > MAX_SPLIT_KEY_BYTES) throw new UsageError(`--at must be a partition key of 1 to ${MAX_SPLIT_KEY_BYTES} bytes, got ${atBytes}`, p.command);
      const r = await c.splitPartition(pidArg(p, 0, 'pid'), at);
      const upper = r.map.partitions.find((x) => x.id === r.newPid);
      return { code: OK, human: `split partition ${p.args[0]}: new partition ${r.newPid} ${upper?.range ?? ''} on ${upper?.owner ?? '?'} (map version ${r.map.version})`, json: r };
    }
    case 'merge': {
      const r = await c.mergePartitions(pidArg(p, 0, 'pid1'), pidArg(p, 1, 'pid2'));
      const merged = r.map.partitions.find((x) => x.id === r.pid);
      return { code: OK, human: `merged into partition ${r.pid} ${merged?.range ?? ''} on ${merged?.owner ?? '?'} (map version ${r.map.version}; ${moved(r.moves)})`, json: r };
    }
    case 'rebalance': {
      const r = await c.rebalance();
      return { code: OK, human: `rebalanced: ${counts(r.map)} (map version ${r.map.version}; ${moved(r.moves)})`, json: r };
    }
    case 'hot': return hot(p, c);
    case 'mark-hot': {
      if (p.args[0].length === 0) throw new RingDbError('invalid-argument', 'key: must not be empty');
      const buckets = int(p, 'buckets') ?? 4;
      const r = await c.markHotKey(p.args[0], buckets, p.options.get('migrate') === true);
      return { code: OK, human: `${JSON.stringify(p.args[0])} is salted over ${buckets} buckets (map version ${r.map.version}${p.options.get('migrate') === true ? `; value copied to ${r.migrated} variants` : ''})`, json: r };
    }
    default: throw new UsageError(`unknown command ${JSON.stringify(p.command)}`);
  }
}
