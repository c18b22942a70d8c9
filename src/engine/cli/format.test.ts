import { strict as assert } from 'node:assert';
import type { ClusterDescription, NodeInfo, NodeStats, PeerStatus, SSTableInfo } from '../client';
import { formatFlushed, formatStatus, formatVersion, uncountedNote } from './format';
import { formatKeyHints, formatOwnCopies, judged, unreadHintHolders, type OwnCopy, type OwnSibling } from './own-copies';

describe('CLI formatting', () => {
  it('names the tables a flush wrote, marking one a compaction merged before the listing, by the flush\'s own word', () => {
    const table = (file: string, level: number, entries: number): SSTableInfo =>
      ({ id: 0, file, level, entries, minKey: 'a', maxKey: 'z', minKeySalted: false, maxKeySalted: false, tombstones: 0, sizeBytes: 100, bloomBits: 0, newestWriteUnixMs: 0, minTs: 1, maxTs: 1 });
    const written = [table('/d/n1/sst/000007.sst', 0, 1), table('/d/n1/sst/000008.sst', 0, 2)];
    // The listing after the flush holds 000007 and a compaction's output in place of 000008.
    const now = [table('/d/n1/sst/000007.sst', 0, 1), table('/d/n1/sst/000009.sst', 1, 3)];
    assert.equal(formatFlushed(written, now), '000007.sst (L0, 1 entry), 000008.sst (L0, 2 entries; since merged by a compaction)');
  });

  it('prints a version with its op id, and without an empty one (vector mode has none)', () => {
    assert.equal(formatVersion({ ts: 7, origin: 'n2', opId: 'n2:3' }), 'op n2:3 ts 7');
    assert.equal(formatVersion({ ts: 18, origin: 'n1', opId: '' }), 'ts 18');
    assert.equal(formatVersion(undefined), '(no version)');
  });

  it('shows the router, or why it is down, and the hints each node holds with their age', () => {
    const node = (id: string, state: NodeInfo['state']): NodeInfo => ({
      id, address: state === 'up' ? '127.0.0.1:4000' : '', pid: state === 'up' ? 10 : 0, state, startedAtUnixMs: 0,
      stateSinceUnixMs: 0, dataDir: '', logFile: '', reason: state === 'up' ? '' : 'killed by KillNode (SIGKILL)', stats: undefined, downOnPurpose: false,
    });
    const base: ClusterDescription = {
      phase: 'running', specJson: '{}', dataDir: '/d', controllerAddress: '127.0.0.1:1', controllerPid: 1, startedAtUnixMs: 0,
      nodes: [node('n1', 'up'), node('n2', 'down')],
    };
    assert.doesNotMatch(formatStatus(base), /router|hints/);
    assert.match(formatStatus({ ...base, routerAddress: '127.0.0.1:7000' }), /\nrouter: 127\.0\.0\.1:7000$/);
    assert.match(formatStatus({ ...base, routerAddress: '', routerNote: 'exited unexpectedly (killed by SIGKILL); restarting it' }),
      /\nrouter: down: exited unexpectedly \(killed by SIGKILL\); restarting it$/);
    const status = formatStatus({ ...base, hints: [
      { holder: 'n1', target: 'n2', count: 3, oldestUnixMs: Date.now() - 65_000, changes: 3 },
      { holder: 'n3', target: 'n2', count: 0, oldestUnixMs: 0, changes: 0 },
    ] });
    assert.match(status, /\nhints \(writes held for a replica that was down, handed over when it is back\):\n {2}n1 holds 3 for n2, oldest 1m\d*s? old$/);
  });

  it('says hints held by a node that is down wait on its disk, with the way to restart it (its target may be up), and a suspect one\'s are its last report', () => {
    const node = (id: string, state: NodeInfo['state']): NodeInfo => ({
      id, address: '127.0.0.1:4000', pid: state === 'up' ? 10 : 0, state, startedAtUnixMs: 0,
      stateSinceUnixMs: 0, dataDir: '', logFile: '', reason: state === 'up' ? '' : 'killed by KillNode at 2026-11-28T15:11:04Z', stats: undefined, downOnPurpose: state === 'down',
    });
    const status = formatStatus({
      phase: 'running', specJson: '{}', dataDir: '/d', controllerAddress: '127.0.0.1:1', controllerPid: 1, startedAtUnixMs: 0,
      nodes: [node('n1', 'up'), node('n2', 'up'), node('n3', 'starting'), node('n4', 'down'), node('n5', 'suspect')],
      hints: [
        { holder: 'n4', target: 'n2', count: 3, oldestUnixMs: 0, changes: 3 },
        { holder: 'n1', target: 'n2', count: 1, oldestUnixMs: 0, changes: 1 },
        { holder: 'n3', target: 'n2', count: 2, oldestUnixMs: 0, changes: 2 },
        { holder: 'n5', target: 'n2', count: 4, oldestUnixMs: 0, changes: 4 },
      ],
    });
    assert.match(status, /\n {2}n4 holds 3 for n2 \(n4 is down: they wait on its disk until it is back; `ringdb restart n4`\)\n {2}n1 holds 1 for n2\n {2}n3 holds 2 for n2 \(n3 is starting: it hands them over once it is up\)\n {2}n5 holds 4 for n2 \(n5 is suspect: its last report before it stopped answering; it hands them over once it answers again\)$/);
  });

  it('ringdb where says the hints of a holder that is down were not read, naming it and how to restart it', () => {
    const node = (id: string, state: NodeInfo['state']): NodeInfo => ({
      id, address: '127.0.0.1:4000', pid: 0, state, startedAtUnixMs: 0, stateSinceUnixMs: 0, dataDir: '', logFile: '', reason: '', stats: undefined, downOnPurpose: false,
    });
    const described: ClusterDescription = {
      phase: 'running', specJson: '{}', dataDir: '/d', controllerAddress: '127.0.0.1:1', controllerPid: 1, startedAtUnixMs: 0,
      nodes: [node('n1', 'up'), node('n2', 'up'), node('n3', 'down'), node('n10', 'stopped'), node('n4', 'down')],
      hints: [
        { holder: 'n10', target: 'n2', count: 1, oldestUnixMs: 0, changes: 1 },
        { holder: 'n4', target: 'n2', count: 3, oldestUnixMs: 0, changes: 3 },
        { holder: 'n4', target: 'n1', count: 2, oldestUnixMs: 0, changes: 2 },
        // Up holders are asked; a down node holding none has nothing unread.
        { holder: 'n1', target: 'n2', count: 1, oldestUnixMs: 0, changes: 1 },
        { holder: 'n3', target: 'n2', count: 0, oldestUnixMs: 0, changes: 1 },
      ],
    };
    const unread = unreadHintHolders(described);
    assert.deepEqual(unread, ['n4', 'n10']);
    const listed = [{ holder: 'n1', target: 'n2', version: { ts: 7, origin: 'n1', opId: 'n1:3' }, deleted: false }];
    assert.equal(formatKeyHints(listed, ['n4']), [
      '', 'hints of it (kept for a replica that was down, handed over when it is back):',
      '  HOLDER  FOR  VERSION       HOLDS', '  n1      n2   op n1:3 ts 7  value',
      'not read: the hints kept by n4, which is not up (they stay on its disk until back); this key may have some there: `ringdb restart n4`, then `ringdb where` again',
    ].join('\n'));
    assert.match(formatKeyHints([], unread), /^\nnot read: the hints kept by n4, n10, which are not up \(they stay on their disk until back\)/);
    assert.equal(formatKeyHints(listed, []).includes('not read'), false);
  });

  it('ringdb hot names the nodes whose counts are missing because they are not up, and nothing when all are up', () => {
    const node = (id: string, state: NodeInfo['state']): NodeInfo => ({
      id, address: '127.0.0.1:4000', pid: 0, state, startedAtUnixMs: 0, stateSinceUnixMs: 0, dataDir: '', logFile: '', reason: '', stats: undefined, downOnPurpose: false,
    });
    assert.equal(uncountedNote({ nodes: [node('n1', 'up'), node('n2', 'suspect')] }), '');
    assert.equal(uncountedNote({ nodes: [node('n1', 'down'), node('n2', 'up')] }),
      'not counted: n1, not up (each node counts the requests it coordinated, in memory: the counts of a node that went down are gone, so a workload sent through it is not in these figures)');
    assert.match(uncountedNote({ nodes: [node('n1', 'down'), node('n2', 'up'), node('n3', 'stopped')] }), /^not counted: n1, n3, not up .* sent through them is not/);
  });

  it('in vector mode, lists each replica\'s own siblings with clocks; newest holds exactly the siblings no other covers', () => {
    const sib = (value: string | null, dot: string, clock: Record<string, number>, context: Record<string, number> = {}): OwnSibling => ({ value, dot, clock, context });
    const apple = sib('apple', 'n1:1', { n1: 1 });
    const pear = sib('pear', 'n2:1', { n2: 1 });
    const both = sib('fruit salad', 'n1:2', { n1: 2, n2: 1 }, { n1: 1, n2: 1 });
    const vcopy = (node: string, siblings: OwnSibling[] | undefined, holds = siblings === undefined ? 'down' : siblings.length > 1 ? 'siblings' : siblings.length === 1 ? 'value' : 'nothing'): OwnCopy =>
      ({ node, holds, version: undefined, newest: false, verdict: '', ...(siblings ? { siblings } : {}) });
    // n1 and n2 wrote concurrently; n3 has only n1's write: the two siblings are current.
    const split = judged({ copies: [vcopy('n1', [apple, pear]), vcopy('n2', [pear, apple]), vcopy('n3', [apple])], crdtType: undefined });
    assert.deepEqual(split.copies.map((c) => c.verdict), ['newest', 'newest', 'stale']);
    // A write that read both supersedes them: the replicas still holding both are stale, one without anything missing.
    const resolved = judged({ copies: [vcopy('n1', [both]), vcopy('n2', [apple, pear]), vcopy('n3', []), vcopy('n4', undefined)], crdtType: undefined });
    assert.deepEqual(resolved.copies.map((c) => c.verdict), ['newest heard', 'stale', 'missing', '']);
    // A second blind write on n1 read nothing: its higher clock does not supersede the first, both stay.
    const blind = sib('pear', 'n1:2', { n1: 2 });
    const blindWrites = judged({ copies: [vcopy('n1', [apple, blind]), vcopy('n2', [blind])], crdtType: undefined });
    assert.deepEqual(blindWrites.copies.map((c) => c.verdict), ['newest', 'stale']);
    const lines = (ls: string[]) => ls.map((l) => l.trimEnd()).join('\n');
    assert.equal(formatOwnCopies('cart', split), lines([
      'each replica\'s own siblings (no quorum, no read repair; consistencyMode "vector"):',
      '  REPLICA  HOLDS     SIBLINGS (VALUE CLOCK)            ',
      '  n1       siblings  "apple" {n1:1}, "pear" {n2:1}  newest',
      '  n2       siblings  "pear" {n2:1}, "apple" {n1:1}  newest',
      '  n3       value     "apple" {n1:1}                 stale',
      '  `ringdb siblings cart` merges R replicas\' siblings and prints the context that replaces them',
    ]));
    assert.match(formatOwnCopies('cart', judged({ copies: [vcopy('n1', [sib(null, 'n1:3', { n1: 3 })], 'tombstone')], crdtType: undefined })), /n1 +tombstone +tombstone \{n1:3\} +newest/);
    assert.equal(formatOwnCopies('cart', judged({ copies: [vcopy('n1', []), vcopy('n2', [])], crdtType: undefined })), 'no replica holds "cart" yet');
  });

  it('marks each replica\'s own copy newest, stale or missing, and says when none holds the plain key', () => {
    const v = (ts: number, seq: number) => ({ ts, origin: 'n1', opId: `n1:${seq}` });
    const copy = (node: string, holds: string, version?: ReturnType<typeof v>, error?: string): OwnCopy =>
      ({ node, holds, version, newest: false, verdict: '', ...(error ? { error } : {}) });
    const copies = () => [copy('n1', 'value', v(9, 4)), copy('n2', 'value', v(5, 2)), copy('n3', 'nothing')];
    const all = judged({ copies: copies(), crdtType: undefined });
    assert.deepEqual(all.copies.map((c) => c.verdict), ['newest', 'stale', 'missing'], 'the JSON carries what the table says');
    const lines = (ls: string[]) => ls.map((l) => l.trimEnd()).join('\n');
    assert.equal(formatOwnCopies('k', all), lines([
      'each replica\'s own copy (no quorum, no read repair):',
      '  REPLICA  HOLDS    VERSION       ',
      '  n1       value    op n1:4 ts 9  newest',
      '  n2       value    op n1:2 ts 5  stale',
      '  n3       nothing  -             missing',
    ]));
    // A replica that did not answer may hold something newer.
    const unheard = judged({ copies: [...copies(), copy('n4', 'down'), copy('n5', 'error', undefined, 'Get on node n5: no answer before the deadline')], crdtType: undefined });
    assert.deepEqual(unheard.copies.map((c) => c.verdict), ['newest heard', 'stale', 'missing', '', '']);
    // Why a copy was not read goes under the table, which keeps its columns narrow.
    assert.match(formatOwnCopies('k', unheard), /\n {2}n4 +down +-\n {2}n5 +error +-\n {2}n5 error: Get on node n5: no answer before the deadline$/);
    // CRDT states merge: no replica is stale by its version.
    const crdt = judged({ copies: copies(), crdtType: 'gcounter' });
    assert.deepEqual(crdt.copies.map((c) => c.verdict), ['', '', '']);
    assert.match(formatOwnCopies('likes', crdt), /likes is a CRDT \(gcounter\): replicas merge states, so their versions do not say which is ahead; `ringdb get likes --node <id>` reads a node's merged value$/);
    assert.equal(formatOwnCopies('orders', judged({ copies: [copy('n1', 'nothing')], crdtType: undefined })),
      'no replica holds "orders" as a plain key (rows written with --clustering live under it: `ringdb scan orders`)');
  });

  it('shows the replication backlog of each up or suspect node per destination, and nothing when every peer has acknowledged', () => {
    const peer = (id: string, state: PeerStatus['state'], pendingOps: number, destination = true): PeerStatus =>
      ({ id, address: '', state, lastHeardUnixMs: 0, destination, ackedLsn: 0, pendingOps, lastError: '' });
    const stats = (id: string, peers: PeerStatus[]): NodeStats => ({
      nodeId: id, address: '', pid: 1, uptimeMs: 0, clock: 0, seq: 0, versionVector: {}, peers, logFirstLsn: 0, logNextLsn: 0,
      counters: {} as NodeStats['counters'], storage: { sstables: [] } as unknown as NodeStats['storage'],
    });
    const node = (id: string, state: NodeInfo['state'], s: NodeStats | undefined): NodeInfo => ({
      id, address: '127.0.0.1:4000', pid: 10, state, startedAtUnixMs: 0, stateSinceUnixMs: 0, dataDir: '', logFile: '', reason: '', stats: s, downOnPurpose: false,
    });
    const desc = (nodes: NodeInfo[]): ClusterDescription => ({
      phase: 'running', specJson: '{}', dataDir: '/d', controllerAddress: '127.0.0.1:1', controllerPid: 1, startedAtUnixMs: 0, nodes,
    });
    const status = formatStatus(desc([
      node('n1', 'up', stats('n1', [peer('n2', 'down', 20), peer('n3', 'up', 0)])),
      node('n2', 'down', stats('n2', [peer('n1', 'up', 7)])),
      node('n3', 'up', stats('n3', [peer('n1', 'up', 35), peer('n2', 'suspect', 0), peer('n4', 'up', 9, false)])),
    ]));
    assert.match(status, /\nreplication backlog \(logged ops a peer has not acknowledged yet, resent until it does\):\n {2}n1 -> n2: up to 20 ops \(n1 sees n2 down\)\n {2}n3 -> n1: up to 35 ops$/);
    assert.doesNotMatch(formatStatus(desc([node('n1', 'up', stats('n1', [peer('n2', 'up', 0)]))])), /backlog|hints/);
    // A suspect node is running: its backlog is shown, as its last report, not as a handoff that stalled.
    assert.match(formatStatus(desc([node('n1', 'suspect', stats('n1', [peer('n2', 'up', 5)]))])), /\n {2}n1 -> n2: up to 5 ops \(n1 is suspect: its last report\)$/);
    const expired = formatStatus(desc([node('n1', 'up', { ...stats('n1', []), hints: { held: 0, hinted: 9, delivered: 5, expired: 4, expiredFor: { n3: 1, n2: 3 } } }),
      node('n2', 'up', { ...stats('n2', []), hints: { held: 0, hinted: 2, delivered: 0, expired: 2, expiredFor: { n3: 2 } } }),
      node('n3', 'up', { ...stats('n3', []), hints: { held: 0, hinted: 0, delivered: 0, expired: 0, expiredFor: {} } })]));
    assert.match(expired, /\nhints \(writes held for a replica that was down, handed over when it is back\):\n {2}n1 dropped 4 undelivered \(3 for n2, 1 for n3\), older than storage\.tombstoneGraceMs \(Merkle repair brings their keys\)\n {2}n2 dropped 2 undelivered for n3, older than/);
    assert.doesNotMatch(expired, /n3 dropped/);
    const k = (reads: number, writes: number, more: Partial<NodeStats['coordination']> = {}): NodeStats['coordination'] => ({
      reads, writes, readRepairs: 0, forwarded: 0, notOwnerAnswers: 0, speculativeReads: 0, speculationsRefused: 0, speculateAfterMs: 500, speculativeRetry: '99p', ...more,
    });
    const coordinated = formatStatus(desc([
      node('n1', 'up', { ...stats('n1', []), coordination: k(120, 40, { readRepairs: 1, speculativeReads: 3, speculationsRefused: 2, speculateAfterMs: 19 }) }),
      node('n2', 'up', { ...stats('n2', []), coordination: k(0, 0) }),
      node('n3', 'down', { ...stats('n3', []), coordination: k(7, 7) }),
      node('n4', 'up', { ...stats('n4', []), coordination: k(0, 1, { forwarded: 1, notOwnerAnswers: 2 }) }),
      node('n5', 'up', { ...stats('n5', []), coordination: k(2, 0, { speculativeRetry: 'none', speculateAfterMs: 0 }) }),
      node('n6', 'up', { ...stats('n6', []), coordination: k(1, 0, { speculativeRetry: 'always', speculateAfterMs: 0 }) }),
    ]));
    assert.match(coordinated, new RegExp('\nrequests coordinated \\(since each node started\\):\n'
      + ' {2}n1: 120 reads, 40 writes, 1 read repair, 3 replicas asked beside a slow one \\(2 more refused by the retry budget\\), a read waits 19 ms on a replica before asking another\n'
      + ' {2}n4: 0 reads, 1 write, 1 forwarded, 2 answered NotOwner\\n'
      + ' {2}n5: 2 reads, 0 writes, reads never ask a replica beside a slow one \\(speculativeRetry "none"\\)\\n'
      + ' {2}n6: 1 read, 0 writes, a read asks one more replica at once \\(speculativeRetry "always"\\)$'), coordinated);
    assert.doesNotMatch(formatStatus(desc([node('n1', 'up', stats('n1', []))])), /coordinated/);
  });
});
