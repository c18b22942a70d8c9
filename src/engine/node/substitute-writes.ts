// Sloppy quorum when every replica of a key is down (the seed: "other healthy nodes are selected
// to complete the quorum"). An ordinary write is coordinated by a replica, which logs it and ships
// it to its placements. With no replica up there is nobody to forward to, so the healthy node the
// client reached coordinates instead:
//  - it takes op ids and timestamps of its own, logged as skips: its store must not hold keys of
//    partitions it does not replicate, and its peers' version vectors stay gap-free;
//  - each substitute of the sloppy preference list keeps the write as a hint for the replica it
//    stands in for (this node in its hint store, the others through StoreHints), and W counts the
//    substitutes whose hint is durable;
//  - handoff (handoff.ts) delivers each hint once its replica answers, and the replicas'
//    anti-entropy brings the write to any replica that had no substitute.

import type { HintToStore, NodeServiceClient, Version } from '../gen/ringdb/v1/node';
import { preferenceList, sloppyPreferenceList, type PartitionMap, type Placement } from '../partitioning';
import { describeError, InvalidFieldError, MAX_MESSAGE_BYTES, type ParentCall, unary, UnavailableError } from '../rpc';
import { callOutcome, refusedBeforeSending } from '../rpc/errors';
import { version } from './convert';
import { checkStoredEntry } from './data-move';
import type { Hint, HintStore } from './hints';
import { checkNodeId } from './validate';

/** What substitute writes need of the node (a RingNode): its id, own op ids, and its peers' channels. */
export interface SubstituteHost {
  readonly config: { readonly id: string };
  reserveOwnSeqs(count: number): Promise<{ firstSeq: number; firstTs: number }>;
  readonly peers: { client(id: string): NodeServiceClient; readonly callToken: string };
}

/** StoreHints takes at most this many hints per call. */
export const MAX_STORE_HINTS = 10_000;
/**
 * Bytes of hints sent in one StoreHints call: a megabyte short of the message limit, for what the
 * estimate leaves out. The hints of one BatchPut (at most the limit) carry a version and a
 * target each, so those for one holder can pass the limit by that much.
 */
export const STORE_HINTS_CHUNK_BYTES = MAX_MESSAGE_BYTES - 1024 * 1024;
/** Fields besides the key, value, target and op id (origin, ts, tags and lengths), rounded up. */
const HINT_OVERHEAD_BYTES = 64;
/** Of a write's wait, the part kept for resending a StoreHints whose answer never came (at most). */
const RESEND_RESERVE_MS = 1000;
const EMPTY = Buffer.alloc(0);
const OP_ID = /^(.+):([1-9]\d*)$/;

/** A write none of whose replicas is up: its stored key, value (null = delete) and partition. */
export interface OrphanWrite {
  stored: Buffer;
  value: Buffer | null;
  pid: number;
}

export interface SubstituteResult {
  version: Version;
  /** This node's seq in the op id. */
  seq: number;
  /** Substitutes whose hint is durable. */
  holders: string[];
  /** Down replica -> the substitute keeping its hint. */
  hinted: Record<string, string>;
}

export class SubstituteWrites {
  constructor(
    private readonly node: SubstituteHost,
    private readonly hints: HintStore,
    private readonly isUp: (id: string) => boolean,
  ) {}

  private get self(): string {
    return this.node.config.id;
  }

  /**
   * Where an orphan's hints go, checked before anything is written: each down replica's
   * substitute from the sloppy preference list, and this node for any replica left without one
   * (so every replica gets the write by handoff, not only by the next Merkle round). Refuses
   * (UNAVAILABLE) when fewer than `w` nodes would keep a hint. `at` prefixes the message (a batch
   * names its entry).
   */
  place(map: PartitionMap, pid: number, w: number, at = ''): Placement[] {
    const placements = sloppyPreferenceList(map, pid, this.isUp).filter((p) => p.hintedFor !== undefined);
    const replicas = preferenceList(map, pid);
    const covered = new Set(placements.map((p) => p.hintedFor));
    for (const r of replicas) if (!covered.has(r)) placements.push({ node: this.self, hintedFor: r });
    const holders = [...new Set(placements.map((p) => p.node))];
    if (holders.length < w) {
      throw new UnavailableError(`${at}w: ${w} acknowledgements needed, but all ${replicas.length} replicas of partition ${pid} (${replicas.join(', ')}) are down and only ` +
        `${holders.length} node${holders.length === 1 ? ' is' : 's are'} up to keep hints (${holders.join(', ')}); nothing was written; restart one of them (ringdb restart ${replicas[0]}) or write with a lower w`);
    }
    return placements;
  }

