// Limits and options shared by every RingDB server and client, so both ends agree on them.
import type { ChannelOptions, ServerOptions } from '@grpc/grpc-js';
import { FLOW_CONTROL_WINDOW_BYTES } from './flow-control';

/** Largest key or value a request may carry. */
export const MAX_VALUE_BYTES = 16 * 1024 * 1024;
/** Largest message on the wire: one maximal value plus room for the key and framing. */
export const MAX_MESSAGE_BYTES = MAX_VALUE_BYTES + 1024 * 1024;

/** Metadata key that carries the cluster token on every call. */
export const TOKEN_METADATA_KEY = 'x-ringdb-token';

/** Default deadline for a call that does not inherit one. */
export const DEFAULT_DEADLINE_MS = 10_000;

export const channelOptions: ChannelOptions = {
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  // Peers restart often in tests and demos: reconnect quickly instead of backing off for minutes.
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  // Scan pages and pulled updates come back without waiting for WINDOW_UPDATEs (flow-control.ts).
  'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
  // Nothing reads channelz here; it timestamps and counts every message of every call.
  'grpc.enable_channelz': 0,
};

export const serverOptions: ServerOptions = {
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  // Read by grpc-js versions that support it on servers; flow-control.ts covers the others.
  'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
  'grpc.enable_channelz': 0,
};
