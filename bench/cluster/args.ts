// Command-line values shared by the cluster benchmarks' option parsers.

/** `v` as an integer from `min` to `max`, or an error naming the flag and what it accepts. */
export function intArg(flag: string, v: string | undefined, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}
