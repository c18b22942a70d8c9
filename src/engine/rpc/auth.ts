// The cluster token: every RPC carries it as metadata, and every server checks it before the
// handler runs, so an unauthenticated call can never change anything.
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  status,
  type Metadata,
  type ServiceDefinition,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { TOKEN_METADATA_KEY } from './channel';
import { answeredMetadata } from './errors';

/** Tokens are printable, without spaces, so they travel as ASCII metadata and sit in a one-line file. */
const TOKEN_PATTERN = /^[\x21-\x7e]{16,512}$/;

export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

/** Reads a token file (surrounding whitespace ignored) and checks the token's shape. */
export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TokenError(`cannot read token file ${file}: ${(err as Error).message}`);
  }
  const token = text.trim();
  if (!TOKEN_PATTERN.test(token)) {
    throw new TokenError(`token file ${file} must hold 16 to 512 printable ASCII characters without spaces`);
  }
  return token;
}

/** Why `metadata` fails to authenticate against `token`, or undefined when it is fine. */
export function checkToken(metadata: Metadata, token: string): string | undefined {
  const values = metadata.get(TOKEN_METADATA_KEY);
  if (values.length === 0) return `missing ${TOKEN_METADATA_KEY} metadata; every call must carry the cluster token`;
  const given = values[0];
  if (typeof given !== 'string') return `${TOKEN_METADATA_KEY} must be ASCII metadata`;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  // Constant time, so the token cannot be guessed byte by byte from response times.
  if (a.length !== b.length || !timingSafeEqual(a, b)) return `wrong ${TOKEN_METADATA_KEY}; use the token of this cluster`;
  return undefined;
}

interface AuthCall {
  metadata: Metadata;
  emit(event: 'error', err: unknown): boolean;
}
type UnaryCallback = (err: { code: status; details: string; metadata: Metadata } | null) => void;

/**
 * Wraps every handler of `impl` so a call whose token is missing or wrong is answered with
 * UNAUTHENTICATED before the handler sees it.
 */
export function withAuth<T extends object>(definition: ServiceDefinition, impl: T, token: string): T {
  const wrapped: UntypedServiceImplementation = {};
  const handlers = impl as unknown as Record<string, UntypedHandleCall>;
  for (const [name, method] of Object.entries(definition)) {
    const handler = handlers[name];
    // grpc-js answers a method without a handler with UNIMPLEMENTED, which changes nothing.
    if (typeof handler !== 'function') continue;
    const responds = !method.responseStream;
    wrapped[name] = ((call: AuthCall, callback?: UnaryCallback) => {
      const problem = checkToken(call.metadata, token);
      if (problem === undefined) return (handler as (c: AuthCall, cb?: UnaryCallback) => void)(call, callback);
      const err = { code: status.UNAUTHENTICATED, details: problem, metadata: answeredMetadata() };
      if (responds && callback) callback(err);
      else call.emit('error', err);
    }) as UntypedHandleCall;
  }
  return wrapped as unknown as T;
}
