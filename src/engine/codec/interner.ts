// Strings (node ids, in practice) numbered in order of first sight, so a typed array can hold a
// string field as an int and a decoded entry can share one string instance instead of a copy.
// A cluster has a handful of origins, and consecutive ops usually share one: the last lookup
// is answered without the map.

export class Interner {
  private readonly strings: string[] = [];
  private readonly ids = new Map<string, number>();
  private last: string | undefined;
  private lastId = 0;

  /** Strings numbered so far. */
  get size(): number {
    return this.strings.length;
  }

  /** The number of `s`, numbering it now if it is new. */
  id(s: string): number {
    if (s === this.last) return this.lastId;
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.strings.push(s) - 1;
      this.ids.set(s, id);
    }
    this.last = s;
    this.lastId = id;
    return id;
  }

  /** The number of `s` if it has one. */
  find(s: string): number | undefined {
    return this.ids.get(s);
  }

  /** The string numbered `id` (the first instance seen). */
  string(id: number): string {
    return this.strings[id];
  }
}
