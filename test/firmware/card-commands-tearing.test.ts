import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { toHex } from '../../protocol/bytes.js';
import { encodeCanonical, type CborMap } from '../../protocol/cbor/index.js';
import {
  CMD,
  CardClient,
  encodeBlockCardRequest,
  encodeChangePinRequest,
  encodeLoadRequest,
  encodePersonalizeBeginRequest,
  encodePersonalizeCommitRequest,
  encodeSignTxnRequest,
  encodeUnblockPinRequest,
  encodeVerifyPinRequest,
  encodeVoidTxnRequest,
  personalizationAuthorisationMessage,
} from '../../protocol/commands/index.js';
import { CERT_KIND, issueCertificate, signBlockOrder } from '../../protocol/record/index.js';
import { sign } from '../../protocol/crypto/index.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { NOW, TEST_LIMITS, TestIssuer, ascii } from '../support/issuer.js';
import { drive, putLines } from './card-commands-driver.js';

/**
 * Power cuts inside every writing command of the C command layer, at every flash write it makes
 * (on the real store over a RAM NOR flash): the command must return CP_POWER_LOST (never a status),
 * and after power-on the NVM must be exactly as before the command or exactly as after it. The one
 * allowed third state is the PIN rule (docs/protocol.md §6.2, §6.5): a PIN or PUK check that spends
 * its try in a transaction of its own may be found with one try fewer (and, on the PUK's last try,
 * terminated).
 */

const cmd = (command: number, params?: CborMap): Uint8Array =>
  Uint8Array.from([command, ...(params === undefined ? [] : encodeCanonical(params))]);
const runLine = (data: Uint8Array) =>
  `run ${toHex(data.subarray(0, 1))} ${data.length > 1 ? toHex(data.subarray(1)) : '-'}`;
const uintValue = (n: number) => toHex(encodeCanonical(new Map([[1, n]])));

interface Case {
  name: string;
  image: Record<string, string>;
  command: Uint8Array;
  /** Extra NVM states a cut may leave: key -> value replaced in the state before. */
  spent?: Array<Record<number, string>>;
  /** The command ends where it started (a right PIN spends its try and gets it back). */
  unchanged?: boolean;
}

