/**
 * Figures of the card firmware (printed, never asserted):
 *  - the Cortex-M4 image (build/firmware-arm/cardpost-card.elf): flash and RAM by section against the
 *    linker's 256 KB / 32 KB budget, the biggest objects in flash (from the map), the biggest stack
 *    frames (-fstack-usage);
 *  - per command under qemu-system-arm `-icount shift=0` (1 instruction = 1 virtual ns, counted by the
 *    board's CMSDK timer at 25 MHz, so to within 40 instructions, identical on every run and under any
 *    load): instructions and the painted stack high-water;
 *  - SIGN_TXN wall time: the native C card (Node addon) against the TypeScript applet, if the addon is built.
 *
 *   node --import tsx bench/firmware.ts [sales, default 5]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildFirmwareArm, imageSources, objectPath } from '../scripts/build-firmware-arm.mjs';
import { CallGraph } from './firmware-callgraph.js';
import { decodeCommandApdu } from '../protocol/apdu/index.js';
import { CMD, CardClient } from '../protocol/commands/index.js';
import { CardApplet } from '../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../device-sim/card/nvm.js';
import type { VirtualCard } from '../device-sim/reader/vpcd-link.js';
import { QemuCard, qemuCardUnavailable } from '../firmware-bindings/arm/qemu-card.js';
import { NativeCard, nativeCardAvailable } from '../firmware-bindings/node/native-card.js';
import { sm2Backend } from '../protocol/crypto/index.js';
import { TestIssuer, ascii, NOW } from '../test/support/issuer.js';

const SALES = Number(process.argv[2] ?? 5);
const KB = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const pct = (n: number, of: number) => `${((100 * n) / of).toFixed(1)} %`;

function sectionSizes(elf: string): Map<string, { size: number; addr: number }> {
  const out = new Map<string, { size: number; addr: number }>();
  for (const line of execFileSync('arm-none-eabi-size', ['-A', elf], { encoding: 'utf8' }).split('\n')) {
    const m = /^(\.\S+)\s+(\d+)\s+(\d+)/.exec(line);
    if (m) out.set(m[1]!, { size: Number(m[2]), addr: Number(m[3]) });
  }
  return out;
}

function symbol(elf: string, name: string): number | undefined {
  const m = new RegExp(`^([0-9a-f]+) . ${name}$`, 'm').exec(
    execFileSync('arm-none-eabi-nm', [elf], { encoding: 'utf8' }),
  );
  return m ? parseInt(m[1]!, 16) : undefined;
}

/** Flash bytes per object file, from the memory map part of the linker map (.text/.rodata input sections). */
function flashByObject(map: string): Array<[string, number]> {
  const text = readFileSync(map, 'utf8');
  const start = text.indexOf('Linker script and memory map');
  const lines = text.slice(start).split('\n');
  const sum = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    let m = /^ (\.(?:text|rodata|data)\S*)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+)$/.exec(lines[i]!);
    if (!m && /^ \.(?:text|rodata|data)\S*$/.test(lines[i]!)) {
      const next = /^\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+)$/.exec(lines[i + 1] ?? '');
      if (next) m = [lines[i]!, lines[i]!.trim(), next[1]!, next[2]!] as unknown as RegExpExecArray;
    }
    if (!m) continue;
    // Objects are named after their source path (scripts/build-firmware-arm.mjs objectName).
    const obj = basename(m[3]!)
      .replace(/__/g, '/')
      .replace(/\.o$/, '.c')
      .replace(/^.*\((.*)\)$/, 'libc: $1');
    sum.set(obj, (sum.get(obj) ?? 0) + parseInt(m[2]!, 16));
  }
  return [...sum].sort((a, b) => b[1] - a[1]);
}

function stackFrames(su: string): Array<[string, number, string]> {
  return readFileSync(su, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [where, bytes, kind] = l.split('\t');
      const fn = where!.split(':').pop()!;
      const file = basename(where!.split(':')[0]!);
      return [`${fn} (${file})`, Number(bytes), kind!] as [string, number, string];
    })
    .sort((a, b) => b[1] - a[1]);
}

// ------------------------------------------------------------------ the image

const why = qemuCardUnavailable();
if (why) {
  console.log(`firmware: the ARM figures need the image and QEMU: ${why}`);
}
const built = why ? undefined : buildFirmwareArm({ images: ['cardpost-card'] })['cardpost-card'];

