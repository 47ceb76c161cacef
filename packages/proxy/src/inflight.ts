// Things that come and go at a high rate (a target's requests in flight, open
// client and upstream connections): a doubly linked list whose
// entries the callers keep, so that adding and removing are O(1) and allocate
// one small entry. Not a Set on purpose: a Set that churns rebuilds its hash
// table every few additions, and V8 links each discarded table to its
// successor. Once the Set's table sits in the old generation, that chain keeps
// every newer table, and everything listed in it, alive through
// young-generation collections: at 5,000 requests/s a target's Set of
// requests promoted about 8 MB/s of finished requests, with a Mark-Compact
// every 2-3 s and 10 ms scavenges (bench/proxy/README.md). A removed entry
// here drops every pointer it had, so nothing dead keeps anything alive.

export class InflightEntry<T> {
  /** @internal */ prev: InflightEntry<T> | null = null;
  /** @internal */ next: InflightEntry<T> | null = null;
  /** @internal */ listed = true;
  constructor(public item: T | null) {}
}

export class InflightList<T> {
  size = 0;
  private head: InflightEntry<T> | null = null;

  add(item: T): InflightEntry<T> {
    const entry = new InflightEntry(item);
    const head = this.head;
    if (head !== null) {
      entry.next = head;
      head.prev = entry;
    }
    this.head = entry;
    this.size++;
    return entry;
  }

  /** Takes `entry` out (it must come from this list); false when it was out already. */
  remove(entry: InflightEntry<T>): boolean {
    if (!entry.listed) return false;
    const { prev, next } = entry;
    if (prev !== null) prev.next = next;
    else this.head = next;
    if (next !== null) next.prev = prev;
    entry.prev = null;
    entry.next = null;
    entry.item = null;
    entry.listed = false;
    this.size--;
    return true;
  }

  /** The listed items, newest first (a copy: removing while iterating is safe). */
  items(): T[] {
    const out: T[] = [];
    for (let e = this.head; e !== null; e = e.next) out.push(e.item!);
    return out;
  }
}
