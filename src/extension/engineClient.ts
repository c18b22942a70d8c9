// The extension's one door to the engine: @ringdb/engine/client, loaded on first use. Loading it
// pulls in gRPC (300+ ms on a busy machine), so activation stays cheap and the cost is paid when
// a cluster is started. Types are free: they vanish at build time.
export type * from '@ringdb/engine/client';

type EngineClient = typeof import('@ringdb/engine/client');

let loaded: EngineClient | undefined;

export async function engineClient(): Promise<EngineClient> {
  loaded ??= await import('@ringdb/engine/client');
  return loaded;
}

/** The client module if something already loaded it (errors from it can only exist then). */
export function loadedEngineClient(): EngineClient | undefined {
  return loaded;
}