  /**
   * Writes `orphans` as hints on their placements (from `place`) and waits up to `budgetMs` for
   * them to be durable. Throws UNAVAILABLE naming the writes that fewer than `w` substitutes
   * keep; those kept anywhere are still handed off later.
   */
  async write(orphans: readonly OrphanWrite[], placements: readonly Placement[][], w: number, call: ParentCall, budgetMs: number): Promise<SubstituteResult[]> {
    const r = await this.node.reserveOwnSeqs(orphans.length);
    const now = Date.now();
    const versions = orphans.map((_, i) => version(r.firstTs + i, this.self, r.firstSeq + i));
    const byHolder = new Map<string, Hint[]>();
    /** For each write's placement, its hint's index in its holder's list: a holder may store only the first chunks. */
    const indexOf = orphans.map((o, i) => {
      const entry = { key: o.stored, value: o.value ?? EMPTY, deleted: o.value === null, version: versions[i] };
      return placements[i].map((p) => {
        const list = byHolder.get(p.node) ?? [];
        if (list.length === 0) byHolder.set(p.node, list);
        list.push({ target: p.hintedFor as string, opId: versions[i].opId, createdAt: now, entry });
        return list.length - 1;
      });
    });
    const deadline = Date.now() + budgetMs;
    const outcomes = new Map<string, HolderOutcome>(await Promise.all([...byHolder].map(async ([holder, hints]): Promise<[string, HolderOutcome]> => {
      if (holder !== this.self) return [holder, await this.storeOn(holder, hints, call, deadline)];
      try {
        await this.hints.add(hints);
        return [holder, { stored: hints.length }];
      } catch (err) {
        return [holder, { stored: 0, why: `refused: ${describeError(err)}` }];
      }
    })));
    const results = orphans.map((_, i): SubstituteResult => {
      const kept = placements[i].filter((p, k) => indexOf[i][k] < (outcomes.get(p.node) as HolderOutcome).stored);
      return {
        version: versions[i],
        seq: r.firstSeq + i,
        holders: [...new Set(kept.map((p) => p.node))],
        hinted: Object.fromEntries(kept.map((p) => [p.hintedFor as string, p.node])),
      };
    });
    const short = results.filter((res) => res.holders.length < w);
    if (short.length > 0) {
      const ids = short.slice(0, 5).map((res) => res.version.opId).join(', ') + (short.length > 5 ? ', …' : '');
      const why = [...outcomes].filter(([, o]) => o.why !== undefined).map(([holder, o]) => `${holder}: ${o.why}`).join('; ');
      throw new UnavailableError(`w: ${short.length} of ${orphans.length} writes whose replicas are all down were kept as hints by fewer than ${w} nodes known to hold them (${ids}; ${why}); ` +
        'the hints that were stored are handed off when a replica returns, so a retry may find them');
    }
    return results;
  }

  /**
   * StoreHints to `holder` by `deadline`, in chunks (storeHintChunks), one after another: how
   * many hints from the first were stored (the chunks the holder answered) and why the rest are
   * not counted. A chunk that fails ends the sending, so the hints after it are not sent.
   */
  private async storeOn(holder: string, hints: readonly Hint[], call: ParentCall, deadline: number): Promise<HolderOutcome> {
    const client = this.node.peers.client(holder);
    const settings = (ms: number) => ({ token: this.node.peers.callToken, parent: call, timeoutMs: Math.max(1, ms) });
    const reserve = Math.max(0, Math.min(RESEND_RESERVE_MS, (deadline - Date.now()) / 4));
    const chunks = storeHintChunks(hints);
    let i = 0;
    for (const part of chunks) {
      const chunk = { hints: part.map((h): HintToStore => ({ target: h.target, opId: h.opId, entry: h.entry })) };
      try {
        await this.storeChunk(holder, client, chunk, settings, deadline, reserve);
      } catch (err) {
        const why = err instanceof OutcomeUnknown || err instanceof NotReached ? err.message : `refused: ${describeError(err)}`;
        if (chunks.length === 1) return { stored: 0, why };
        const end = i + chunk.hints.length;
        const unsent = hints.length - end;
        return {
          stored: i,
          why: `${i} of ${hints.length} hints stored (StoreHints takes at most ${MAX_STORE_HINTS} hints or ${STORE_HINTS_CHUNK_BYTES >> 20} MiB a call), ` +
            `then ${end === i + 1 ? `hint ${end}` : `hints ${i + 1} to ${end}`}: ${why}` + (unsent > 0 ? `; the last ${unsent} were not sent` : ''),
        };
      }
      i += part.length;
    }
    return { stored: hints.length };
  }

