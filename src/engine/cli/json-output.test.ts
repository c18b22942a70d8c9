import { strict as assert } from 'node:assert';
import { forScripts } from './json-output';

describe('cli --json output', () => {
  it('prints a cluster spec as an object and leaves the exact map out, wherever they are nested', () => {
    const described = {
      phase: 'running',
      specJson: JSON.stringify({ nodes: 3, storage: { sync: 'batch' } }),
      nodes: [{ id: 'n1', reason: '{not json, left alone}' }],
      partitionMap: { version: 2, partitions: [{ id: 0, owner: 'n1' }], mapJson: '{"huge":true}' },
      moves: [{ map: { mapJson: '{}', version: 3 } }],
    };
    assert.deepEqual(forScripts(described), {
      phase: 'running',
      spec: { nodes: 3, storage: { sync: 'batch' } },
      nodes: [{ id: 'n1', reason: '{not json, left alone}' }],
      partitionMap: { version: 2, partitions: [{ id: 0, owner: 'n1' }] },
      moves: [{ map: { version: 3 } }],
    });
  });

  it('prints no spec as null, and values with their own JSON form through it', () => {
    const out = forScripts({ specJson: '', value: Buffer.from('ab'), at: new Date(0) });
    assert.equal(JSON.stringify(out), '{"spec":null,"value":{"type":"Buffer","data":[97,98]},"at":"1970-01-01T00:00:00.000Z"}');
  });
});
