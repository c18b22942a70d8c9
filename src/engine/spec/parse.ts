// Reading a cluster spec from text or a file: JSON with comments and trailing commas, as VS Code's
// jsonc mode writes it. Syntax errors name the line and column; field errors come from the validator.

import { readFileSync } from 'node:fs';
// The ESM build: esbuild cannot follow the UMD build's dynamic requires, and would bundle a
// CLI and controller that fail on start.
import { parse, printParseErrorCode, visit, type ParseError } from 'jsonc-parser/lib/esm/main.js';
import { ClusterSpecError, validateClusterSpec } from './validate';
import { defaultClusterSpec } from './defaults';
import type { ClusterSpec } from './types';

const MAX_SPEC_BYTES = 1024 * 1024;

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/** Parses and validates spec text; an empty or comment-only text is the default spec. */
export function parseClusterSpec(text: string): ClusterSpec {
  if (text.length > MAX_SPEC_BYTES) {
    throw new ClusterSpecError([{ field: '', message: `the spec is ${text.length} characters long; at most ${MAX_SPEC_BYTES} are accepted` }]);
  }
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, allowEmptyContent: true });
  if (errors.length) {
    throw new ClusterSpecError(errors.slice(0, 5).map((e) => ({
      field: '',
      message: `JSON syntax error at ${lineAndColumn(text, e.offset)}: ${printParseErrorCode(e.error)}`,
    })));
  }
  refuseProtoKeys(text);
  return value === undefined ? defaultClusterSpec() : validateClusterSpec(value);
}

/**
 * The parser assigns properties one by one, so a "__proto__" key replaced the object's prototype
 * instead of becoming a field: the validator never saw it, and it was dropped without a word.
 */
function refuseProtoKeys(text: string): void {
  const found: string[] = [];
  visit(text, {
    onObjectProperty: (property, _offset, _length, _line, _character, pathSupplier) => {
      if (property === '__proto__') found.push([...pathSupplier(), property].join('.'));
    },
  }, { allowTrailingComma: true });
  if (found.length) {
    throw new ClusterSpecError(found.map((field) => ({ field, message: 'unknown field: "__proto__" is not a spec field, nor accepted as a key name (CRDT key, topology node)' })));
  }
}

/** Reads a spec file; errors are prefixed with the file name so a person knows which file to fix. */
export function loadClusterSpecFile(file: string): ClusterSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ClusterSpecError([{ field: '', message: `cannot read spec file ${file}: ${(err as Error).message}` }]);
  }
  try {
    return parseClusterSpec(text);
  } catch (err) {
    if (err instanceof ClusterSpecError) {
      throw new ClusterSpecError(err.issues.map((i) => ({ field: i.field, message: i.field ? i.message : `${file}: ${i.message}` })));
    }
    throw err;
  }
}
