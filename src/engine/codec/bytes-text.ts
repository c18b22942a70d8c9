// Keys and values as people read them. Keys are bytes: decoded as UTF-8 regardless, a binary key
// prints as replacement marks, and two different ones look the same. The CLI prints bytes that
// are not UTF-8 as 0x and hex; messages that name a key do the same.

/** The bytes as text when they are UTF-8 (decoding gives them back), else undefined. */
export function utf8Text(bytes: Uint8Array): string | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = b.toString('utf8');
  return Buffer.from(text, 'utf8').equals(b) ? text : undefined;
}

/**
 * The bytes in base64 when they are not UTF-8, else null: `valueBase64` (and the keys' kin) in the
 * CLI's --json, since the text printed for such bytes does not give them back.
 */
export function base64IfNotUtf8(bytes: Uint8Array): string | null {
  return utf8Text(bytes) === undefined ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') : null;
}

/** Bytes as the CLI prints a value: the text when UTF-8, else 0x and hex. */
export function bytesText(bytes: Uint8Array): string {
  return utf8Text(bytes) ?? `0x${Buffer.from(bytes).toString('hex')}`;
}

// A value's line break is content, but a key's control character prints as nothing in a tree row,
// breaks a table's line, or moves a terminal's cursor: such a key is shown by its bytes.
const UNPRINTABLE = /[\p{Cc}\u2028\u2029]/u;

/** The key as text when it is UTF-8 of printable characters, else undefined. */
export function printableKeyText(bytes: Uint8Array): string | undefined {
  const text = utf8Text(bytes);
  return text === undefined || UNPRINTABLE.test(text) ? undefined : text;
}

/**
 * A key (or one component of a stored key) as the CLI and the extension print it: the text when
 * printable UTF-8, else 0x and hex. The one rule for both, so a key reads the same in each.
 */
export function keyText(bytes: Uint8Array): string {
  return printableKeyText(bytes) ?? `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

/**
 * A key in a line that also holds other words (a range boundary, a list of salted keys): keyText,
 * its text quoted so that where it ends is plain; 0x and hex need no quotes.
 */
export function quotedKeyText(bytes: Uint8Array): string {
  const text = printableKeyText(bytes);
  return text === undefined ? keyText(bytes) : JSON.stringify(text);
}

/** Hex shown of a binary key in a message: a 64 KiB key would flood it. */
const MESSAGE_HEX_BYTES = 32;

/** A key named in a message: its text quoted when UTF-8, else 0x and hex, cut after 32 bytes. */
export function keyInMessage(bytes: Uint8Array): string {
  const text = utf8Text(bytes);
  if (text !== undefined) return JSON.stringify(text);
  const b = Buffer.from(bytes);
  return b.length <= MESSAGE_HEX_BYTES ? `0x${b.toString('hex')}` : `0x${b.subarray(0, MESSAGE_HEX_BYTES).toString('hex')}… (${b.length} bytes)`;
}
