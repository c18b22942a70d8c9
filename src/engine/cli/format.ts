// Human output of the CLI: aligned tables and short durations, nothing a script should parse
// (scripts use --json).

import { basename } from 'node:path';
import type { ClusterDescription, CoordinationCounters, NodeState, NodeWriteResult, SSTableInfo, Version } from '../client';
import { utf8Text } from '../codec/bytes-text';

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatVersion(v: Version | undefined): string {
  if (!v) return '(no version)';
  // Vector mode's versions are vector clocks, with no single op id: the timestamp alone then.
  return v.opId ? `op ${v.opId} ts ${v.ts}` : `ts ${v.ts}`;
}

/** A write's line, the same with or without --node: where it was coordinated, who acknowledged it, and hints. */
export function formatWrite(done: string, w: NodeWriteResult): string {
  const hinted = Object.entries(w.hinted).map(([replica, substitute]) => `${substitute} for ${replica}`);
  return `${done} ${formatVersion(w.version)} on ${w.node} (acknowledged by ${w.replicas.join(', ') || w.node}${hinted.length ? `; hints: ${hinted.join(', ')}` : ''})`;
}

/**
 * A read that found nothing. It names the nodes whose answers it rests on: the coordinator may
 * not have asked its own copy (it is not a replica, or R other replicas answered first).
 */
export function formatNotFound(shown: string, r: { deleted: boolean; version: Version | undefined; node: string; replicas: string[] }): string {
  const why = r.deleted ? `deleted ${formatVersion(r.version)}` : 'never written';
  return `${shown} not found (${why}; coordinated by ${r.node}, answered by ${r.replicas.join(', ') || r.node})`;
}

/** A key one node's own copy lacks (`get --local`): other replicas may hold it. */
export function formatNotFoundInOwnCopy(shown: string, node: string, r: { deleted: boolean; version: Version | undefined }): string {
  const why = r.deleted ? `deleted ${formatVersion(r.version)}` : 'never written there';
  return `${shown} not found in ${node}'s own copy (${why}; other replicas may differ until they converge)`;
}

/**
 * The tables a flush wrote, as the flush named them, each marked when a compaction merged it
 * before the listing `now` was taken (a diff of the listings would name the compaction's output).
 */
export function formatFlushed(written: readonly SSTableInfo[], now: readonly SSTableInfo[]): string {
  const listed = new Set(now.map((t) => t.file));
  return written.map((t) => `${basename(t.file)} (L${t.level}, ${t.entries} ${t.entries === 1 ? 'entry' : 'entries'}` +
    `${listed.has(t.file) ? '' : '; since merged by a compaction'})`).join(', ');
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export interface ReadCacheCounts {
  hits: number;
  misses: number;
  entries: number;
}

/** A node's counters, or why it gave none (it did not answer in time). */
export type ReadCacheAnswer = ReadCacheCounts | { unanswered: string };

/** The read cache per node: hits of the reads it answered since the node started. */
export function formatReadCache(cacheSize: number, perNode: Readonly<Record<string, ReadCacheAnswer>>): string {
  const rows = Object.keys(perNode).sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).map((id) => {
    const answer = perNode[id];
    if ('unanswered' in answer) return `  ${id}: ${answer.unanswered}`;
    const { hits, misses, entries } = answer;
    const reads = hits + misses;
    return `  ${id}: ${hits} hit${hits === 1 ? '' : 's'} of ${reads} read${reads === 1 ? '' : 's'}${reads ? ` (${Math.round((hits / reads) * 100)} %)` : ''}, ${entries} entr${entries === 1 ? 'y' : 'ies'} cached`;
  });
  return [`read cache (cacheSize ${cacheSize} per node, since each node started):`, ...(rows.length ? rows : ['  no node is up'])].join('\n');
}

/**
 * A value `get` read, as it prints it and as --json gives it: the text when it is UTF-8, else its
 * bytes in base64 (`base64:` in the human output), which text could not give back.
 */
export function readValue(found: boolean, bytes: Buffer): { human: string; value: string | null; valueBase64: string | null } {
  const text = utf8Text(bytes);
  const base64 = text === undefined ? bytes.toString('base64') : null;
  return { human: text ?? `base64:${base64 ?? ''}`, value: found ? text ?? null : null, valueBase64: found ? base64 : null };
}

/** Whether a node in this state answers requests (a suspect one is only slow to answer pings). */
export function answersRequests(state: NodeState | 'unknown' | undefined): boolean {
  return state === 'up' || state === 'suspect';
}

/**
 * Why hints held by a node that is not up are not handed over, even to a target that is back: they
 * wait on the holder's disk (the count is its last report). Without this a held count beside an
 * up target read as a handoff that had stalled.
 */
export function holderNote(holder: string, state: NodeState | undefined): string {
  if (state === 'suspect') return ` (${holder} is suspect: its last report before it stopped answering; it hands them over once it answers again)`;
  if (state === undefined || answersRequests(state)) return '';
  if (state === 'starting') return ` (${holder} is starting: it hands them over once it is up)`;
  return ` (${holder} is ${state}: they wait on its disk until it is back; \`ringdb restart ${holder}\`)`;
}

/**
 * The nodes whose hotspot counts `ringdb hot` could not sum: each node counts the requests it
 * coordinated, in memory, so a node that is not up adds nothing (and a restarted one starts from
 * zero). Without this, a workload sent through a node killed since read as no workload at all.
 */
export function uncountedNote(c: Pick<ClusterDescription, 'nodes'>): string {
  const notUp = c.nodes.filter((n) => !answersRequests(n.state)).map((n) => n.id);
  if (notUp.length === 0) return '';
  const one = notUp.length === 1;
  return `not counted: ${notUp.join(', ')}, not up (each node counts the requests it coordinated, in memory: ` +
    `the counts of a node that went down are gone, so a workload sent through ${one ? 'it' : 'them'} is not in these figures)`;
}

