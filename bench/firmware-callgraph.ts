/**
 * Static worst-case stack of the ARM image from GCC's call graph (`-fcallgraph-info=su`, one .ci file
 * per object, scripts/build-firmware-arm.mjs): the deepest chain of frames below a function. The
 * firmware has no recursion (a cycle here is reported, not followed). Indirect calls are resolved to
 * the callbacks the image installs, by caller (INDIRECT below): the deepest of them is charged.
 * C library calls (memcpy, memset) count 0.
 */
import { existsSync, readFileSync } from 'node:fs';

interface Fn {
  name: string;
  bytes: number | undefined;
  calls: Set<string>;
}

/**
 * What an indirect call can reach, by the caller (title pattern): the card image's function pointers
 * are the board's frame handler, the hash layer's compression function, the RNG chain, the store's
 * flash HAL and the crypto ops table. A caller not listed is charged the deepest of all of them.
 */
const FLASH = /board_flash\.c:flash_(read|program|erase)$/;
const BOARD_RNG = /board_rng\.c:rng_fill$/;
const OPS = /cp_soft_crypto\.c:soft_(digest|keygen|sign|verify)$/;
const INDIRECT: Array<[RegExp, RegExp[]]> = [
  [/^board_run$/, [/main_card\.c:handle$/]],
  [/^cp_md_(update|final)$/, [/cp_sm3\.c:sm3_compress$/, /cp_sha256\.c:sha256_compress$/]],
  [/cp_soft_crypto\.c:rng_fill$/, [BOARD_RNG]],
  [/^ec_random_scalar$/, [/cp_soft_crypto\.c:rng_fill$/]],
  [/cp_store|^cps_/, [FLASH]],
  [/^cp_(cmd|envelope|suite|txn|records|state)/, [OPS, BOARD_RNG]],
];
const ALL_TARGETS = [FLASH, BOARD_RNG, OPS, /main_card\.c:handle$/, /cp_soft_crypto\.c:rng_fill$/];

export class CallGraph {
  private readonly fns = new Map<string, Fn>();
  readonly cycles: string[] = [];

  constructor(ciFiles: string[]) {
    for (const f of ciFiles) if (existsSync(f)) this.read(readFileSync(f, 'utf8'));
  }

  private fn(title: string): Fn {
    let f = this.fns.get(title);
    if (!f) {
      f = { name: title.replace(/^.*:/, ''), bytes: undefined, calls: new Set() };
      this.fns.set(title, f);
    }
    return f;
  }

  private read(text: string): void {
    for (const m of text.matchAll(/node: \{ title: "([^"]+)" label: "([^"]*)"/g)) {
      const bytes = /\\n(\d+) bytes \(/.exec(m[2]!);
      const f = this.fn(m[1]!);
      if (bytes) f.bytes = Number(bytes[1]);
    }
    for (const m of text.matchAll(/edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"/g))
      this.fn(m[1]!).calls.add(m[2]!);
  }

  /** Titles of the functions whose name is `name` (a static function has one per file). */
  find(name: string): string[] {
    return [...this.fns.keys()].filter((t) => t === name || t.endsWith(`:${name}`));
  }

  /** Deepest stack below and including `title`, and the chain of function names. */
  worst(
    title: string,
    memo = new Map<string, { bytes: number; chain: string[] }>(),
    path: string[] = [],
  ): {
    bytes: number;
    chain: string[];
  } {
    const known = memo.get(title);
    if (known) return known;
    if (path.includes(title)) {
      this.cycles.push([...path, title].join(' -> '));
      return { bytes: 0, chain: [] };
    }
    const f = this.fns.get(title);
    if (!f) return { bytes: 0, chain: [] };
    let deepest = { bytes: 0, chain: [] as string[] };
    for (const callee of f.calls) {
      const patterns = INDIRECT.find(([caller]) => caller.test(title))?.[1] ?? ALL_TARGETS;
      const targets =
        callee === '__indirect_call' ? [...this.fns.keys()].filter((t) => patterns.some((r) => r.test(t))) : [callee];
      for (const t of targets) {
        const w = this.worst(t, memo, [...path, title]);
        if (w.bytes > deepest.bytes) deepest = w;
      }
    }
    const out = { bytes: (f.bytes ?? 0) + deepest.bytes, chain: [f.name, ...deepest.chain] };
    memo.set(title, out);
    return out;
  }
}
