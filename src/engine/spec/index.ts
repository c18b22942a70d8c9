export * from './types';
export { DEFAULT_SPEC, defaultClusterSpec, defaultClusterSpecText, fitQuorumsToNodes } from './defaults';
export { ClusterSpecError, checkClusterSpec, validateClusterSpec, type SpecCheck, type SpecIssue } from './validate';
export { parseClusterSpec, loadClusterSpecFile } from './parse';
export { locateSpecIssues, type LocatedSpecIssue } from './locate';
export { checkTopology, expandTopology } from './topology';
export { DEFAULT_SPECULATIVE_RETRY, parseSpeculativeRetry, SPECULATIVE_RETRY_ACCEPTED, type SpeculativeRetry } from './speculative-retry';
