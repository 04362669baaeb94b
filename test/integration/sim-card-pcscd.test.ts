import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LIFECYCLE, decodeResponseData, readCardInfo, readSelectInfo } from '../../protocol/commands/index.js';
import { decodeCertificate } from '../../protocol/record/index.js';
import { CliProcess, runCardpost } from '../support/cli.js';
import { PcscdEnv, cardIn, cardOut, missingPcscParts } from '../support/pcscd.js';
import { requireSystem, which } from '../support/system.js';

const run = promisify(execFile);

/** Run a scriptor script against a reader; returns each command's response as hex bytes (data + SW). */
async function scriptor(reader: string, apdus: string[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cardpost-scriptor-'));
  const file = join(dir, 'script');
  writeFileSync(file, apdus.join('\n') + '\n');
  const { stdout } = await run('scriptor', ['-r', reader, file], { timeout: 20_000 });
  const responses: string[] = [];
  let current: string[] | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('> ') && !line.startsWith('> RESET')) {
      current = [];
      continue;
    }
    if (!current) continue;
    const text = line.startsWith('< ') ? line.slice(2) : line;
    const [bytes, rest] = text.split(' : ');
    current.push(...(bytes!.match(/[0-9A-F]{2}/g) ?? []));
    if (rest !== undefined) {
      responses.push(current.join(''));
      current = undefined;
    }
  }
  return responses;
}

