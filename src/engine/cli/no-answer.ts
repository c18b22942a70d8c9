// A node that let a call's deadline pass, told in the words of the command the person ran and with
// the node's state: the client's own message names the RPC ("ListSSTables on node n2: no answer
// before the deadline"), which says nothing about a flush, nor that the node is hung.
import { HUNG_PROBE_MS, HUNG_WORDS, RingDbError, type ControllerClient, type NodeClient } from '../client';

/** `work`'s result; a deadline `nodeId` let pass is told as `what` (see noAnswerError). */
export async function toldAs<T>(c: ControllerClient, nodeId: string, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw await noAnswerError(c, nodeId, what, err);
  }
}

/** `err` again, unless it is a deadline `nodeId` let pass: then one that says what to do about it. */
export async function noAnswerError(c: ControllerClient, nodeId: string, what: string, err: unknown): Promise<unknown> {
  if (!(err instanceof RingDbError) || err.code !== 'deadline-exceeded') return err;
  return silentNodeError(c, nodeId, what, 'did not answer in time');
}

/**
 * Throws, in `what`'s words, when `node` lets a ping pass (hung): the call that follows would wait
 * out its whole deadline. Call it outside toldAs, which would tell the error again.
 */
export async function refuseHung(c: ControllerClient, node: NodeClient, nodeId: string, what: string): Promise<void> {
  if (await node.hung()) throw await silentNodeError(c, nodeId, what, `did not answer a ping within ${HUNG_PROBE_MS / 1000} s`);
}

/** `what` failed as `nodeId` `missed` ("did not answer in time"): said with its state and what to do. */
async function silentNodeError(c: ControllerClient, nodeId: string, what: string, missed: string): Promise<RingDbError> {
  const { words } = await stateNow(c, nodeId);
  return new RingDbError('deadline-exceeded', `${what}: ${nodeId} ${missed}; ${words}. `
    + `Run it again once \`ringdb status\` shows ${nodeId} up, or restart it (\`ringdb restart ${nodeId}\`)`);
}

/**
 * How the controller lists `nodeId` now, in words: read again after a call it let pass, because
 * by then the heartbeats may have found it suspect where the listing before the call said up.
 */
export async function stateNow(c: ControllerClient, nodeId: string): Promise<{ state: string | undefined; words: string }> {
  const state = await c.member(nodeId).then((n) => n.state, () => undefined);
  const words = state === 'suspect' ? suspectPhrase(nodeId)
    : state === undefined ? `the controller did not say how ${nodeId} is` : `the controller lists ${nodeId} as ${state}`;
  return { state, words };
}

/** What a suspect node is, for a person who has to decide whether to wait or restart it. */
export function suspectPhrase(nodeId: string): string {
  return `${nodeId} is suspect: ${HUNG_WORDS}`;
}
