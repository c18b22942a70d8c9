// The compact binary form shared by every CRDT state: a format version byte, a type tag, then
// the type's payload built from unsigned varints, length-prefixed strings and byte strings.
// Varints keep small counters at one byte, which matters when every replica ships its whole state.

import { CrdtError, type CrdtName } from './types';

export const FORMAT_VERSION = 1;

export class Writer {
  private readonly parts: Buffer[] = [];

  constructor(tag: number) {
    this.parts.push(Buffer.from([FORMAT_VERSION, tag]));
  }

  uint(n: number): this {
    const bytes: number[] = [];
    let v = n;
    while (v >= 0x80) {
      bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    bytes.push(v);
    this.parts.push(Buffer.from(bytes));
    return this;
  }

  bytes(b: Buffer): this {
    this.uint(b.length);
    this.parts.push(b);
    return this;
  }

  string(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }

  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export class Reader {
  private at = 2;

  /** Checks the header: the version this build reads and the tag of the expected type. */
  constructor(
    private readonly buf: Buffer,
    private readonly type: CrdtName,
    tag: number,
  ) {
    if (buf.length < 2) throw new CrdtError(`${type} state is ${buf.length} bytes; it needs at least a version byte and a type tag`);
    if (buf[0] !== FORMAT_VERSION) {
      throw new CrdtError(`${type} state has format version ${buf[0]}; this build reads version ${FORMAT_VERSION}`);
    }
    if (buf[1] !== tag) throw new CrdtError(`the stored state has type tag ${buf[1]}, not ${type}'s tag ${tag}: is the key configured with another CRDT type?`);
  }

  uint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.at >= this.buf.length) throw this.truncated('a varint');
      const b = this.buf[this.at++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new CrdtError(`${this.type} state: varint at byte ${this.at} is longer than a safe integer`);
    }
    if (!Number.isSafeInteger(result)) throw new CrdtError(`${this.type} state: integer before byte ${this.at} exceeds 2^53-1`);
    return result;
  }

  bytes(): Buffer {
    const n = this.uint();
    if (this.at + n > this.buf.length) throw this.truncated(`${n} bytes`);
    const out = Buffer.from(this.buf.subarray(this.at, this.at + n));
    this.at += n;
    return out;
  }

  string(): string {
    return this.bytes().toString('utf8');
  }

  /** The unread rest, handed to an embedded encoding (the MV-Register's sibling set). */
  rest(): Buffer {
    const out = this.buf.subarray(this.at);
    this.at = this.buf.length;
    return out;
  }

  /** Asserts the whole state was consumed: trailing bytes mean a corrupt or foreign state. */
  end(): void {
    if (this.at !== this.buf.length) {
      throw new CrdtError(`${this.type} state has ${this.buf.length - this.at} trailing bytes after byte ${this.at}`);
    }
  }

  private truncated(what: string): CrdtError {
    return new CrdtError(`${this.type} state is truncated at byte ${this.at}: expected ${what}`);
  }
}