export function formatStatus(c: ClusterDescription): string {
  const up = c.nodes.filter((n) => n.state === 'up').length;
  const head = `cluster in ${c.dataDir}: ${c.phase}, ${up}/${c.nodes.length} nodes up (controller ${c.controllerAddress}, pid ${c.controllerPid})`;
  if (c.nodes.length === 0) return head;
  const now = Date.now();
  const rows = c.nodes.map((n) => [
    n.id,
    n.state,
    n.address || '-',
    n.pid ? String(n.pid) : '-',
    n.pid && n.startedAtUnixMs ? formatDuration(now - n.startedAtUnixMs) : '-',
    n.stats ? String(n.stats.clock) : '-',
    n.stats ? String(n.stats.seq) : '-',
    n.stats ? String(n.stats.storage.sstables.length) : '-',
    n.state === 'up' ? '' : n.reason,
  ]);
  const lines = [head, table(['NODE', 'STATE', 'ADDRESS', 'PID', 'UPTIME', 'CLOCK', 'WRITES', 'SSTABLES', 'NOTE'], rows)];
  if (c.routerAddress) lines.push(`router: ${c.routerAddress}`);
  else if (c.routerNote) lines.push(`router: down: ${c.routerNote}`);
  const states = new Map(c.nodes.map((n) => [n.id, n.state]));
  const backlog = c.nodes.flatMap((n) => (answersRequests(n.state) && n.stats ? n.stats.peers : [])
    .filter((p) => p.destination && p.pendingOps > 0).map((p) => ({ holder: n.id, peer: p })));
  if (backlog.length > 0) {
    // pendingOps counts log entries from the peer's cursor, some of which may not be bound for it: an upper bound.
    lines.push('replication backlog (logged ops a peer has not acknowledged yet, resent until it does):');
    for (const { holder, peer } of backlog) {
      // The holder's own view of its peer (heartbeats), which can lag the controller's table above.
      const state = peer.state === 'up' ? '' : ` (${holder} sees ${peer.id} ${peer.state})`;
      // A suspect holder's figures are from before it stopped answering, not a handoff that stalled.
      const stale = states.get(holder) === 'suspect' ? ` (${holder} is suspect: its last report)` : '';
      lines.push(`  ${holder} -> ${peer.id}: up to ${peer.pendingOps} op${peer.pendingOps === 1 ? '' : 's'}${state}${stale}`);
    }
  }
  const hints = (c.hints ?? []).filter((h) => h.count > 0);
  const expired = c.nodes.filter((n) => (n.stats?.hints?.expired ?? 0) > 0);
  if (hints.length > 0 || expired.length > 0) {
    lines.push('hints (writes held for a replica that was down, handed over when it is back):');
    for (const h of hints) {
      const oldest = h.oldestUnixMs > 0 ? `, oldest ${formatDuration(Math.max(0, now - h.oldestUnixMs))} old` : '';
      lines.push(`  ${h.holder} holds ${h.count} for ${h.target}${oldest}${holderNote(h.holder, states.get(h.holder))}`);
    }
    for (const n of expired) {
      const { expired: count, expiredFor } = n.stats!.hints!;
      const targets = Object.entries(expiredFor).sort((a, b) => b[1] - a[1]);
      const forWhom = targets.length === 1 ? ` for ${targets[0][0]}` : targets.length > 1 ? ` (${targets.map(([t, c]) => `${c} for ${t}`).join(', ')})` : '';
      lines.push(`  ${n.id} dropped ${count} undelivered${forWhom}, older than storage.tombstoneGraceMs (Merkle repair brings their keys)`);
    }
  }
  const coordinating = c.nodes.filter((n) => answersRequests(n.state) && n.stats?.coordination && n.stats.coordination.reads + n.stats.coordination.writes > 0);
  if (coordinating.length > 0) {
    lines.push('requests coordinated (since each node started):');
    for (const n of coordinating) lines.push(`  ${n.id}: ${formatCoordination(n.stats!.coordination!)}`);
  }
  return lines.join('\n');
}

/** When a read asks a replica beside a slow one, by the node's speculativeRetry. */
function speculationWait(k: Pick<CoordinationCounters, 'speculateAfterMs' | 'speculativeRetry'>): string {
  if (k.speculativeRetry === 'none') return 'reads never ask a replica beside a slow one (speculativeRetry "none")';
  if (k.speculativeRetry === 'always') return 'a read asks one more replica at once (speculativeRetry "always")';
  return `a read waits ${k.speculateAfterMs} ms on a replica before asking another`;
}

function formatCoordination(k: CoordinationCounters): string {
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const parts = [count(k.reads, 'read'), count(k.writes, 'write')];
  if (k.readRepairs > 0) parts.push(count(k.readRepairs, 'read repair'));
  if (k.forwarded > 0) parts.push(`${k.forwarded} forwarded`);
  if (k.notOwnerAnswers > 0) parts.push(`${k.notOwnerAnswers} answered NotOwner`);
  if (k.speculativeReads + k.speculationsRefused > 0) {
    const refused = k.speculationsRefused > 0 ? ` (${k.speculationsRefused} more refused by the retry budget)` : '';
    parts.push(`${count(k.speculativeReads, 'replica')} asked beside a slow one${refused}`);
  }
  // Only reads asking another node wait; a node that coordinated writes alone has timed nothing.
  if (k.reads > 0) parts.push(speculationWait(k));
  return parts.join(', ');
}
