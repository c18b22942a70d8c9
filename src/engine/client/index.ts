// @ringdb/engine/client: the only engine API the extension uses (and the CLI's too).
// Launch or find a controller, call it with typed methods, follow its events, and read or write
// keys on a node. No generated protobuf types cross this boundary.

export type * from './types';
export { ControllerClient, type ControllerAddress } from './controller-client';
export { NodeClient, type NodeAddress, type Bytes, type HintQuery } from './node-client';
export { EventStream } from './stream';
export {
  ConvergenceClient, type PeerRoundReport, type RepairReport, type ConvergenceStats, type CrdtOperation, type CrdtReading,
  type GlobalIndexStats, type IndexKindName, type IndexQueryResult,
  type VectorSibling, type SiblingsReading, type VectorWriteResult,
} from './convergence-client';
export { Driver, type DriverOptions, type NodeAttempt, type Routed, type RoutedGet, type RoutedWrite } from './driver';
export { Session, type SessionGet, type SessionReadOptions } from './session';
export { compareVersions, copyVerdicts, type CopyAnswer, type CopyVerdict, type CopyVerdicts } from './copy-verdicts';
export { HUNG_PROBE_MS, HUNG_WORDS } from '../rpc/hung-probe';
export { RingDbError, NoClusterError, LaunchError, type RingDbErrorCode } from './errors';
export {
  launchController, connectController, stopController, defaultControllerScript, CONTROLLER_READY,
  type LaunchOptions, type ControllerHandle, type ControllerExit,
} from './launch';
export { readRecordedSpec, recordedSpecSummary, replicationFactorChange, SPEC_RECORD_FILE } from '../cluster/spec-record';
export { getKeyOf, isSaltedStored, storedKeyText } from './key-text';
export { splitKeyPosition } from './split-key';
export { findController, readStateFile, STATE_FILE, TOKEN_FILE, CONTROLLER_LOG, type ControllerState } from './state-file';
export {
  defaultClusterSpec, defaultClusterSpecText, fitQuorumsToNodes, parseClusterSpec, validateClusterSpec, checkClusterSpec, loadClusterSpecFile, locateSpecIssues,
  ClusterSpecError, DEFAULT_SPEC, SPEC_LIMITS,
  type ClusterSpec, type SpecIssue, type LocatedSpecIssue, type SpecCheck, type StorageSpec, type TopologySpec, type KeyRangeSpec, type RouterSpec,
  type SyncPolicy, type PartitionStrategy, type ConsistencyMode, type CrdtType, type LogLevel,
} from '../spec';