  /**
   * One StoreHints call. A call that ended without the holder's answer (deadline, connection
   * lost) may still have stored the hints, so it is neither a failure nor a success: it is sent
   * again with the time kept for that, which the holder answers at once if it has them (a hint
   * it holds is not added twice), and only then counts. Throws OutcomeUnknown when that cannot be
   * settled in time. A call that never left (no connection could be made) stored nothing:
   * NotReached, a failure, with nothing to settle by resending.
   */
  private async storeChunk(
    holder: string,
    client: NodeServiceClient,
    chunk: { hints: HintToStore[] },
    settings: (ms: number) => { token: string; parent: ParentCall; timeoutMs: number },
    deadline: number,
    reserve: number,
  ): Promise<void> {
    try {
      await unary(client, client.storeHints, chunk, settings(deadline - Date.now() - reserve));
    } catch (first) {
      const outcome = callOutcome(first);
      if (outcome === 'never-sent') throw new NotReached(holder, first);
      // A refusal, as the holder's own would be: resending it could only fail the same way.
      if (outcome === 'answered' || refusedBeforeSending(first)) throw first;
      const left = deadline - Date.now();
      if (left <= 0) throw new OutcomeUnknown(holder, first, undefined);
      try {
        await unary(client, client.storeHints, chunk, settings(left));
      } catch (again) {
        throw new OutcomeUnknown(holder, first, again);
      }
    }
  }
}

/** Hints in the order given, cut into StoreHints calls of at most MAX_STORE_HINTS hints and STORE_HINTS_CHUNK_BYTES (a larger hint goes alone). */
export function storeHintChunks<H extends Pick<Hint, 'target' | 'opId' | 'entry'>>(hints: readonly H[]): H[][] {
  const chunks: H[][] = [];
  let current: H[] = [];
  let bytes = 0;
  for (const h of hints) {
    const size = h.entry.key.length + h.entry.value.length + h.target.length + 2 * h.opId.length + HINT_OVERHEAD_BYTES;
    if (current.length > 0 && (current.length === MAX_STORE_HINTS || bytes + size > STORE_HINTS_CHUNK_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(h);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** What became of one holder's hints: the first `stored` are durable there; `why` the others are not counted. */
interface HolderOutcome {
  stored: number;
  why?: string;
}

class OutcomeUnknown extends Error {
  constructor(holder: string, first: unknown, resend: unknown) {
    const tried = resend === undefined ? 'no time was left to ask again' : `asking again failed too (${describeError(resend)})`;
    super(`outcome unknown: StoreHints ended without ${holder}'s answer (${describeError(first)}) and ${tried}; ` +
      `${holder} may hold the hints, and then hands them over when a replica returns`);
    this.name = 'OutcomeUnknown';
  }
}

/** A StoreHints call that failed before it was sent: the holder stored nothing of it. */
class NotReached extends Error {
  constructor(holder: string, err: unknown) {
    super(`not stored: ${holder} could not be reached (${describeError(err)})`);
    this.name = 'NotReached';
  }
}

/** StoreHints' request checked field by field; each hint as the hint store keeps it. */
export function checkHintsToStore(hints: readonly HintToStore[], self: string, now: number): Hint[] {
  if (hints.length === 0 || hints.length > MAX_STORE_HINTS) throw new InvalidFieldError('hints', `must hold 1 to ${MAX_STORE_HINTS} hints, got ${hints.length}`);
  return hints.map((h, i) => {
    const at = `hints[${i}]`;
    if (!h.entry) throw new InvalidFieldError(`${at}.entry`, 'is required');
    const { origin } = checkStoredEntry(h.entry, `${at}.entry`);
    checkNodeId(`${at}.target`, h.target);
    if (h.target === self) throw new InvalidFieldError(`${at}.target`, `is this node (${self}); a node keeps hints only for other nodes`);
    const m = OP_ID.exec(h.opId);
    if (!m || m[1] !== origin) {
      throw new InvalidFieldError(`${at}.op_id`, `must be "<origin>:<seq>" with the origin of entry.version ("${origin}") and a seq from 1, got "${h.opId}"`);
    }
    return { target: h.target, opId: h.opId, createdAt: now, entry: { ...h.entry, version: { ...(h.entry.version as Version), opId: h.opId } } };
  });
}
