// What `--json` prints. The client's values carry two JSON documents as text, because that is
// how they cross gRPC: a cluster's spec (`specJson`) and a partition map's exact form (`mapJson`).
// Printed as they are, a script would need `jq '.specJson | fromjson'`; the spec is printed as
// an object under `spec` instead, and the exact map is left out, since the map's `partitions`
// (range, owner, replicas of each) already say everything a script reads.

export function forScripts(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(forScripts);
  // Buffers, Dates and the like print through their own toJSON.
  if (value === null || typeof value !== 'object' || typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key === 'mapJson' && typeof field === 'string') continue;
    if (key === 'specJson' && typeof field === 'string') out.spec = field === '' ? null : (JSON.parse(field) as unknown);
    else out[key] = forScripts(field);
  }
  return out;
}
