// The in-flight list a target keeps: O(1) add and remove through the entry, and a removed entry
// keeps no pointer (so a dead entry in the old generation keeps nothing young alive).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InflightList } from '../src/inflight.js';

test('entries come out from the head, the middle and the tail; a second removal is a no-op', () => {
  const list = new InflightList<string>();
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => list.add(x));
  assert.equal(list.size, 4);
  assert.deepEqual(list.items(), ['d', 'c', 'b', 'a']);
  assert.equal(list.remove(b!), true);
  assert.deepEqual(list.items(), ['d', 'c', 'a']);
  assert.equal(list.remove(d!), true);
  assert.equal(list.remove(a!), true);
  assert.deepEqual(list.items(), ['c']);
  assert.equal(list.remove(b!), false);
  assert.equal(list.size, 1);
  assert.equal(list.remove(c!), true);
  assert.equal(list.size, 0);
  assert.deepEqual(list.items(), []);
  for (const e of [a, b, c, d]) assert.deepEqual([e!.item, e!.prev, e!.next], [null, null, null]);
  // Usable again after emptying, and items() is a copy that survives removals.
  const e = list.add('e');
  const items = list.items();
  list.remove(e);
  assert.deepEqual(items, ['e']);
});

test('many interleaved adds and removes keep size and contents exact', () => {
  const list = new InflightList<number>();
  const live = new Map<number, ReturnType<typeof list.add>>();
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 5_000; i++) {
    if (live.size > 0 && rand() < 0.5) {
      const keys = [...live.keys()];
      const k = keys[Math.floor(rand() * keys.length)]!;
      assert.equal(list.remove(live.get(k)!), true);
      live.delete(k);
    } else live.set(i, list.add(i));
  }
  assert.equal(list.size, live.size);
  assert.deepEqual(
    list.items().sort((x, y) => x - y),
    [...live.keys()].sort((x, y) => x - y),
  );
});
