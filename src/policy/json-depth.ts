/** How deeply a JSON value nests, counted without recursion so hostile input cannot overflow the stack. */

/** True when `value` nests no deeper than `max` levels of objects and arrays. */
export function nestsWithin(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== "object" || node === null) continue;
    if (depth >= max) return false;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return true;
}

/** Deeper than any real policy or metadata needs; shallow enough for every recursive step after it. */
export const MAX_JSON_DEPTH = 64;
