// Where in a spec's text each problem is, so an editor can underline it: the validator names a
// field by its dotted path ("storage.sync", "keyRanges[1].end"), the editor needs offsets.

import { findNodeAtLocation, parse, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser/lib/esm/main.js';
import { parseClusterSpec } from './parse';
import { ClusterSpecError, type SpecIssue } from './validate';

export interface LocatedSpecIssue extends SpecIssue {
  /** A JSON syntax error (an editor's JSON support reports those itself), not a field's problem. */
  syntax: boolean;
  /** Offset and length in the text: the field's "key": value, or its nearest enclosing field that is there. */
  offset: number;
  length: number;
}

/** Every problem of spec text with where it is; [] for a usable spec. */
export function locateSpecIssues(text: string): LocatedSpecIssue[] {
  const syntax: ParseError[] = [];
  parse(text, syntax, { allowTrailingComma: true, allowEmptyContent: true });
  if (syntax.length) return syntax.map((e) => ({ field: '', message: `JSON syntax error: ${printParseErrorCode(e.error)}`, syntax: true, offset: e.offset, length: e.length }));
  let issues: SpecIssue[];
  try {
    parseClusterSpec(text);
    return [];
  } catch (err) {
    if (!(err instanceof ClusterSpecError)) throw err;
    issues = err.issues;
  }
  const root = parseTree(text, [], { allowTrailingComma: true });
  return issues.map((issue) => ({ ...issue, syntax: false, ...place(root, pathOf(issue.field)) }));
}

/** "keyRanges[1].end" -> ["keyRanges", 1, "end"]. */
function pathOf(field: string): (string | number)[] {
  const path: (string | number)[] = [];
  for (const part of field.split('.').filter(Boolean)) {
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      path.push(part);
      continue;
    }
    if (m[1]) path.push(m[1]);
    for (const index of m[2].matchAll(/\[(\d+)\]/g)) path.push(Number(index[1]));
  }
  return path;
}

/** The field's property (key and value), else the nearest enclosing one that is in the text; the whole text for the spec itself. */
function place(root: Node | undefined, path: (string | number)[]): { offset: number; length: number } {
  if (!root) return { offset: 0, length: 0 };
  for (let p = path; p.length > 0; p = p.slice(0, -1)) {
    const node = findNodeAtLocation(root, p);
    if (!node) continue;
    const at = node.parent?.type === 'property' ? node.parent : node;
    return { offset: at.offset, length: at.length };
  }
  // A field that is missing, or the spec as a whole: its opening brace.
  return { offset: root.offset, length: root.type === 'object' ? 1 : root.length };
}
