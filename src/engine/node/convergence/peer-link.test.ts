// A peer that stops answering while a round's call waits on it (real process, paused with
// SIGSTOP after it answered): the call is cancelled once a ping beside it goes unanswered, and
// says so, where it waited out its 30 s deadline with grpc's "Deadline exceeded" as the reason.
import { strict as assert } from 'node:assert';
import { TestCluster } from '../test-harness';
import { PeerLink, PeerStoppedAnswering } from './peer-link';

describe('PeerLink with a peer that stops answering during a call (real process)', function () {
  this.timeout(60_000);
  let c: TestCluster;
  let link: PeerLink;
  let paused: number | undefined;

  before(async () => {
    c = await TestCluster.start(1, { antiEntropyIntervalMs: 3_600_000 });
    link = new PeerLink('n1', c.node('n1').address, c.token, 'tester');
  });
  after(async () => {
    if (paused !== undefined) process.kill(paused, 'SIGCONT');
    link?.close();
    await c?.stop();
  });

  it('cancels the call once the peer lets a ping pass, and names that as the reason', async () => {
    const traffic = { bytesSent: 0, bytesReceived: 0 };
    const answered = await link.roots(0, [0], traffic);
    assert.equal(answered.roots.length, 1, 'the peer answers before it is paused');
    paused = c.node('n1').pid;
    process.kill(paused, 'SIGSTOP');
    const failed = await link.roots(0, [0], traffic).then(() => undefined, (e: unknown) => e);
    assert.ok(failed instanceof PeerStoppedAnswering, `failed with ${String(failed)}`);
    assert.equal(failed.message, 'n1 stopped answering during the call: it did not answer a ping within 5 s (its process runs but answers nothing: hung, paused or overloaded)');
    process.kill(paused, 'SIGCONT');
    paused = undefined;
    // A peer that answers again is asked as before: the cancelled call left the channel usable.
    assert.equal((await link.roots(0, [0], traffic)).roots.length, 1);
  });
});