if (built) {
  const s = sectionSizes(built.elf);
  const text = s.get('.text')?.size ?? 0;
  const exidx = s.get('.ARM.exidx')?.size ?? 0;
  const data = s.get('.data')?.size ?? 0;
  const bss = s.get('.bss')?.size ?? 0;
  const storeStart = symbol(built.elf, '_scard_store') ?? 0;
  const storeEnd = symbol(built.elf, '_ecard_store') ?? 0;
  const store = storeEnd - storeStart;
  const flashUsed = storeEnd; // everything below the end of the store pages, alignment padding included
  console.log('\nARM Cortex-M4 image (build/firmware-arm/cardpost-card.elf, -Os, 32-bit limbs)');
  console.log('  flash (budget 256 KB, linker-enforced):');
  console.log(`    .text (code + constants)  ${String(text).padStart(7)} B  ${KB(text)}`);
  console.log(`    .ARM.exidx                ${String(exidx).padStart(7)} B`);
  console.log(`    .data (initial values)    ${String(data).padStart(7)} B`);
  console.log(
    `    store pages (.card_store) ${String(store).padStart(7)} B  ${KB(store)} at 0x${storeStart.toString(16)}`,
  );
  console.log(`    total to the end of the store: ${KB(flashUsed)} = ${pct(flashUsed, 256 * 1024)} of 256 KB`);
  console.log("  RAM (budget 32 KB, linker-enforced): no mutable globals; the card lives in main's frame");
  console.log(`    .data + .bss              ${String(data + bss).padStart(7)} B`);
  console.log(`    stack (the rest)          ${String(32 * 1024 - data - bss).padStart(7)} B`);
  console.log('  biggest objects in flash (from the map):');
  for (const [obj, n] of flashByObject(built.map).slice(0, 14))
    console.log(`    ${obj.padEnd(46)} ${String(n).padStart(7)} B`);
  const graph = new CallGraph(imageSources()['cardpost-card'].map((src) => objectPath(src).replace(/\.o$/, '.ci')));
  console.log(
    '  static worst-case stack (-fcallgraph-info call graph + frame sizes; indirect calls = the installed callbacks):',
  );
  const entries = [
    'main',
    'cp_card_power_on',
    'cp_card_transmit',
    ...[
      'sign_txn',
      'void_txn',
      'load',
      'verify_pin',
      'personalize_begin',
      'personalize_commit',
      'change_pin',
      'block_card',
      'get_info',
      'read_journal',
    ].map((c) => `cp_cmd_${c}`),
  ];
  for (const name of entries) {
    const title = graph.find(name)[0];
    if (!title) continue;
    const w = graph.worst(title);
    const chain = w.chain.length > 6 ? [...w.chain.slice(0, 3), '…', ...w.chain.slice(-2)] : w.chain;
    console.log(`    ${name.padEnd(28)} ${String(w.bytes).padStart(6)} B  ${chain.join(' > ')}`);
  }
  if (graph.cycles.length) console.log(`    RECURSION found: ${graph.cycles.slice(0, 3).join('; ')}`);
  console.log('  biggest stack frames (-fstack-usage):');
  for (const [fn, n, kind] of stackFrames(built.su).slice(0, 10))
    console.log(`    ${fn.padEnd(46)} ${String(n).padStart(6)} B ${kind}`);
}

// ------------------------------------------------------------------ per command under QEMU

function commandName(apdu: Uint8Array): string {
  try {
    const c = decodeCommandApdu(apdu);
    if (c.ins === 0xa4) return 'SELECT';
    if (c.ins === 0x20) return 'ISO VERIFY';
    if (c.ins === 0xc0) return 'GET RESPONSE';
    const id = c.data?.[0];
    const name = Object.entries(CMD).find(([, v]) => v === id)?.[0];
    return name ?? `INS ${c.ins.toString(16)}`;
  } catch {
    return 'malformed';
  }
}

interface Sample {
  instructions: number[];
  stack: number[];
}

