// What became of the parts of a BatchPut that its coordinator split: the entries it wrote itself
// and the ones it forwarded, one batch per receiving replica. The client gets one error for the
// whole batch; without each part's fate it cannot tell which entries to retry.

import { keyInMessage } from '../codec/bytes-text';
import type { BatchPutResponse } from '../gen/ringdb/v1/node';
import { callOutcome, describeError } from '../rpc/errors';
import { notOwnerOf } from '../rpc/not-owner';

/** A forwarded part: its receiver and the entries' indices in the client's batch. */
export interface ForwardedPart {
  to: string;
  at: number[];
}

/** A forwarded part's fate: how its call settled, or undefined if it had not by the time this node answered. */
export type Settled = PromiseSettledResult<unknown> | undefined;

type Fate = 'acknowledged' | 'failed' | 'unknown';

/** The first three entries, by index and key, an ellipsis for the rest. */
export function entriesText(at: readonly number[], entries: readonly { key: Buffer }[]): string {
  const shown = at.slice(0, 3).map((i) => entryText(i, entries));
  return shown.join(', ') + (at.length > 3 ? `, … (${at.length} in all)` : '');
}

/** One entry of the client's batch, as `entries[3] "key"` (a binary key as `entries[3] 0xff00…`). */
export function entryText(i: number, entries: readonly { key: Buffer }[]): string {
  return `entries[${i}] ${keyInMessage(entries[i].key)}`;
}

export function count(n: number): string {
  return `${n} entr${n === 1 ? 'y' : 'ies'}`;
}

/**
 * A failed forwarded call: refused by the receiver (its own words), never delivered (nothing
 * written), or lost after it was sent (it may have been written).
 */
function fateOf(to: string, settled: Settled): { fate: Fate; why: string } {
  if (settled === undefined) return { fate: 'unknown', why: `${to} had not answered when this node had to answer the batch` };
  if (settled.status === 'fulfilled') {
    const r = settled.value as Partial<BatchPutResponse>;
    const ids = r.origin && r.firstSeq !== undefined && r.count ? `${r.origin}:${r.firstSeq}${r.count > 1 ? ` to ${r.origin}:${r.firstSeq + r.count - 1}` : ''}` : '';
    return { fate: 'acknowledged', why: ids };
  }
  const err = settled.reason;
  const notOwner = notOwnerOf(err);
  if (notOwner) return { fate: 'failed', why: `${to} does not replicate partition ${notOwner.partitionId} under its map (version ${notOwner.mapVersion}), so nothing of them was written` };
  const outcome = callOutcome(err);
  if (outcome === 'answered') return { fate: 'failed', why: `${to} answered ${describeError(err)}` };
  // Only a call that never left wrote nothing: one whose connection dropped mid-call
  // ("Connection dropped", after the receiver read it) may have been written.
  if (outcome === 'never-sent') return { fate: 'failed', why: `${to} could not be reached (${describeError(err)}), so nothing of them was written` };
  return { fate: 'unknown', why: `the call to ${to} ended without its answer (${describeError(err)})` };
}

/** One sentence per forwarded part saying what became of its entries and whether to retry them. */
export function forwardedOutcome(parts: readonly ForwardedPart[], settled: readonly Settled[], entries: readonly { key: Buffer }[]): { text: string; allAcknowledged: boolean } {
  const sentences = parts.map((p, i) => {
    const { fate, why } = fateOf(p.to, settled[i]);
    const which = `${count(p.at.length)} forwarded to ${p.to} (${entriesText(p.at, entries)})`;
    const were = p.at.length === 1 ? 'was' : 'were';
    if (fate === 'acknowledged') return { fate, text: `The ${which} ${were} written${why ? ` (${why})` : ''} and acknowledged by W nodes: ${p.at.length === 1 ? 'it needs' : 'they need'} no retry` };
    if (fate === 'failed') return { fate, text: `The ${which} failed: ${why}; retry ${p.at.length === 1 ? 'it' : 'them'}` };
    return { fate, text: `The ${which} ${p.at.length === 1 ? 'has' : 'have'} an unknown outcome: ${why}; ${p.at.length === 1 ? 'it' : 'they'} may be written: read ${p.at.length === 1 ? 'it' : 'them'} back or retry (a retry writes the same value again)` };
  });
  return { text: sentences.map((s) => s.text).join('. '), allAcknowledged: sentences.every((s) => s.fate === 'acknowledged') };
}

/** Settles `calls` within `ms` (undefined: as long as they take); an unsettled call's slot stays undefined. */
export async function settleWithin(calls: readonly Promise<unknown>[], ms: number | undefined): Promise<Settled[]> {
  const settled: Settled[] = calls.map(() => undefined);
  const all = Promise.all(calls.map((c, i) => c.then(
    (value) => { settled[i] = { status: 'fulfilled', value }; },
    (reason: unknown) => { settled[i] = { status: 'rejected', reason }; },
  )));
  if (ms === undefined) {
    await all;
    return settled;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); })]);
  clearTimeout(timer);
  return [...settled];
}
