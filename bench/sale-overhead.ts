/**
 * Host overhead per sale through pcscd (issue 4, Performance): what the daemon adds to a sale on
 * top of the card's own work and the PC/SC round trips. Target: ≤ 5 ms.
 *
 *  (a) sale:  the full sale in the daemon's engine (in-process Daemon, readers.pcsc, the card in a
 *             `cardpost sim card` process on pcscd's vpcd), from SaleEngine.start() to `done`
 *             (receipt) — session open, certificate checks, SIGN_TXN, record checks, durable commit;
 *  (b) card:  the card's own compute time for the same APDUs: a CardApplet personalised by the
 *             same issuer, in this process, applet.transmit() timed;
 *  (c) raw:   the same APDU sequence sent again through pcscd with PcscReaderSource +
 *             reader.transmit (after the daemon stopped), timed. That includes the card's compute
 *             in the card process, so the round trips proper are (c) − (b).
 *
 *   host overhead = sale − card − round trips = (a) − (c)        (medians over the sales)
 *
 * The bank URL points at a closed port, so no settlement runs beside the sales (they are offline
 * sales; the worker only checks the bank's health at start). Amounts are below the card's no-PIN
 * limit. If pcscd, vpcd or nfc-pcsc are missing, it says so and exits 0.
 *
 *   node --import tsx bench/sale-overhead.ts [sales, default 60]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSimCard } from '../device-sim/card/sim-card.js';
import { initIssuerDir, issueTerminal } from '../host/issuer/issuer-dir.js';
import { prepareSimCard } from '../host/cli/sim-command.js';
import { loadConfig } from '../host/daemon/config.js';
import { Daemon } from '../host/daemon/daemon.js';
import { createLogger } from '../host/daemon/log.js';
import { FINAL_STATES, type SaleSnapshot } from '../host/sale/sale-types.js';
import { CliProcess } from '../test/support/cli.js';
import { PcscdEnv, cardIn, missingPcscParts } from '../test/support/pcscd.js';

const SALES = Number(process.argv[2] ?? 60);
const WARMUP = 5;
const SLOT = 0;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(2).padStart(7)} ms`;

async function main(): Promise<void> {
  const missing = missingPcscParts();
  if (missing.length) {
    console.log(
      `sale overhead through pcscd: SKIPPED — missing ${missing.join(', ')} (apt-get install pcscd vsmartcard-vpcd libpcsclite-dev)`,
    );
    return;
  }
  let env: PcscdEnv;
  try {
    env = await PcscdEnv.get();
  } catch (e) {
    console.log(`sale overhead through pcscd: SKIPPED — pcscd could not be started here (${(e as Error).message})`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'cardpost-bench-sale-'));
  let card: CliProcess | undefined;
  let daemon: Daemon | undefined;
  try {
    const issuer = initIssuerDir(join(dir, 'issuer'), { name: 'bench issuer' });
    issueTerminal(issuer, 'T-BENCH-PCSC', join(dir, 'terminal'));
    card = new CliProcess([
      'sim',
      'card',
      '--vpcd',
      `127.0.0.1:${env.port(SLOT)}`,
      '--state',
      join(dir, 'card.nvm'),
      '--issuer',
      issuer.dir,
      '--balance',
      '100000.00',
    ]);
    await card.waitFor(/card 0: inserted/, 20_000);
    const readerName = env.readerName(SLOT);

    const config = loadConfig({
      env: {},
      overrides: {
        dataDir: join(dir, 'data'),
        terminalDir: join(dir, 'terminal'),
        merchantId: 'M-BENCH',
        currency: 156,
        bank: { url: 'http://127.0.0.1:9', healthIntervalMs: 600_000, timeoutMs: 1000 },
        api: { port: 0 },
        readers: { pcsc: true },
      },
    });
    daemon = await Daemon.start({ config, log: createLogger('silent') });
    const d = daemon;
    const deadline = Date.now() + 20_000;
    while (!d.hub.readersList().some((r) => r.name === readerName && r.cardPresent)) {
      if (Date.now() > deadline) throw new Error(`the daemon did not see a card in ${readerName}`);
      await new Promise((r) => setTimeout(r, 50));
    }

    // Record every APDU the engine sends, per sale, and time the transmits as the daemon sees them.
    const reader = d.hub.get(readerName)!;
    const transmit = reader.transmit.bind(reader);
    let apdus: Uint8Array[] = [];
    let inSaleTransmitMs = 0;
    reader.transmit = async (apdu: Uint8Array) => {
      apdus.push(apdu.slice());
      const t0 = performance.now();
      try {
        return await transmit(apdu);
      } finally {
        inSaleTransmitMs += performance.now() - t0;
      }
    };

    // Where the host's own time goes: the queue database (the signing mark and the record each an fsync'd commit).
    // Every method of the store, so none is missed as the sale learns new calls (the signing mark once was);
    // a call made from inside another store call is not counted again.
    let storeMs = 0;
    let storeCalls = 0;
    let depth = 0;
    const store = d.store as unknown as Record<string, (...a: unknown[]) => unknown>;
    const proto = Object.getPrototypeOf(d.store) as object;
    for (const m of Object.getOwnPropertyNames(proto)) {
      const desc = Object.getOwnPropertyDescriptor(proto, m);
      if (m === 'constructor' || typeof desc?.value !== 'function') continue;
      const bound = (desc.value as (...a: unknown[]) => unknown).bind(d.store);
      store[m] = (...a: unknown[]) => {
        if (depth++ > 0) {
          try {
            return bound(...a);
          } finally {
            depth--;
          }
        }
        const t0 = performance.now();
        try {
          return bound(...a);
        } finally {
          depth--;
          storeMs += performance.now() - t0;
          storeCalls++;
        }
      };
    }
    const saleStoreMs: number[] = [];
    const saleStoreCalls: number[] = [];
    const saleMs: number[] = [];
    const saleTransmitMs: number[] = [];
    const sequences: Uint8Array[][] = [];
    for (let i = 0; i < WARMUP + SALES; i++) {
      apdus = [];
      inSaleTransmitMs = 0;
      storeMs = 0;
      storeCalls = 0;
      const t0 = performance.now();
      const done = new Promise<SaleSnapshot>((resolve) => {
        const on = (s: SaleSnapshot) => {
          if (FINAL_STATES.has(s.state)) {
            d.engine.off('sale', on);
            resolve(s);
          }
        };
        d.engine.on('sale', on);
      });
      d.engine.start({ amount: 100 + i, reader: readerName });
      const s = await done;
      const t = performance.now() - t0;
      if (s.state !== 'done') throw new Error(`sale ${i} ended ${s.state}: ${s.error?.code} ${s.error?.message}`);
      if (i >= WARMUP) {
        saleMs.push(t);
        saleTransmitMs.push(inSaleTransmitMs);
        sequences.push(apdus);
        saleStoreMs.push(storeMs);
        saleStoreCalls.push(storeCalls);
      }
    }
    const apduCount = median(sequences.map((s) => s.length));
    await d.stop();
    daemon = undefined;

    // (b) the card's own time: a card of the same issuer in this process, the same APDUs.
    const applet = openSimCard(join(dir, 'card-b.nvm'), { extendedLength: true });
    await prepareSimCard(applet, { issuerDir: issuer.dir, pin: '1234', balance: 10_000_000, currency: 156 });
    applet.powerOn();
    const cardMs: number[] = [];
    for (const seq of [...sequences.slice(0, WARMUP), ...sequences]) {
      const t0 = performance.now();
      for (const a of seq) applet.transmit(a);
      cardMs.push(performance.now() - t0);
    }
    cardMs.splice(0, WARMUP);

    // (c) the raw round trips: the same APDUs through pcscd, nothing else around them.
    const source = await env.readers();
    const raw = await source.waitForReader((n) => n === readerName, 10_000);
    await cardIn(raw);
    const rawMs: number[] = [];
    for (const seq of [...sequences.slice(0, WARMUP), ...sequences]) {
      const t0 = performance.now();
      for (const a of seq) await raw.transmit(a);
      rawMs.push(performance.now() - t0);
    }
    rawMs.splice(0, WARMUP);

    const a = median(saleMs);
    const b = median(cardMs);
    const c = median(rawMs);
    const overhead = a - c;
    console.log(
      `Host overhead per sale through pcscd (${readerName}, card in a \`cardpost sim card\` process, host chaining), median of ${SALES} sales after ${WARMUP} warm-up, ${apduCount} APDUs per sale`,
    );
    console.log(
      `  (a) sale in the daemon engine, start → receipt        ${ms(a)}   (p10 ${median(
        saleMs
          .slice()
          .sort((x, y) => x - y)
          .slice(0, Math.ceil(SALES / 5)),
      ).toFixed(2)}, max ${Math.max(...saleMs).toFixed(2)})`,
    );
    console.log(`      of which its transmits as the daemon saw them     ${ms(median(saleTransmitMs))}`);
    console.log(
      `      of which queue database calls (${median(saleStoreCalls)} per sale)       ${ms(median(saleStoreMs))}`,
    );
    console.log(
      `      the rest (session, checks, CBOR, events, awaits)  ${ms(a - median(saleTransmitMs) - median(saleStoreMs))}`,
    );
    console.log(`  (b) card's own compute (applet.transmit in-process)   ${ms(b)}`);
    console.log(
      `  (c) raw transmit of the same APDUs through pcscd      ${ms(c)}   → round trips proper (c − b) ${ms(c - b)}`,
    );
    console.log(
      `  host overhead = sale − card − round trips = (a) − (c) ${ms(overhead)}   (target ≤ 5 ms: ${overhead <= 5 ? 'met' : 'NOT MET'})`,
    );
    console.log(
      `  (same with the transmits as timed inside the sale: (a) − their transmits = ${ms(a - median(saleTransmitMs))}; per APDU through pcscd ${ms(c / apduCount)})`,
    );
  } finally {
    await daemon?.stop().catch(() => undefined);
    await card?.stop();
    await env.stop(); // closes our PC/SC context; stops pcscd only if this bench started it
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
