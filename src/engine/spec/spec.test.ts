import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import fc from 'fast-check';
import {
  ClusterSpecError, DEFAULT_SPEC, checkClusterSpec, defaultClusterSpec, defaultClusterSpecText, expandTopology,
  parseClusterSpec, parseSpeculativeRetry, validateClusterSpec,
} from './index';

const schema: object = JSON.parse(readFileSync(join(__dirname, '../../../schemas/cluster.schema.json'), 'utf8'));
const ajv = new Ajv({ allErrors: true, strict: false });
const schemaAccepts = ajv.compile(schema);

function issuesOf(obj: unknown): string[] {
  const c = checkClusterSpec(obj);
  return c.ok ? [] : c.issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message));
}

describe('cluster spec', () => {
  it('fills every default from an empty object and an empty file', () => {
    assert.deepEqual(validateClusterSpec({}), defaultClusterSpec());
    assert.deepEqual(parseClusterSpec(''), defaultClusterSpec());
    assert.deepEqual(parseClusterSpec('// only a comment\n'), defaultClusterSpec());
  });

  it('parses the commented default file back to the defaults', () => {
    assert.deepEqual(parseClusterSpec(defaultClusterSpecText('../schemas/cluster.schema.json')), defaultClusterSpec());
  });

  it('names the field and what is accepted', () => {
    assert.deepEqual(issuesOf({ nodes: 0 }), ['nodes: must be an integer from 1 to 32, got 0']);
    assert.deepEqual(issuesOf({ storage: { sync: 'sometimes' } }), ['storage.sync: must be one of "always", "batch", "none", got "sometimes"']);
    assert.match(issuesOf({ nodez: 3 })[0], /^nodez: unknown field; accepted fields are nodes, dataDir/);
    assert.deepEqual(issuesOf({ writeQuorum: 3, replicationFactor: 2 }), ['writeQuorum: must be at most replicationFactor (2), got 3']);
    assert.deepEqual(issuesOf({ nodes: 2, replicationFactor: 3 }), ['replicationFactor: must be at most nodes (2), got 3']);
  });

  it('reports every bad field at once, not just the first', () => {
    const issues = issuesOf({ nodes: 'three', heartbeatIntervalMs: 1, logLevel: 'loud' });
    assert.deepEqual(issues.map((i) => i.split(':')[0]), ['nodes', 'heartbeatIntervalMs', 'logLevel']);
  });

  it('refuses settings the consistency mode would silently ignore, saying why', () => {
    assert.deepEqual(issuesOf({ consistencyMode: 'vector', indexFields: ['color'], globalIndexFields: ['name'] }), [
      'indexFields: must be empty in consistencyMode "vector": its values are sibling sets, not JSON, so no index can read them (a query would find nothing); use consistencyMode "lww" or "crdt" to index, or remove indexFields',
      'globalIndexFields: must be empty in consistencyMode "vector": its values are sibling sets, not JSON, so no index can read them (a query would find nothing); use consistencyMode "lww" or "crdt" to index, or remove globalIndexFields',
    ]);
    assert.deepEqual(issuesOf({ consistencyMode: 'lww', crdt: { x: 'gcounter' } }), [
      'crdt: names CRDT keys (x) but consistencyMode is "lww", where they would be plain keys; set consistencyMode to "crdt", or remove crdt',
    ]);
    assert.match(issuesOf({ crdt: { x: 'gcounter' } })[0], /consistencyMode is "lww"/);
    assert.deepEqual(issuesOf({ consistencyMode: 'vector', crdt: {}, indexFields: [] }), []);
  });

  it('caps quorum defaults by the node count', () => {
    const one = validateClusterSpec({ nodes: 1 });
    assert.deepEqual([one.replicationFactor, one.writeQuorum, one.readQuorum], [1, 1, 1]);
    const two = validateClusterSpec({ nodes: 2 });
    assert.deepEqual([two.replicationFactor, two.writeQuorum, two.readQuorum], [2, 2, 2]);
  });

  it('rejects topologies that name unknown nodes or do not converge', () => {
    assert.match(issuesOf({ nodes: 3, topology: { n1: ['n4'] } })[0], /^topology\.n1\[0\]: must be a node of this cluster \(n1, n2, n3\), got "n4"/);
    assert.match(issuesOf({ nodes: 3, topology: { n1: ['n2'], n2: ['n1'] } })[0], /never reach n3/);
    assert.deepEqual(issuesOf({ nodes: 3, topology: { n1: ['n2'], n2: ['n3'], n3: ['n1'] } }), []);
  });

  it('makes every node a replica under a ring, star or map, and caps W at a node and its destinations', () => {
    const ring = validateClusterSpec({ nodes: 5, topology: 'ring' });
    assert.deepEqual([ring.replicationFactor, ring.writeQuorum, ring.readQuorum], [5, 2, 2], 'N defaults to the node count');
    assert.match(issuesOf({ nodes: 4, topology: 'ring', replicationFactor: 3 })[0],
      /^replicationFactor: must be nodes \(4\) with topology "ring": a node that is not a replica of a key forwards only a skip/);
    assert.match(issuesOf({ nodes: 5, topology: 'ring', replicationFactor: 5, writeQuorum: 3 })[0],
      /^writeQuorum: must be at most 2 with topology "ring": a write is acknowledged by its node and that node's destinations only \(n1 forwards to 1\), got 3/);
    assert.deepEqual(issuesOf({ nodes: 5, topology: 'star', writeQuorum: 2, readQuorum: 5 }), [], 'a leaf and the hub make 2');
    assert.match(issuesOf({ nodes: 3, topology: { n1: ['n2', 'n3'], n2: ['n3'], n3: ['n1'] }, writeQuorum: 3 })[0], /^writeQuorum: must be at most 2 with a topology map: .*\(n2 forwards to 1\)/);
    assert.deepEqual(issuesOf({ nodes: 5, topology: null, replicationFactor: 3, writeQuorum: 3 }), [], 'the mesh is not limited');
  });

  it('expands ring and star presets over the node ids', () => {
    assert.deepEqual(expandTopology('ring', ['n1', 'n2', 'n3']), { n1: ['n2'], n2: ['n3'], n3: ['n1'] });
    assert.deepEqual(expandTopology('star', ['n1', 'n2', 'n3']), { n1: ['n2', 'n3'], n2: ['n1'], n3: ['n1'] });
    assert.equal(expandTopology('mesh', ['n1', 'n2']), null);
  });

  it('requires key ranges that tile the key space under the range strategy', () => {
    const ok = { nodes: 2, partitionStrategy: 'range', keyRanges: [{ start: '', end: 'm', node: 'n1' }, { start: 'm', end: null, node: 'n2' }] };
    assert.deepEqual(issuesOf(ok), []);
    assert.match(issuesOf({ partitionStrategy: 'range' })[0], /^keyRanges: must list the key ranges/);
    const overlap = { ...ok, keyRanges: [{ start: '', end: 'p', node: 'n1' }, { start: 'm', end: null, node: 'n2' }] };
    assert.match(issuesOf(overlap)[0], /^keyRanges\[1\]: overlaps keyRanges\[0\]/);
    const gap = { ...ok, keyRanges: [{ start: '', end: 'c', node: 'n1' }, { start: 'm', end: null, node: 'n2' }] };
    assert.match(issuesOf(gap)[0], /leaves a gap/);
    // One bad entry is reported alone, not with tiling errors its absence would cause.
    const badNode = { nodes: 3, partitionStrategy: 'range', keyRanges: [{ start: '', end: 'g', node: true }, { start: 'g', end: 'p', node: 'n2' }, { start: 'p', end: null, node: 'n3' }] };
    assert.deepEqual(issuesOf(badNode), ['keyRanges[0].node: must be a node id such as "n1", or its index in the node list (0 for n1), got true']);
    // An index into the node list, as the partitioning README's example writes it.
    assert.deepEqual(issuesOf({ ...badNode, keyRanges: [{ start: '', end: 'm', node: 0 }, { start: 'm', end: null, node: 2 }] }), []);
    // The message names the index the person wrote, not only the id it stands for.
    assert.equal(issuesOf({ ...badNode, keyRanges: [{ start: '', end: null, node: 5 }] })[0], 'keyRanges[0].node: must be a node of this cluster (n1, n2, n3, or their indexes 0 to 2), got 5 (index 5 is "n6")');
    assert.match(issuesOf({ ...badNode, keyRanges: [{ start: '', end: null, node: 'n7' }] })[0], /^keyRanges\[0\]\.node: must be a node of this cluster \(n1, n2, n3\), got "n7"$/);
    // Tiled by UTF-8 bytes, as keys are placed: U+FFFD (EF BF BD) sorts before U+1F600 (F0 9F 98 80), though not in UTF-16.
    const utf8 = { nodes: 3, partitionStrategy: 'range', keyRanges: [{ start: '', end: '\uFFFD', node: 'n1' }, { start: '\uFFFD', end: '😀', node: 'n2' }, { start: '😀', end: null, node: 'n3' }] };
    assert.deepEqual(issuesOf(utf8), []);
  });

  it('says what speculativeRetry accepts, and passes what it stands for to the nodes', () => {
    assert.deepEqual(issuesOf({ speculativeRetry: '5 ms' }), ['speculativeRetry: must be "none", "always", a wait such as "50ms" (1 to 60000 ms), or a percentile of recent answers such as "99p" (50 to 99.9), got "5 ms"']);
    assert.deepEqual(['none', 'always', '250ms', '95p', '99.9p'].map(parseSpeculativeRetry),
      [{ kind: 'none' }, { kind: 'always' }, { kind: 'fixed', ms: 250 }, { kind: 'percentile', quantile: 0.95 }, { kind: 'percentile', quantile: 0.999 }]);
    assert.equal(defaultClusterSpec().speculativeRetry, '99p');
  });

  it('reports JSON syntax errors with line and column', () => {
    assert.throws(() => parseClusterSpec('{\n  "nodes": 3,\n  "dataDir" ".x"\n}'), (e: unknown) =>
      e instanceof ClusterSpecError && /line 3, column \d+: ColonExpected/.test(e.message));
  });

  it('accepts comments and trailing commas', () => {
    assert.equal(parseClusterSpec('{ /* five */ "nodes": 5, }').nodes, 5);
  });

  it('refuses "__proto__" as a field, a CRDT key or an indexed field, where it was dropped without a word', () => {
    const refused = (text: string, field: string) => assert.throws(() => parseClusterSpec(text), (e: unknown) =>
      e instanceof ClusterSpecError && e.issues.some((i) => i.field === field), text);
    refused('{ "nodes": 3, "__proto__": { "nodes": 5 } }', '__proto__');
    refused('{ "consistencyMode": "crdt", "crdt": { "__proto__": "gcounter", "likes": "gcounter" } }', 'crdt.__proto__');
    refused('{ "indexFields": ["__proto__"] }', 'indexFields[0]');
    assert.throws(() => validateClusterSpec(JSON.parse('{ "__proto__": { "nodes": 5 } }')), /__proto__: unknown field/);
  });

  describe('the JSON schema agrees with the validator', () => {
    const valid: unknown[] = [
      {}, { ...DEFAULT_SPEC }, { $schema: './cluster.schema.json', nodes: 32 }, { topology: 'ring' },
      { nodes: 2, partitionStrategy: 'range', keyRanges: [{ start: '', end: 'm', node: 'n1' }, { start: 'm', end: null, node: 'n2' }] },
      { consistencyMode: 'crdt', crdt: { likes: 'gcounter', tags: 'orset' } }, { router: { port: 0 } }, { indexFields: ['color'] },
      { consistencyMode: 'vector', indexFields: [], crdt: {} }, { consistencyMode: 'crdt', indexFields: ['color'], globalIndexFields: ['size'] },
      { indexFields: ['color'], globalIndexFields: ['color', 'size'] },
      { speculativeRetry: 'none' }, { speculativeRetry: 'always' }, { speculativeRetry: '1ms' }, { speculativeRetry: '60000ms' },
      { speculativeRetry: '50p' }, { speculativeRetry: '99.9p' },
    ];
    const invalidForBoth: unknown[] = [
      { nodes: 0 }, { nodes: 33 }, { nodes: 1.5 }, { nodez: 3 }, { storage: { sync: 'sometimes' } }, { storage: { fsync: true } },
      { topology: 5 }, { topology: 'tree' }, { crdt: { likes: 'counter' } }, { indexFields: ['a', 'a'] }, { indexFields: [''] },
      { globalIndexFields: ['a', 'a'] }, { globalIndexFields: [''] }, { globalIndexFields: 'color' },
      { router: { port: 70000 } }, { dataDir: '' }, { dataDir: '   ' }, { host: 'bad host' }, { cacheSize: -1 },
      { antiEntropyIntervalMs: 3_600_001 }, { enableForwarding: 'yes' }, { keyRanges: [{ start: '' }] }, [], 'nodes: 3', null,
      { consistencyMode: 'vector', indexFields: ['color'] }, { consistencyMode: 'vector', globalIndexFields: ['name'] },
      { consistencyMode: 'lww', crdt: { x: 'gcounter' } }, { crdt: { x: 'gcounter' } }, { consistencyMode: 'vector', crdt: { x: 'orset' } },
      { speculativeRetry: '0ms' }, { speculativeRetry: '60001ms' }, { speculativeRetry: '050ms' }, { speculativeRetry: '49.9p' },
      { speculativeRetry: '100p' }, { speculativeRetry: '99.99p' }, { speculativeRetry: 'NONE' }, { speculativeRetry: 99 },
    ];
    // Rules that relate fields to each other, which a JSON schema cannot express: only the validator rejects these.
    const crossField: unknown[] = [
      { replicationFactor: 2, writeQuorum: 3 }, { nodes: 2, replicationFactor: 3 }, { topology: { n9: ['n1'] } },
      { topology: { n1: ['n2'], n2: ['n1'] } }, { partitionStrategy: 'range' }, { keyRanges: [{ start: '', end: null, node: 'n1' }] },
      { nodes: 4, topology: 'star', replicationFactor: 3 }, { nodes: 3, topology: 'ring', writeQuorum: 3 },
    ];

    for (const v of valid) it(`accepts ${JSON.stringify(v)}`, () => {
      assert.ok(schemaAccepts(v), JSON.stringify(schemaAccepts.errors));
      assert.deepEqual(issuesOf(v), []);
    });
    for (const v of invalidForBoth) it(`rejects ${JSON.stringify(v)}`, () => {
      assert.equal(schemaAccepts(v), false);
      assert.notDeepEqual(issuesOf(v), []);
    });
    for (const v of crossField) it(`validator alone rejects cross-field ${JSON.stringify(v)}`, () => {
      assert.ok(schemaAccepts(v));
      assert.notDeepEqual(issuesOf(v), []);
    });

    it('agrees on random specs built from field values that are valid or not', () => {
      const field = <T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<unknown>) => fc.option(fc.oneof(good, bad), { nil: undefined });
      const specArb = fc.record({
        nodes: field(fc.integer({ min: 1, max: 32 }), fc.oneof(fc.integer({ min: -5, max: 0 }), fc.integer({ min: 33, max: 99 }), fc.constant('3'), fc.double({ min: 1.1, max: 2.9 }))),
        dataDir: field(fc.string({ minLength: 1 }).filter((s) => /\S/.test(s) && !s.includes('\0')), fc.oneof(fc.constant(''), fc.constant(' '), fc.integer())),
        storage: field(fc.record({ sync: fc.constantFrom('always', 'batch', 'none'), syncIntervalMs: fc.integer({ min: 1, max: 10_000 }) }, { requiredKeys: [] }),
          fc.oneof(fc.record({ sync: fc.constantFrom('fast', 'ALWAYS') }), fc.record({ memtableBytes: fc.integer({ min: 0, max: 65_535 }) }), fc.constant(null))),
        topology: field(fc.constantFrom(null, 'mesh', 'ring', 'star'), fc.constantFrom('full', 1, true, [])),
        partitionsPerNode: field(fc.integer({ min: 1, max: 1024 }), fc.integer({ min: 1025, max: 5000 })),
        consistencyMode: field(fc.constantFrom('lww', 'vector', 'crdt'), fc.string({ maxLength: 4 })),
        crdt: field(fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.constantFrom('gcounter', 'pncounter', 'orset', 'lwwregister', 'mvregister')),
          fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.constantFrom('set', 1), { minKeys: 1 })),
        indexFields: field(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 3 }), fc.constant(['x', 'x'])),
        globalIndexFields: field(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 2 }), fc.constant('x')),
        heartbeatIntervalMs: field(fc.integer({ min: 50, max: 60_000 }), fc.integer({ min: 0, max: 49 })),
        merkleIntervalMs: field(fc.integer({ min: 50, max: 86_400_000 }), fc.oneof(fc.integer({ min: 0, max: 49 }), fc.integer({ min: 86_400_001, max: 99_999_999 }))),
        replicationBacklogOps: field(fc.integer({ min: 0, max: 10_000_000 }), fc.oneof(fc.integer({ min: -9, max: -1 }), fc.constant(1.5))),
        logLevel: field(fc.constantFrom('debug', 'info', 'warn', 'error'), fc.constant('trace')),
        router: field(fc.oneof(fc.constant(null), fc.record({ port: fc.integer({ min: 0, max: 65_535 }) })), fc.record({ port: fc.constant(-1) })),
      }, { requiredKeys: [] });
      fc.assert(fc.property(specArb, (raw) => {
        const spec = JSON.parse(JSON.stringify(raw)) as object;
        assert.equal(issuesOf(spec).length === 0, schemaAccepts(spec), `${JSON.stringify(spec)}: ${issuesOf(spec).join('; ')}`);
      }), { numRuns: 300 });
    });
  });
});
