import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { decodeCanonical, type CborValue } from '../../protocol/cbor/index.js';
import { decodeTxnRecord, verifyTxnRecord } from '../../protocol/record/index.js';
import { ROOT, buildC, runC } from '../support/cc.js';

/**
 * The C command layer (firmware-bindings/core: cp_commands.c, cp_cmd_*.c, cp_state.c, cp_records*.c)
 * behind test/firmware/c/cmd_driver.c, on the real store (a RAM NOR flash that can lose power at any
 * write) and the real software crypto; plus what the tests need to compare it with the TypeScript card:
 * the NVM key map of card-state.ts and a normal form of answers in which a record's random signature
 * is replaced by whether it verifies.
 */

const CORE = 'firmware-bindings/core';
const NATIVE = 'protocol/crypto/native';
/** The crypto (every C file of protocol/crypto/native but the Node addon) and the store, as their owners
 * lay them out today: listed from the directories so that a split file does not break this build. */
const cFiles = (dir: string, keep: (f: string) => boolean) =>
  readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith('.c') && keep(f))
    .sort()
    .map((f) => `${dir}/${f}`);
const CRYPTO = () => cFiles(NATIVE, (f) => f !== 'cardpost_crypto.c');
const STORE = () => cFiles(`${CORE}/src`, (f) => f.startsWith('cp_store'));
const CBOR = () => cFiles(`${CORE}/src`, (f) => f.startsWith('cp_cbor'));

/** This work: the command layer, the state on NVM, the records. */
export const COMMAND_SOURCES = [
  'cp_commands.c',
  'cp_cmd_info.c',
  'cp_cmd_pin.c',
  'cp_cmd_sign.c',
  'cp_cmd_load.c',
  'cp_cmd_perso.c',
  'cp_cmd_block.c',
  'cp_state.c',
  'cp_records_cert.c',
  'cp_records_token.c',
  'cp_records_txn.c',
].map((f) => `${CORE}/src/${f}`);

export function commandDriver(sanitize = false): string {
  return buildC({
    name: sanitize ? 'cmd-driver-asan' : 'cmd-driver',
    sources: [
      'test/firmware/c/cmd_driver.c',
      ...COMMAND_SOURCES,
      ...CBOR(),
      ...STORE(),
      `${CORE}/src/cp_soft_crypto.c`,
      ...CRYPTO(),
    ],
    includes: [`${CORE}/include`, `${CORE}/src`, NATIVE],
    flags: sanitize ? ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-O1'] : [],
  });
}

/** Runs driver lines in one process; one answer line per line. */
export function drive(lines: string[], opts: { sanitize?: boolean } = {}): string[] {
  const r = runC(commandDriver(opts.sanitize), [], lines.join('\n') + '\n');
  assert.equal(r.status, 0, `driver exited ${r.status}: ${r.stderr}`);
  const out = r.stdout.split('\n');
  out.pop();
  assert.equal(out.length, lines.length, `one answer per line:\n${r.stdout.slice(-3000)}`);
  return out;
}

/** card-state.ts key names -> the C store keys (cp_state.h). */
export function cKey(name: string): number {
  const fixed: Record<string, number> = {
    lifecycle: 0x01,
    identity: 0x02,
    perso: 0x03,
    secrets: 0x04,
    issuerAnchor: 0x05,
    pinRetries: 0x06,
    pukRetries: 0x07,
    counter: 0x08,
    balance: 0x09,
    offline: 0x0a,
    loads: 0x0b,
    lastHash: 0x0c,
    blockOrder: 0x0d,
    voidable: 0x0e,
  };
  if (name in fixed) return fixed[name]!;
  const m = /^journal\/(\d+)$/.exec(name);
  assert.ok(m, `unknown NVM key ${name}`);
  return 0x100 + Number(m[1]);
}

/** The driver lines that write a TS NVM image (name -> hex) into the C store. */
export function putLines(image: Record<string, string>): string[] {
  return Object.entries(image).map(([k, v]) => `put ${cKey(k).toString(16).padStart(4, '0')} ${v}`);
}

/** A driver `dump` answer as key -> hex. */
export function parseDump(line: string): Map<number, string> {
  const m = new Map<number, string>();
  if (line === '-') return m;
  for (const kv of line.split(',')) {
    const [k, v] = kv.split('=');
    m.set(parseInt(k!, 16), v!);
  }
  return m;
}

/** A TS NVM image in the same form. */
export function imageAsDump(image: Record<string, string>): Map<number, string> {
  const m = new Map<number, string>();
  for (const [k, v] of Object.entries(image)) m.set(cKey(k), v);
  return m;
}

/**
 * A byte string that is a transaction record becomes its body and whether its signature verifies
 * under `cardKey` (signatures are random: the two cards never make the same bytes); everything else
 * stays as it is.
 */
export function normalise(v: CborValue, cardKey: Uint8Array): unknown {
  if (v instanceof Uint8Array) {
    try {
      const r = decodeTxnRecord(v);
      return { recordBody: toHex(r.body), signatureVerifies: verifyTxnRecord(r, cardKey) };
    } catch {
      return toHex(v);
    }
  }
  if (Array.isArray(v)) return v.map((x) => normalise(x, cardKey));
  if (v instanceof Map) return [...v.entries()].map(([k, x]) => [k, normalise(x, cardKey)]);
  return v;
}

/** Response data (status || map) in normal form. */
export function normaliseResponse(hex: string, cardKey: Uint8Array): unknown {
  const b = fromHex(hex);
  if (b.length <= 1) return hex;
  return [b[0], normalise(decodeCanonical(b.subarray(1)), cardKey)];
}

/** An NVM image in normal form (journal slots hold envelopes; identity its own map). */
export function normaliseDump(d: Map<number, string>, cardKey: Uint8Array): unknown {
  return [...d.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => [k, normalise(fromHex(v), cardKey)]);
}
