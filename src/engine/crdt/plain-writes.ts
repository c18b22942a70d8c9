// A CRDT key's stored value is its encoded state, changed only by ops that every replica merges.
// A plain Put of such a key would store bytes that are no state at all, and every later read,
// op and merge of the key would fail until it was deleted. So Put and BatchPut refuse CRDT keys
// (node edge and router), and a state that still cannot be decoded is reported as the stored
// data's problem, with the way back, not as the caller's bad input.

import type { CrdtName } from './types';

/** How a key of each type is changed: CLI commands, then the client API's op names. */
function waysToChange(type: CrdtName, key: string): string {
  const k = /^[\w.:/-]+$/.test(key) ? key : JSON.stringify(key);
  switch (type) {
    case 'gcounter': return `\`ringdb incr ${k} [--by N]\` (client API: crdtUpdate(key, "increment"))`;
    case 'pncounter': return `\`ringdb incr ${k} [--by N]\` or \`ringdb decr ${k} [--by N]\` (client API: crdtUpdate(key, "increment" | "decrement"))`;
    case 'orset': return `\`ringdb sadd ${k} <element>\` or \`ringdb srem ${k} <element>\` (client API: crdtUpdate(key, "add" | "remove", { element }))`;
    case 'lwwregister':
    case 'mvregister': return `\`ringdb set ${k} <value>\` (client API: crdtUpdate(key, "set", { element: value }))`;
  }
}

/** Why a Put/BatchPut of a CRDT key is refused, and what to use instead. */
export function plainWriteRefusal(key: string, type: CrdtName): string {
  return `${JSON.stringify(key)} is a CRDT key of type ${type} (the cluster spec's crdt setting); a put would replace its merged state `
    + `with bytes that are not a ${type} state, so nothing was written; change it with ${waysToChange(type, key)}, `
    + `or reset it with \`ringdb delete ${key}\``;
}

/** What a read or op of a CRDT key whose stored bytes do not decode as its type says. */
export function undecodableStateMessage(key: string, type: CrdtName, problem: string): string {
  return `the stored value of ${JSON.stringify(key)} is not a ${type} state (${problem}); it is damaged, or was written `
    + `as a plain value before the key was a CRDT key; \`ringdb delete ${key}\` resets it, after which ops start from the empty ${type}`;
}
