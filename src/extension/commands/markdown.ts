// Keys, values and messages from the cluster inside a result's Markdown. The result is shown
// rendered, so such text must read as it is (no emphasis, link or HTML made of a value) and must
// not break the code span or table cell around it.

const CELL_CHARS = 80;

/** `text` as one code span, whatever backticks it holds; `inTable` escapes pipes, which end a table cell even inside a span. */
export function code(text: string, inTable = false): string {
  if (text.length === 0) return '*(empty)*';
  let body = text.replace(/\r?\n/g, ' ');
  if (inTable) body = body.replace(/\|/g, '\\|');
  const fence = fenceFor(body, 1);
  // A span that starts or ends with a backtick (or a space at both ends) needs a space of padding, which rendering strips.
  const pad = body.startsWith('`') || body.endsWith('`') || (body.startsWith(' ') && body.endsWith(' ')) ? ' ' : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

/** A fenced code block that survives any content. */
export function codeBlock(text: string, lang = ''): string {
  const fence = fenceFor(text, 3);
  return `${fence}${lang}\n${text}\n${fence}`;
}

/** Backticks, at least `min`, one more than the longest run in `text`: a fence nothing inside can close. */
function fenceFor(text: string, min: number): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  return '`'.repeat(Math.max(min, longest + 1));
}

/** `text` as literal prose: Markdown's punctuation backslash-escaped, line breaks as spaces. */
export function literal(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/[\\`*_{}[\]<>()#+\-.!|~&]/g, (c) => `\\${c}`);
}

/** At most 80 characters of `text`, for a table cell. */
export function clip(text: string): string {
  return text.length > CELL_CHARS ? `${text.slice(0, CELL_CHARS)}…` : text;
}
