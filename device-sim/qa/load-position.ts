import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/**
 * Where a field of a parsed scenario is in its file: the node the path leads to in yaml's document
 * tree (JSON files are parsed by yaml too, so both get lines and columns). A path that leaves the
 * file (a missing field) stops at the deepest node that exists: the map the field is missing from.
 * `keyOf` points at a map's key instead of its value (an unknown key).
 */
export function positionOf(
  doc: Document,
  lines: LineCounter,
  path: readonly PropertyKey[],
  keyOf?: string,
): { line: number; column: number } {
  let node: unknown = doc.contents;
  let at: Node | null = doc.contents as Node | null;
  const segments = keyOf === undefined ? path : [...path, keyOf];
  for (const [i, seg] of segments.entries()) {
    const wantKey = keyOf !== undefined && i === segments.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      const next = wantKey ? pair.key : pair.value;
      if (next && typeof next === 'object' && 'range' in next) at = next as Node;
      node = next;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (!item) break;
      node = item;
      if (typeof item === 'object' && item !== null && 'range' in item) at = item as Node;
    } else break;
  }
  const offset = at?.range?.[0] ?? 0;
  const pos = lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

/** `["steps", 3, "sale", "amount"]` → `steps[3].sale.amount`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}