async function qemuFigures(): Promise<void> {
  const card = new QemuCard({ journalCapacity: 32 });
  const samples = new Map<string, Sample>();
  try {
    card.powerOn();
    const powerOn = card.lastInstructions();
    const info = card.info();
    const client = new CardClient({
      extendedLength: true,
      transmit: async (apdu) => {
        card.paintStack();
        const r = card.transmit(apdu);
        const name = commandName(apdu);
        const s = samples.get(name) ?? { instructions: [], stack: [] };
        s.instructions.push(card.lastInstructions());
        s.stack.push(card.stackHighWater().used);
        samples.set(name, s);
        return r;
      },
    });
    const issuer = new TestIssuer();
    const cardId = Uint8Array.from(randomBytes(8));
    await client.select();
    await issuer.issue(client, { cardId });
    await client.load({ token: issuer.topup(cardId, 1, 500_000).envelope, authority: issuer.authority.envelope });
    await client.verifyPin(ascii('1234'));
    for (let i = 0; i < SALES; i++) {
      await client.verifyPin(ascii('1234'));
      await client.signTxn({
        amount: 100 + i,
        currency: 156,
        merchantId: 'M-0001',
        terminalId: 'T-01',
        time: NOW(),
        hostNonce: Uint8Array.from(randomBytes(16)),
      });
    }
    await client.load({ token: issuer.topup(cardId, 2, 1_000).envelope, authority: issuer.authority.envelope });
    await client.getInfo();
    await client.readJournalFrom(1);
    console.log('\nPer command on the Cortex-M4 under qemu-system-arm -icount shift=0 (instructions to within 40)');
    console.log(
      `  sizeof(cp_card) ${info.cardStateBytes} B; flash ${info.pageCount} pages x ${info.pageSize} B, ${info.writeUnit}-byte writes`,
    );
    console.log(`  power-on (store mount + recovery): ${powerOn.toLocaleString('en')} instructions`);
    console.log(
      `  ${'command'.padEnd(20)} ${'runs'.padStart(4)} ${'instructions min'.padStart(17)} ${'max'.padStart(12)} ${'stack max'.padStart(10)}`,
    );
    for (const [name, s] of [...samples].sort(
      (a, b) => Math.max(...b[1].instructions) - Math.max(...a[1].instructions),
    )) {
      console.log(
        `  ${name.padEnd(20)} ${String(s.instructions.length).padStart(4)} ${Math.min(...s.instructions)
          .toLocaleString('en')
          .padStart(17)} ${Math.max(...s.instructions)
          .toLocaleString('en')
          .padStart(12)} ${`${Math.max(...s.stack)} B`.padStart(10)}`,
      );
    }
    const hw = card.stackHighWater();
    console.log(`  stack high-water since boot is measured per command above; stack available: ${hw.size} B`);
  } finally {
    card.close();
  }
}

// ------------------------------------------------------------------ native vs TypeScript SIGN_TXN

async function signTime(label: string, card: VirtualCard, n: number): Promise<number> {
  card.powerOn();
  const client = new CardClient({ extendedLength: true, transmit: async (a) => card.transmit(a) });
  const issuer = new TestIssuer();
  const cardId = Uint8Array.from(randomBytes(8));
  await client.select();
  await issuer.issue(client, { cardId });
  await client.load({ token: issuer.topup(cardId, 1, 100_000).envelope, authority: issuer.authority.envelope });
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const req = {
      amount: 10,
      currency: 156,
      merchantId: 'M-0001',
      terminalId: 'T-01',
      time: NOW(),
      hostNonce: Uint8Array.from(randomBytes(16)),
    };
    const t0 = performance.now();
    await client.signTxn(req);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log(`  ${label.padEnd(44)} median ${median.toFixed(2)} ms  (min ${times[0]!.toFixed(2)}, n=${n})`);
  return median;
}

async function sideBySide(): Promise<void> {
  console.log('\nSIGN_TXN wall time per command (APDU in, record out; this machine, not a budget figure)');
  const ts = await signTime(
    `TypeScript applet (SM2 backend: ${String(sm2Backend())})`,
    new CardApplet(new Nvm(new MemoryBacking())),
    40,
  );
  if (nativeCardAvailable()) {
    const native = await signTime('native C card (Node addon, 64-bit limbs)', new NativeCard(), 40);
    console.log(`  native / TypeScript: ${(native / ts).toFixed(2)}x the time`);
  } else console.log('  native C card: addon not built (node scripts/build-native.mjs --only card)');
  if (!why) {
    const q = new QemuCard({ icount: false });
    try {
      await signTime('ARM image under QEMU (TCG, no icount)', q, 10);
    } finally {
      q.close();
    }
  }
}

if (!why) await qemuFigures();
await sideBySide();
