import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CardClient, encodePinBlock } from '../../protocol/commands/index.js';
import {
  SerialLink,
  decodeMessage,
  type OutgoingRequest,
  type TerminalChannelOptions,
  type TerminalMessage,
} from '../../protocol/terminal/index.js';
import { SimTerminal } from '../../device-sim/terminal/index.js';
import {
  PinPadUnsupportedError,
  SerialTerminal,
  TerminalRefusedError,
  isPinPadUnsupported,
} from '../../host/transports/serial/index.js';
import { TestIssuer, ascii, issuedCard } from '../support/issuer.js';
import { startPtyPair, socatPath, type PtyPair } from '../support/pty-pair.js';
import { requireSystem } from '../support/system.js';

/**
 * The PIN service on the serial terminal's own pad (docs/protocol.md §13.4, PIN_ENTRY mode change /
 * unblock) over a real pty pair: TerminalCardReader.pinPad.changePin ↔ SimTerminal ↔ a simulated card.
 */
const PIN = '739158';
const NEW = '482916';
const PUK = '12345678'; // TestIssuer's default PUK
const FAST: TerminalChannelOptions = {
  link: { ackTimeoutMs: 40, interByteTimeoutMs: 15, msPerByte: 0, maxFragment: 240, maxRetries: 8 },
  resendMs: 400,
  heartbeatMs: 400,
  peerTimeoutMs: 1500,
  requestTimeoutMs: 10_000,
};
const ENTRY = 60_000;
const until = async (cond: () => boolean, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** Every message in a captured byte stream, reassembled by a passive link. */
function messagesIn(bytes: Uint8Array): TerminalMessage[] {
  const link = new SerialLink();
  link.receive(bytes, 0);
  return link.takeEvents().flatMap((e) => (e.kind === 'message' ? [decodeMessage(e.payload)] : []));
}

/** None of the secrets is in what the host received: as ASCII, as a format 2 PIN block, as BCD digits. */
function assertNoSecrets(hostIn: Buffer[], secrets: string[]): void {
  const all = Buffer.concat(hostIn);
  assert.ok(all.length > 200, `the host received traffic (${all.length} bytes)`);
  for (const secret of secrets) {
    const forms = [Buffer.from(ascii(secret)), Buffer.from(encodePinBlock(ascii(secret))), Buffer.from(secret, 'hex')];
    for (const form of forms)
      assert.equal(all.indexOf(form), -1, `the host's received bytes contain a secret as ${form.toString('hex')}`);
  }
  const seen = messagesIn(all);
  assert.ok(
    seen.some((m) => m.type === 'PIN_RESULT'),
    `the captured stream decodes (${seen.map((m) => m.type).join(',')})`,
  );
  for (const m of seen) {
    const text = JSON.stringify(m, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
    for (const secret of secrets) assert.ok(!text.includes(secret), `message ${m.type} mentions a secret`);
  }
}

describe('serial terminal PIN service on its own pad (PIN_ENTRY change / unblock) over a real pty pair', function () {
  this.timeout(120_000);
  const issuer = new TestIssuer();
  let dir: string;
  let pty: PtyPair | undefined;
  const cleanups: (() => Promise<void>)[] = [];

  before(function () {
    requireSystem(this, socatPath() ? [] : ['socat'], 'apt-get install socat');
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-pinsvc-'));
    pty = await startPtyPair(join(dir, 'host'), join(dir, 'term'));
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await pty?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  async function rig(opts: { noPinModes?: boolean } = {}) {
    const hostIn: Buffer[] = [];
    const applet = await issuedCard(issuer, PIN);
    const sim = new SimTerminal({
      path: join(dir, 'term'),
      serial: 'SIM-0077',
      channel: FAST,
      ...(opts.noPinModes ? { noPinModes: true } : {}),
    }).start();
    sim.insert(applet);
    const host = new SerialTerminal({
      path: join(dir, 'host'),
      channel: FAST,
      reopenMinMs: 50,
      reopenMaxMs: 400,
      pathCheckMs: 100,
      tap: (d, b) => {
        if (d === 'in') hostIn.push(Buffer.from(b));
      },
    });
    host.start();
    cleanups.push(async () => {
      await host.close();
      await sim.stop();
    });
    await host.whenConnected(5000);
    const client = new CardClient(host.cardReader);
    await client.select();
    const pad = host.cardReader.pinPad;
    assert.ok(pad.changePin, 'the terminal reader offers changePin');
    const changePin = pad.changePin.bind(pad);
    const verify = (digits: string) => {
      sim.pressPin(digits);
      return pad.enterPin({ amount: 20_000, currency: 156, timeoutMs: ENTRY });
    };
    return { sim, host, hostIn, client, pad, changePin, verify };
  }

  it('changes the PIN on the pad: the new PIN verifies, the old does not, and no digit of either reaches the host', async () => {
    const { sim, hostIn, client, changePin, verify } = await rig();
    sim.pressPin(PIN, NEW, NEW);
    assert.deepEqual(await changePin({ mode: 'change', triesLeft: 3, timeoutMs: ENTRY }), { result: 'changed' });
    assert.ok(
      sim.displayLog.some((l) => l.some((x) => x.includes('Current PIN'))),
      'the terminal prompted on its own display',
    );
    assert.deepEqual(await verify(PIN), { result: 'wrong', triesLeft: 2 }, 'the old PIN no longer verifies');
    assert.deepEqual(await verify(NEW), { result: 'verified' }, 'the new PIN verifies');
    assert.equal((await client.getInfo()).pinVerified, true);
    assertNoSecrets(hostIn, [PIN, NEW]);
  });

  it('a wrong current PIN comes back as wrong with the tries left, and changes nothing', async () => {
    const { sim, hostIn, changePin, verify } = await rig();
    sim.pressPin('605173', NEW, NEW);
    assert.deepEqual(await changePin({ mode: 'change', timeoutMs: ENTRY }), { result: 'wrong', triesLeft: 2 });
    assert.deepEqual(await verify(PIN), { result: 'verified' }, 'the PIN is unchanged');
    assertNoSecrets(hostIn, ['605173', NEW, PIN]);
  });

  it('a weak, unchanged or mistyped new PIN is asked again on the pad, saying why, before anything reaches the card', async () => {
    const { sim, hostIn, changePin, verify } = await rig();
    const before = sim.apdusExecuted;
    sim.pressPin(PIN, '123456', '444444', PIN, NEW, '482961', NEW, NEW);
    assert.deepEqual(await changePin({ mode: 'change', timeoutMs: ENTRY }), { result: 'changed' });
    assert.equal(sim.apdusExecuted, before, 'no tunnelled APDU: the pad sent the one command itself');
    const shown = sim.displayLog.flat().join('\n');
    for (const why of ['Too simple: 1234', 'Too simple: repeated', 'Same as the old PIN', 'PINs differ'])
      assert.ok(shown.includes(why), `the display said "${why}"`);
    assert.deepEqual(await verify(NEW), { result: 'verified' });
    assertNoSecrets(hostIn, [PIN, NEW, '482961']);
  });

  it('unblocks with the PUK after three wrong PINs: a wrong PUK counts PUK tries, the right one sets the new PIN', async () => {
    const { sim, hostIn, client, changePin, verify } = await rig();
    assert.deepEqual(await verify('000000'), { result: 'wrong', triesLeft: 2 });
    assert.deepEqual(await verify('000000'), { result: 'wrong', triesLeft: 1 });
    assert.deepEqual(await verify('000000'), { result: 'blocked' });
    assert.deepEqual(await verify(PIN), { result: 'blocked' }, 'even the right PIN is refused now');
    sim.pressPin(PIN, 'cancel'); // a change is no way out of a blocked PIN
    assert.deepEqual(await changePin({ mode: 'change', timeoutMs: ENTRY }), { result: 'cancelled' });
    sim.pressPin('87654321', NEW, NEW);
    assert.deepEqual(await changePin({ mode: 'unblock', triesLeft: 10, timeoutMs: ENTRY }), {
      result: 'wrong',
      triesLeft: 9,
    });
    sim.pressPin(PUK, NEW, NEW);
    assert.deepEqual(await changePin({ mode: 'unblock', triesLeft: 9, timeoutMs: ENTRY }), { result: 'changed' });
    const info = await client.getInfo();
    assert.equal(info.pinRetries, 3, 'the PIN tries are reset');
    assert.deepEqual(await verify(NEW), { result: 'verified' });
    assertNoSecrets(hostIn, [PUK, '87654321', NEW, PIN]);
  });

  it('cancel: by the customer on the pad, by the host (CANCEL), and a customer who walks away (timeout); the PIN stays', async () => {
    const { sim, changePin, verify } = await rig();
    sim.pressPin(PIN, NEW, 'cancel');
    assert.deepEqual(await changePin({ mode: 'change', timeoutMs: ENTRY }), { result: 'cancelled' });
    const ac = new AbortController();
    const pending = changePin({ mode: 'change', timeoutMs: ENTRY }, ac.signal);
    await until(() => sim.displayLines.some((l) => l.includes('Current PIN')), 2000, 'the change prompt');
    sim.pressPin(PIN);
    await until(() => sim.displayLines.some((l) => l.includes('New PIN')), 2000, 'the new PIN prompt');
    ac.abort();
    assert.deepEqual(await pending, { result: 'cancelled' });
    await until(() => !sim.pinEntryRunning, 2000, 'the CANCEL to end the entry on the terminal');
    sim.pressPin(PIN, 'timeout');
    assert.deepEqual(await changePin({ mode: 'unblock', timeoutMs: ENTRY }), { result: 'timeout' });
    const t0 = Date.now();
    assert.deepEqual(await changePin({ mode: 'change', timeoutMs: 1000 }), { result: 'timeout' }, 'nobody typed');
    assert.ok(Date.now() - t0 >= 900, 'after the time-out the host asked for');
    assert.deepEqual(await verify(PIN), { result: 'verified' }, 'the PIN is unchanged');
  });

  it('malformed PIN_ENTRY modes are refused by the terminal as invalid messages (ERROR BAD_MESSAGE naming the field); the card is not touched', async () => {
    const { sim, host, verify } = await rig();
    const bad: unknown[] = [
      { type: 'PIN_ENTRY', mode: 'reset', timeoutMs: ENTRY },
      { type: 'PIN_ENTRY', mode: 'CHANGE', timeoutMs: ENTRY },
      { type: 'PIN_ENTRY', mode: 2, timeoutMs: ENTRY },
      { type: 'PIN_ENTRY', mode: '', timeoutMs: ENTRY },
      { type: 'PIN_ENTRY', mode: 'verify', timeoutMs: ENTRY }, // verify without the amount
      { type: 'PIN_ENTRY', mode: 'change', timeoutMs: 999 },
    ];
    const invalidBefore = sim.channel.stats.invalidMessages;
    for (const request of bad) {
      await assert.rejects(
        host.call(request as OutgoingRequest, 'PIN_RESULT', 5000),
        (e: unknown) =>
          e instanceof TerminalRefusedError &&
          e.code === 'TERMINAL_REFUSED' &&
          e.terminalCode === 'BAD_MESSAGE' &&
          /PIN_ENTRY message: field [367]/.test(e.message),
        JSON.stringify(request),
      );
    }
    assert.equal(sim.channel.stats.invalidMessages - invalidBefore, bad.length, 'each counted as an invalid message');
    assert.deepEqual(await verify(PIN), { result: 'verified' }, 'no PIN try was spent');
  });

  it('a terminal without PIN_ENTRY modes (older firmware): changePin throws PinPadUnsupportedError, so the daemon falls back; verify still works', async () => {
    const { host, changePin, verify } = await rig({ noPinModes: true });
    let first: unknown;
    await assert.rejects(changePin({ mode: 'change', timeoutMs: ENTRY }), (e: unknown) => {
      first = e;
      return (
        e instanceof PinPadUnsupportedError &&
        isPinPadUnsupported(e) &&
        e.code === 'TERMINAL_REFUSED' &&
        e.terminalCode === 'BAD_MESSAGE' &&
        /customer display/.test(e.hint)
      );
    });
    assert.ok(first instanceof Error && /cannot change or unblock a PIN/.test(first.message), String(first));
    const sent = host.stats.channel.requestsSent;
    await assert.rejects(changePin({ mode: 'unblock', timeoutMs: ENTRY }), isPinPadUnsupported);
    assert.equal(host.stats.channel.requestsSent, sent, 'known now: the second call sends nothing');
    assert.deepEqual(await verify(PIN), { result: 'verified' }, 'PIN entry for payments still works');
  });
});
