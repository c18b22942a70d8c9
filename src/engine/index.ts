// @ringdb/engine: the client API (what editors and scripts use) and the cluster spec.
// Processes (node, controller, CLI) are separate bundles with their own entries.
export * from './client';
