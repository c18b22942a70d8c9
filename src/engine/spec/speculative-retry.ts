// The `speculativeRetry` setting, as Cassandra's table option of that name: when a point read
// asks another replica beside one that has not answered. "99p" (the default) waits the 99th
// percentile of recent answers; "50ms" a fixed wait; "always" asks one replica more than R at
// once (within the read budget); "none" never asks beside a slow one (a failed replica is still
// replaced).

export type SpeculativeRetry =
  | { kind: 'none' }
  | { kind: 'always' }
  | { kind: 'fixed'; ms: number }
  | { kind: 'percentile'; quantile: number };

export const DEFAULT_SPECULATIVE_RETRY = '99p';
export const SPECULATIVE_RETRY_ACCEPTED = '"none", "always", a wait such as "50ms" (1 to 60000 ms), or a percentile of recent answers such as "99p" (50 to 99.9)';

const FIXED = /^([1-9]\d{0,4})ms$/;
const PERCENTILE = /^(\d{2}(?:\.\d)?)p$/;

/** The setting `text` stands for, or undefined when it is none of SPECULATIVE_RETRY_ACCEPTED. */
export function parseSpeculativeRetry(text: string): SpeculativeRetry | undefined {
  if (text === 'none' || text === 'always') return { kind: text };
  const fixed = FIXED.exec(text);
  if (fixed) {
    const ms = Number(fixed[1]);
    return ms <= 60_000 ? { kind: 'fixed', ms } : undefined;
  }
  const pct = PERCENTILE.exec(text);
  if (pct) {
    const p = Number(pct[1]);
    return p >= 50 && p <= 99.9 ? { kind: 'percentile', quantile: Math.round(p * 10) / 1000 } : undefined;
  }
  return undefined;
}