/** pcscd polls the vpcd slot: a card that just connected may take a moment to be seen. */
async function scriptorWhenPresent(reader: string, apdus: string[]): Promise<string[]> {
  for (let i = 0; ; i++) {
    try {
      return await scriptor(reader, apdus);
    } catch (e) {
      if (i > 40) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

describe('cardpost sim card on real pcscd, read with scriptor (pcsc-tools)', function () {
  this.timeout(90_000);
  let env: PcscdEnv;
  let sim: CliProcess;
  const dir = mkdtempSync(join(tmpdir(), 'cardpost-simcard-'));

  before(async function () {
    requireSystem(
      this,
      [...missingPcscParts(), ...(which('scriptor') ? [] : ['pcsc-tools'])],
      'apt-get install pcscd vsmartcard-vpcd libpcsclite-dev pcsc-tools',
    );
    env = await PcscdEnv.get();
    const init = await runCardpost(['issuer', 'init', '--dir', join(dir, 'issuer')]);
    assert.equal(init.code, 0, init.stderr);
    sim = new CliProcess([
      'sim',
      'card',
      '--vpcd',
      `127.0.0.1:${env.port(1)}`,
      '--state',
      join(dir, 'card.json'),
      '--issuer',
      join(dir, 'issuer'),
      '--balance',
      '88.00',
    ]);
    await sim.waitFor(/card 0: inserted/);
  });
  after(async () => {
    await sim?.stop();
  });

  it('scriptor selects the application and reads GET_INFO through pcscd', async () => {
    const [select, info1, info2] = await scriptorWhenPresent(env.readerName(1), [
      '00 A4 04 00 0A F0 43 41 52 44 50 4F 53 54 01 00',
      '80 10 00 00 01 01 00',
      '80 C0 00 00 00',
    ]);
    assert.match(select!, /9000$/);
    assert.equal(readSelectInfo(Buffer.from(select!.slice(0, -4), 'hex')).lifecycle, LIFECYCLE.ACTIVE);
    assert.match(info1!, /^.*61[0-9A-F]{2}$/, 'GET_INFO is longer than 256 bytes: 61xx');
    assert.match(info2!, /9000$/);
    const body = Buffer.from(info1!.slice(0, -4) + info2!.slice(0, -4), 'hex');
    const { status, result } = decodeResponseData(body);
    assert.equal(status, 0);
    const info = readCardInfo(result);
    assert.equal(info.balance, 8800);
    assert.equal(info.lifecycle, LIFECYCLE.ACTIVE);
    assert.deepEqual(decodeCertificate(info.certificate!).publicKey, info.publicKey);
  });

  it('--firmware qemu: the ARM card image under qemu-system-arm answers scriptor through pcscd (issue 16)', async function () {
    requireSystem(
      this,
      ['qemu-system-arm', 'arm-none-eabi-gcc'].filter((t) => !which(t)),
      'apt-get install qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi',
    );
    const arm = new CliProcess([
      'sim',
      'card',
      '--firmware',
      'qemu',
      '--vpcd',
      `127.0.0.1:${env.port(0)}`,
      '--state',
      join(dir, 'arm-card.flash'),
      '--issuer',
      join(dir, 'issuer'),
      '--balance',
      '12.34',
    ]);
    try {
      await arm.waitFor(/card 0: inserted/, 60_000);
      const [select, info1, info2] = await scriptorWhenPresent(env.readerName(0), [
        '00 A4 04 00 0A F0 43 41 52 44 50 4F 53 54 01 00',
        '80 10 00 00 01 01 00',
        '80 C0 00 00 00',
      ]);
      assert.match(select!, /9000$/);
      assert.equal(readSelectInfo(Buffer.from(select!.slice(0, -4), 'hex')).lifecycle, LIFECYCLE.ACTIVE);
      const body = Buffer.from(info1!.slice(0, -4) + info2!.slice(0, -4), 'hex');
      const { status, result } = decodeResponseData(body);
      assert.equal(status, 0);
      const info = readCardInfo(result);
      assert.equal(info.balance, 1234, 'personalised and topped up through the ARM image');
      assert.deepEqual(decodeCertificate(info.certificate!).publicKey, info.publicKey);
    } finally {
      await arm.stop();
    }
  });

  it('is removed and inserted on command', async () => {
    // Wait until pcscd itself has seen the card go (it polls the vpcd slot) and let it settle: a PC/SC
    // client that talks to the slot in the moment the virtual card leaves can wedge pcscd 1.9.9's vpcd
    // slot until pcscd restarts (a pcscd/vpcd quirk; hardware readers report removal at once).
    const reader = await (await env.readers()).waitForReader((n) => n === env.readerName(1), 10_000);
    sim.send('remove');
    await sim.waitFor(/card 0: removed/);
    await cardOut(reader);
    await new Promise((r) => setTimeout(r, 1500));
    await assert.rejects(
      scriptor(env.readerName(1), ['00 A4 04 00 0A F0 43 41 52 44 50 4F 53 54 01 00']),
      /No smartcard|Transaction failed/,
    );
    sim.send('insert');
    await cardIn(reader);
    const [select] = await scriptorWhenPresent(env.readerName(1), ['00 A4 04 00 0A F0 43 41 52 44 50 4F 53 54 01 00']);
    assert.match(select!, /9000$/);
  });

  it('reconnects by itself when pcscd restarts, and keeps its state', async function () {
    if (!env.owned) this.skip();
    const before = sim.lines.filter((l) => /card 0: inserted/.test(l)).length;
    await env.restart();
    for (let i = 0; sim.lines.filter((l) => /card 0: inserted/.test(l)).length <= before; i++) {
      if (i > 100) throw new Error('the simulated card did not reconnect');
      await new Promise((r) => setTimeout(r, 100));
    }
    const responses = await scriptorWhenPresent(env.readerName(1), [
      '00 A4 04 00 0A F0 43 41 52 44 50 4F 53 54 01 00',
      '80 10 00 00 01 01 00',
      '80 C0 00 00 00',
    ]);
    const body = Buffer.from(responses[1]!.slice(0, -4) + responses[2]!.slice(0, -4), 'hex');
    assert.equal(readCardInfo(decodeResponseData(body).result).balance, 8800);
  });

  it('cardpost card personalize makes a blank card in a PC/SC reader into a paying card, through APDUs; PIN from a file, PUK from stdin, neither on argv', async () => {
    const blank = new CliProcess([
      'sim',
      'card',
      '--vpcd',
      `127.0.0.1:${env.port(0)}`,
      '--state',
      join(dir, 'blank.json'),
      '--blank-for',
      join(dir, 'issuer'),
    ]);
    try {
      await blank.waitFor(/card 0: inserted \(blank card bound to its issuer/);
      const reader = await (await env.readers()).waitForReader((n) => n === env.readerName(0), 10_000);
      await cardIn(reader);
      // The issuer's secrets never on a command line (ps, shell history): the PIN from a 0600 file, the PUK piped in.
      const pinFile = join(dir, 'transport-pin');
      writeFileSync(pinFile, '2468\n', { mode: 0o600 });
      const args = [
        'card',
        'personalize',
        '--issuer',
        join(dir, 'issuer'),
        '--reader',
        env.readerName(0),
        '--card-id',
        '00112233445566ff',
        '--pin-file',
        pinFile,
        '--puk-stdin',
      ];
      assert.ok(
        !args.some((a) => a.includes('2468') || a.includes('86420975')),
        "no PIN or PUK in the spawned process's argv",
      );
      const r = await runCardpost(args, '86420975\n');
      assert.equal(r.code, 0, `personalize failed: ${r.stderr}`);
      assert.match(r.stdout, /personalised card 00112233445566ff/);
      assert.ok(
        !r.stdout.includes('2468') && !r.stdout.includes('86420975'),
        'secrets the issuer gave are not printed back',
      );
      const [, info1, info2] = await scriptorWhenPresent(env.readerName(0), [
        '00 A4 04 00 0A F0 43 41 52 44 50 4F 53 54 01 00',
        '80 10 00 00 01 01 00',
        '80 C0 00 00 00',
      ]);
      const body = Buffer.from(info1!.slice(0, -4) + info2!.slice(0, -4), 'hex');
      const info = readCardInfo(decodeResponseData(body).result);
      assert.equal(info.lifecycle, LIFECYCLE.PERSONALISED, 'the transport PIN must be changed by the holder');
      assert.equal(Buffer.from(info.cardId!).toString('hex'), '00112233445566ff');
      const again = await runCardpost([
        'card',
        'personalize',
        '--issuer',
        join(dir, 'issuer'),
        '--reader',
        env.readerName(0),
      ]);
      assert.equal(again.code, 3, 'a personalised card refuses a second personalisation');
      // issue 15: it says the card is already personalised (not "blank cards must be personalised first")
      assert.match(again.stderr, /CARD_ALREADY_PERSONALISED: the card 00112233445566ff in .* is already personalised/);
      assert.doesNotMatch(again.stderr, /must be personalised first/);
      // The card holds the PIN from the file and the PUK from stdin: ISO VERIFY (format 2 block of 2468), then
      // RESET RETRY COUNTER with the PUK block of 86420975 and a new PIN 1357.
      const [, verify, unblock] = await scriptorWhenPresent(env.readerName(0), [
        '00 A4 04 00 0A F0 43 41 52 44 50 4F 53 54 01 00',
        '00 20 00 80 08 24 24 68 FF FF FF FF FF',
        '00 2C 00 80 10 28 86 42 09 75 FF FF FF 24 13 57 FF FF FF FF FF',
      ]);
      assert.equal(verify, '9000', 'the transport PIN is the one from --pin-file');
      assert.equal(unblock, '9000', 'the PUK is the one from --puk-stdin');
    } finally {
      await blank.stop();
    }
  });
});
