import { strict as assert } from 'node:assert';
import { locateSpecIssues } from './locate';

const at = (text: string, offset: number, length: number): string => text.slice(offset, offset + length);

describe('spec issues located in the text', () => {
  it('underlines the field a cross-field check names, key and value', () => {
    const text = '{\n  // three nodes\n  "nodes": 3,\n  "writeQuorum": 4,\n}\n';
    const issues = locateSpecIssues(text);
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.match(issues[0].message, /replicationFactor/);
    assert.equal(issues[0].field, 'writeQuorum');
    assert.equal(at(text, issues[0].offset, issues[0].length), '"writeQuorum": 4');
  });

  it('finds an element of an array, and the object around a field that is missing', () => {
    const text = '{ "keyRanges": [ { "start": "a", "end": "m" }, { "start": "m", "end": 7 } ] }';
    const issues = locateSpecIssues(text);
    assert.ok(issues.length >= 1, JSON.stringify(issues));
    for (const i of issues) assert.ok(at(text, i.offset, i.length).length > 0, `${i.field} has a place`);
    const end = issues.find((i) => i.field === 'keyRanges[1].end');
    assert.ok(end, JSON.stringify(issues));
    assert.equal(at(text, end.offset, end.length), '"end": 7');
  });

  it('places a syntax error where the parser stopped, and finds nothing wrong in a usable spec', () => {
    const text = '{ "nodes": 3 "replicationFactor": 2 }';
    const [issue] = locateSpecIssues(text);
    assert.match(issue.message, /^JSON syntax error: CommaExpected$/);
    assert.equal(at(text, issue.offset, issue.length), '"replicationFactor"');
    assert.deepEqual(locateSpecIssues('{ "nodes": 5, "replicationFactor": 3 }'), []);
    assert.deepEqual(locateSpecIssues('// only a comment\n'), []);
  });
});
