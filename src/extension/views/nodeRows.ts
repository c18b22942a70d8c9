// A view's top-level row per node, kept across refreshes: VS Code refreshes one element only if
// it is the same object it was given, so a view can redraw one node's row instead of the tree.
import type { NodeView } from '../model/types';

export class NodeRows<T extends { render(node: NodeView): void }> {
  private readonly items = new Map<string, T>();

  constructor(private readonly create: (node: NodeView) => T) {}

  get(id: string): T | undefined {
    return this.items.get(id);
  }

  /** The rows for `nodes`, in their order: kept ones brought up to date, new ones made, gone ones forgotten. */
  rows(nodes: readonly NodeView[]): T[] {
    const ids = new Set(nodes.map((n) => n.id));
    for (const id of this.items.keys()) if (!ids.has(id)) this.items.delete(id);
    return nodes.map((n) => {
      const item = this.items.get(n.id);
      if (!item) {
        const created = this.create(n);
        this.items.set(n.id, created);
        return created;
      }
      item.render(n);
      return item;
    });
  }
}
