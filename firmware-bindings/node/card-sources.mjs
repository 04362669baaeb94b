#!/usr/bin/env node
/**
 * The C sources of the cardpost_card addon, for binding.gyp (`<!@(node firmware-bindings/node/card-sources.mjs)`):
 * the Node glue, the portable card core and the one crypto source. Listed here rather than by hand in
 * binding.gyp so the addon follows the core and crypto as files are added. Left out: the crypto
 * addon's own glue and any program with a main() (table generators, test drivers).
 * Paths are relative to the repository root, where binding.gyp lives; one per line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dirs = ['firmware-bindings/node', 'firmware-bindings/core/src', 'protocol/crypto/native'];
const notPartOfTheCard = new Set(['protocol/crypto/native/cardpost_crypto.c']);

export function cardSources() {
  const out = [];
  for (const dir of dirs) {
    let names;
    try {
      names = readdirSync(path.join(root, dir));
    } catch {
      continue;
    }
    for (const name of names.filter((n) => n.endsWith('.c')).sort()) {
      const rel = `${dir}/${name}`;
      if (notPartOfTheCard.has(rel)) continue;
      if (/^\s*int\s+main\s*\(/m.test(readFileSync(path.join(root, rel), 'utf8'))) continue;
      out.push(rel);
    }
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  console.log(cardSources().join('\n'));
}