function withValues(dump: string, changes: Record<number, string>): string {
  const m = new Map(dump === '-' ? [] : dump.split(',').map((kv) => kv.split('=') as [string, string]));
  for (const [k, v] of Object.entries(changes)) m.set(Number(k).toString(16).padStart(4, '0'), v);
  return [...m.entries()]
    .sort((a, b) => parseInt(a[0], 16) - parseInt(b[0], 16))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function tearEveryWrite(c: Case): number {
  const base = ['cfg 2048 16', 'mount', ...putLines(c.image), 'mount'];
  const probe = drive([...base, 'dump', 'writes', runLine(c.command), 'writes', 'dump']).slice(base.length);
  const [before, w0, answer, w1, after] = probe as [string, string, string, string, string];
  assert.ok(answer.startsWith('0 '), `${c.name}: ${answer}`);
  const writes = Number(w1) - Number(w0);
  assert.ok(writes >= 2, `${c.name} wrote ${writes} times`);
  if (c.unchanged) assert.equal(after, before, `${c.name} changed something`);
  else assert.notEqual(after, before, `${c.name} changed nothing`);
  const allowed = new Set([before, after, ...(c.spent ?? []).map((s) => withValues(before, s))]);
  const seen = new Set<string>();
  for (let n = 1; n <= writes; n++) {
    const out = drive([...base, `cut ${n}`, runLine(c.command), 'mount', 'dump']).slice(base.length);
    assert.equal(out[1], '1 ', `${c.name}, cut at write ${n}/${writes}: the power loss must come out unchanged`);
    assert.equal(out[2], '0', `${c.name}, cut at write ${n}: power-on`);
    assert.ok(allowed.has(out[3]!), `${c.name}, cut at write ${n}/${writes}: NVM is neither before nor after`);
    seen.add(out[3]!);
  }
  assert.ok(seen.has(before), `${c.name}: no cut left the state before`);
  // The PIN rule seen at work: some cut finds the try spent, committed before the compare.
  for (const s of c.spent ?? []) {
    const spent = withValues(before, s);
    if (spent !== after) assert.ok(seen.has(spent), `${c.name}: the try is never found spent`);
  }
  return writes;
}

describe('C card commands: a power cut at every flash write leaves the card before or after', function () {
  this.timeout(300_000);
  const issuer = new TestIssuer('sm2-sm3');
  const cases: Case[] = [];
  const writes: string[] = [];

  before(async () => {
    const backing = new MemoryBacking();
    const nvm = new Nvm(backing);
    const applet = new CardApplet(nvm, { journalCapacity: 16 });
    const client = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
    const cardId = Uint8Array.from(randomBytes(8));
    applet.powerOn();
    // A blank card after BEGIN: the COMMIT to tear.
    await client.select();
    const begin = await client.personalizeBegin({ cardId, algorithm: 1, issuer: issuer.certificate.envelope });
    const pendingImage = { ...backing.load()!.main };
    const now = NOW();
    const certificate = issueCertificate(issuer.key, {
      serial: Uint8Array.of(5),
      kind: CERT_KIND.CARD,
      subjectId: cardId,
      algorithm: 1,
      publicKey: begin.publicKey,
      notBefore: now - 60,
      notAfter: now + 86400,
      limits: TEST_LIMITS,
      currency: 156,
    }).envelope;
    const q = { certificate, pin: ascii('0000'), puk: ascii('12345678') };
    const authorisation = sign(
      'sm2-sm3',
      issuer.key.privateKey,
      personalizationAuthorisationMessage(begin.challenge, q),
    );
    cases.push({
      name: 'PERSONALIZE_COMMIT',
      image: pendingImage,
      command: cmd(CMD.PERSONALIZE_COMMIT, encodePersonalizeCommitRequest({ ...q, authorisation })),
    });
    cases.push({
      name: 'PERSONALIZE_BEGIN',
      image: {},
      command: cmd(
        CMD.PERSONALIZE_BEGIN,
        encodePersonalizeBeginRequest({ cardId, algorithm: 1, issuer: issuer.certificate.envelope }),
      ),
    });

    // An active card with money and one sale.
    const backing2 = new MemoryBacking();
    const applet2 = new CardApplet(new Nvm(backing2), { journalCapacity: 16 });
    const client2 = new CardClient({ extendedLength: true, transmit: async (a) => applet2.transmit(a) });
    applet2.powerOn();
    await issuer.issue(client2, { cardId, pin: '1234', puk: '12345678' });
    await client2.load({ token: issuer.topup(cardId, 1, 50_000).envelope, authority: issuer.authority.envelope });
    const saleReq = {
      amount: 1_200,
      currency: 156,
      merchantId: 'm-1',
      terminalId: 't-1',
      time: 1,
      hostNonce: new Uint8Array(16).fill(1),
    };
    await client2.signTxn(saleReq);
    const active = { ...backing2.load()!.main };
    const sale = cmd(
      CMD.SIGN_TXN,
      encodeSignTxnRequest({ ...saleReq, amount: 300, hostNonce: new Uint8Array(16).fill(2) }),
    );
    cases.push({ name: 'SIGN_TXN', image: active, command: sale });
    cases.push({
      name: 'VOID_TXN',
      image: active,
      command: cmd(
        CMD.VOID_TXN,
        encodeVoidTxnRequest({
          counter: 1,
          amount: 1_200,
          merchantId: 'm-1',
          terminalId: 't-1',
          time: 2,
          hostNonce: new Uint8Array(16).fill(3),
        }),
      ),
    });
    const token = issuer.topup(cardId, 2, 700, { resetOffline: true, settledCounter: 0 });
    cases.push({
      name: 'LOAD',
      image: active,
      command: cmd(CMD.LOAD, encodeLoadRequest({ token: token.envelope, authority: issuer.authority.envelope })),
    });
    const order = signBlockOrder(issuer.key, { cardId, reason: 2, issuedAt: 5, listSequence: 1 }).envelope;
    cases.push({ name: 'BLOCK_CARD', image: active, command: cmd(CMD.BLOCK_CARD, encodeBlockCardRequest({ order })) });
    const spentPin = [{ 6: uintValue(2) }];
    cases.push({
      name: 'VERIFY_PIN (right)',
      image: active,
      command: cmd(CMD.VERIFY_PIN, encodeVerifyPinRequest(ascii('1234'))),
      spent: spentPin,
      unchanged: true,
    });
    cases.push({
      name: 'VERIFY_PIN (wrong)',
      image: active,
      command: cmd(CMD.VERIFY_PIN, encodeVerifyPinRequest(ascii('9999'))),
      spent: spentPin,
    });
    cases.push({
      name: 'CHANGE_PIN',
      image: active,
      command: cmd(CMD.CHANGE_PIN, encodeChangePinRequest(ascii('1234'), ascii('8642'))),
      spent: spentPin,
    });
    cases.push({
      name: 'UNBLOCK_PIN',
      image: active,
      command: cmd(CMD.UNBLOCK_PIN, encodeUnblockPinRequest(ascii('12345678'), ascii('8642'))),
      spent: [{ 7: uintValue(9) }],
    });
    // The PUK's last try: spending it terminates the card in the same transaction.
    const lastTry = { ...active, pukRetries: uintValue(1) };
    cases.push({
      name: 'UNBLOCK_PIN (last PUK try, right)',
      image: lastTry,
      command: cmd(CMD.UNBLOCK_PIN, encodeUnblockPinRequest(ascii('12345678'), ascii('8642'))),
      spent: [{ 7: uintValue(0), 1: uintValue(4) }],
    });
  });

  it('every writing command, every write', () => {
    for (const c of cases) writes.push(`${c.name} ${tearEveryWrite(c)}`);
    if (process.env.CP_SHOW_WRITES) console.log(writes.join('\n'));
    assert.equal(writes.length, cases.length);
    assert.equal(cases.length, 11);
  });
});
