import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { MapReader, decodeCanonical, encodeCanonical, type CborMap } from '../../protocol/cbor/index.js';
import {
  CMD,
  CardClient,
  decodeCommandData,
  encodeChangePinRequest,
  encodeLoadRequest,
  encodePersonalizeBeginRequest,
  encodePersonalizeCommitRequest,
  encodeReadJournalRequest,
  encodeResponseData,
  encodeSignTxnRequest,
  encodeUnblockPinRequest,
  encodeVerifyPinRequest,
  encodeVoidTxnRequest,
  personalizationAuthorisationMessage,
  type Limits,
} from '../../protocol/commands/index.js';
import { CERT_KIND, decodeTxnRecord, issueCertificate, verifyTxnRecord } from '../../protocol/record/index.js';
import { SIGNATURE_ALGORITHM_CODES, sign } from '../../protocol/crypto/index.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { CardCommands, type CommandOutcome } from '../../device-sim/card/card-commands.js';
import { effectiveLifecycle, readIdentity } from '../../device-sim/card/card-state.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { NOW, TestIssuer, ascii } from '../support/issuer.js';
import { drive, imageAsDump, normaliseDump, normaliseResponse, parseDump, putLines } from './card-commands-driver.js';

/**
 * Scripted cases the random sessions of card-commands.test.ts reach only by luck, each run from one
 * NVM image on the TypeScript card and on the C command layer with the answers compared: journal
 * pages at every message-size boundary, the offline totals after a sync at every settled counter
 * with voids in between, refund tokens of every sale; and personalisation of a blank C card from
 * BEGIN to its first signed sale, checked with the TypeScript verifier.
 */

const LIMITS: Limits = {
  perTransaction: 20_000,
  noPin: 5_000,
  offlineAmount: 300_000,
  offlineCount: 50,
  maxBalance: 1_000_000,
};

const cmd = (command: number, params?: CborMap): Uint8Array =>
  Uint8Array.from([command, ...(params === undefined ? [] : encodeCanonical(params))]);
const runLine = (data: Uint8Array) =>
  `run ${toHex(data.subarray(0, 1))} ${data.length > 1 ? toHex(data.subarray(1)) : '-'}`;

function tsCommands(image: Record<string, string>, maxMessageSize: number, journalCapacity: number) {
  const backing = new MemoryBacking();
  backing.store({ main: image, journal: null });
  const nvm = new Nvm(backing);
  const cmds = new CardCommands(nvm, { maxMessageSize, journalCapacity, random: (n) => randomBytes(n) });
  const run = (data: Uint8Array): string => {
    let o: CommandOutcome;
    try {
      const p = decodeCommandData(data);
      o = cmds.run(p.command, p.params, effectiveLifecycle(nvm));
    } catch (e) {
      o = cmds.refusal(e);
    }
    return toHex(encodeResponseData(o.status, o.result));
  };
  return { nvm, backing, cmds, run };
}

/** The same commands on both cards from one image; answers and final NVM compared. Returns the TS answers. */
function compare(image: Record<string, string>, cardKey: Uint8Array, commands: Uint8Array[], msg = 2048, journal = 16) {
  const ts = tsCommands(image, msg, journal);
  const want = commands.map((c) => ts.run(c));
  const lines = [`cfg ${msg} ${journal}`, 'mount', ...putLines(image), 'mount', ...commands.map(runLine), 'dump'];
  const got = drive(lines).slice(3 + Object.keys(image).length);
  commands.forEach((c, i) => {
    assert.ok(got[i]!.startsWith('0 '), `driver: ${got[i]}`);
    assert.deepEqual(
      normaliseResponse(got[i]!.slice(2), cardKey),
      normaliseResponse(want[i]!, cardKey),
      `command ${i} ${toHex(c).slice(0, 80)}`,
    );
  });
  assert.deepEqual(
    normaliseDump(parseDump(got[commands.length]!), cardKey),
    normaliseDump(imageAsDump(ts.backing.load()!.main), cardKey),
    'NVM at the end',
  );
  return want;
}

/** A TS card, personalised (PIN 1234, PUK 12345678), topped up, PIN verified in this session. */
async function personalised(issuer: TestIssuer, balance = 500_000) {
  const backing = new MemoryBacking();
  const nvm = new Nvm(backing);
  const applet = new CardApplet(nvm, { journalCapacity: 16 });
  const client = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
  const cardId = Uint8Array.from(randomBytes(8));
  applet.powerOn();
  await issuer.issue(client, { cardId, pin: '1234', puk: '12345678', limits: LIMITS });
  await client.load({ token: issuer.topup(cardId, 1, balance).envelope, authority: issuer.authority.envelope });
  return { backing, nvm, cardId, cardKey: readIdentity(nvm)!.publicKey };
}

let nonceSeq = 0;
const sale = (amount: number, merchant = 'm-1') =>
  cmd(
    CMD.SIGN_TXN,
    encodeSignTxnRequest({
      amount,
      currency: 156,
      merchantId: merchant,
      terminalId: 't-1',
      time: 1_700_000_000 + nonceSeq,
      hostNonce: Uint8Array.from({ length: 16 }, (_, i) => (i < 4 ? (++nonceSeq >> (8 * i)) & 0xff : 0x5a)),
    }),
  );

/** Runs commands on the TS card image (to build a starting state), returning the new image. */
function advance(image: Record<string, string>, commands: Uint8Array[]): Record<string, string> {
  const ts = tsCommands(image, 2048, 16);
  for (const c of commands) ts.run(c);
  return ts.backing.load()!.main;
}

describe('C card commands: scripted cases against the TypeScript card', function () {
  this.timeout(300_000);
  const issuer = new TestIssuer('sm2-sm3');

  it('READ_JOURNAL pages at every message size boundary and every starting counter', async () => {
    const card = await personalised(issuer);
    // 20 sales of varied sizes: the journal (16) has dropped the first ones.
    const merchants = ['m', 'Café Ü', 'x'.repeat(32), 'shop-17', 'y'.repeat(20)];
    let image = advance(
      card.backing.load()!.main,
      Array.from({ length: 20 }, (_, i) => sale(100 + i, merchants[i % 5])),
    );
    for (const msg of [1024, 2048]) {
      const reads = [];
      for (let from = 0; from <= 22; from += 1)
        reads.push(
          cmd(
            CMD.READ_JOURNAL,
            encodeReadJournalRequest({ fromCounter: from, ...(from % 3 === 0 ? { maxRecords: 1 + (from % 5) } : {}) }),
          ),
        );
      compare(image, card.cardKey, reads, msg);
    }
    // Every message size from 1024 to 2048, one page from the oldest record and one from the middle,
    // in one driver run (cfg between the reads): the page must end at the same record, byte for byte.
    const lines: string[] = [];
    const want: string[] = [];
    for (let msg = 1024; msg <= 2048; msg += 1) {
      const ts = tsCommands(image, msg, 16);
      lines.push(`cfg ${msg} 16`);
      for (const from of [0, 9]) {
        const c = cmd(CMD.READ_JOURNAL, encodeReadJournalRequest({ fromCounter: from }));
        lines.push(runLine(c));
        want.push(`0 ${ts.run(c)}`);
      }
    }
    const got = drive(['mount', ...putLines(image), 'mount', ...lines])
      .slice(2 + Object.keys(image).length)
      .filter((l) => l !== 'ok');
    assert.deepEqual(got, want);
    assert.ok(new Set(want.map((w) => w.length)).size >= 6, 'pages of many sizes');
  });

  it('the offline totals after a sync at every settled counter, with voids in between', async () => {
    const card = await personalised(issuer);
    const start = card.backing.load()!.main;
    // sale, void it, sale, sale, void, sale, sale: reversals at 2 and 5.
    const steps: Uint8Array[] = [];
    let image = start;
    const amounts = [1_000, 2_000, 3_000, 4_000, 5_000];
    let counter = 0;
    const saleAt = (i: number) => sale(amounts[i % amounts.length]!, `m${i}`);
    for (const [i, action] of ['sale', 'void', 'sale', 'sale', 'void', 'sale', 'sale'].entries()) {
      if (action === 'sale') {
        steps.push(saleAt(i));
        counter++;
      } else {
        const prev = amounts[(i - 1) % amounts.length]!;
        steps.push(
          cmd(
            CMD.VOID_TXN,
            encodeVoidTxnRequest({
              counter,
              amount: prev,
              merchantId: `m${i - 1}`,
              terminalId: 't-1',
              time: 5,
              hostNonce: Uint8Array.from(randomBytes(16)),
            }),
          ),
        );
        counter++;
      }
    }
    image = advance(start, steps);
    for (let settled = 0; settled <= counter + 1; settled++) {
      for (const capacity of [16, 4]) {
        const token = issuer.topup(card.cardId, 2, 0, { resetOffline: true, settledCounter: settled });
        compare(
          image,
          card.cardKey,
          [
            cmd(CMD.LOAD, encodeLoadRequest({ token: token.envelope, authority: issuer.authority.envelope })),
            cmd(CMD.GET_INFO),
          ],
          2048,
          capacity,
        );
      }
    }
  });

  it('refund tokens of every sale: loaded, refused as voided, or unprovable', async () => {
    const card = await personalised(issuer);
    let counter = 0;
    const steps: Uint8Array[] = [];
    for (let i = 0; i < 6; i++) {
      steps.push(sale(700 + i, 'r'));
      counter++;
      if (i % 2 === 1) {
        steps.push(
          cmd(
            CMD.VOID_TXN,
            encodeVoidTxnRequest({
              counter,
              amount: 700 + i,
              merchantId: 'r',
              terminalId: 't-1',
              time: 9,
              hostNonce: Uint8Array.from(randomBytes(16)),
            }),
          ),
        );
        counter++;
      }
    }
    const image = advance(card.backing.load()!.main, steps);
    const seen = new Set<string>();
    for (const capacity of [16, 3]) {
      for (let refundOf = 1; refundOf <= counter + 2; refundOf++) {
        const token = issuer.topup(card.cardId, 2, 100, { resetOffline: false, refundOf });
        const [a] = compare(
          image,
          card.cardKey,
          [cmd(CMD.LOAD, encodeLoadRequest({ token: token.envelope, authority: issuer.authority.envelope }))],
          2048,
          capacity,
        );
        seen.add(a!.slice(0, 2));
      }
    }
    assert.deepEqual([...seen].sort(), ['00', '36', '37']);
  });

  it('edge states from crafted NVM images: counter at its end, last PUK try, missing tries, full purse', async () => {
    const card = await personalised(issuer);
    const base = advance(card.backing.load()!.main, [sale(1_000)]);
    const u = (n: number) => toHex(encodeCanonical(new Map([[1, n]])));
    const pin = (p: string) => cmd(CMD.VERIFY_PIN, encodeVerifyPinRequest(ascii(p)));
    const unblock = (puk: string) => cmd(CMD.UNBLOCK_PIN, encodeUnblockPinRequest(ascii(puk), ascii('1357')));
    const voidLast = (counter: number) =>
      cmd(
        CMD.VOID_TXN,
        encodeVoidTxnRequest({
          counter,
          amount: 1_000,
          merchantId: 'm-1',
          terminalId: 't-1',
          time: 3,
          hostNonce: new Uint8Array(16).fill(9),
        }),
      );
    const info = cmd(CMD.GET_INFO);
    const images: Array<[string, Record<string, string>, Uint8Array[]]> = [
      ['counter one below its end', { ...base, counter: u(0xffff_fffe) }, [sale(10), sale(10), info]],
      ['counter at its end', { ...base, counter: u(0xffff_ffff) }, [sale(10), voidLast(0xffff_ffff), info]],
      [
        'last PUK try, wrong then gone',
        { ...base, pukRetries: u(1) },
        [unblock('87654321'), unblock('12345678'), info, pin('1234')],
      ],
      ['last PUK try, right', { ...base, pukRetries: u(1) }, [unblock('12345678'), info, pin('1357')]],
      [
        'PIN tries missing',
        Object.fromEntries(Object.entries(base).filter(([k]) => k !== 'pinRetries')),
        [info, pin('1234'), unblock('12345678'), info],
      ],
      ['PIN tries unreadable', { ...base, pinRetries: 'ff' }, [info, pin('1234')]],
      ['purse at its maximum', { ...base, balance: u(1_000_000) }, [voidLast(1), info]],
      [
        'offline count at its limit',
        {
          ...base,
          offline: toHex(
            encodeCanonical(
              new Map([
                [1, 5],
                [2, 50],
              ]),
            ),
          ),
        },
        [sale(5), info],
      ],
      [
        'personalised, PIN blocked',
        { ...base, lifecycle: u(1), pinRetries: u(0) },
        [info, voidLast(1), sale(5), unblock('12345678'), info],
      ],
      ['terminated', { ...base, lifecycle: u(4) }, [info, pin('1234'), sale(5), voidLast(1), unblock('12345678')]],
      [
        'blocked',
        { ...base, lifecycle: u(5) },
        [info, pin('1234'), sale(5), cmd(CMD.READ_JOURNAL, encodeReadJournalRequest({ fromCounter: 0 })), cmd(0x0c)],
      ],
    ];
    for (const [name, image, commands] of images) {
      try {
        compare(image, card.cardKey, commands);
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      }
    }
  });

  it('the ISO PIN commands give the status words of CardCommands.isoPin in every life cycle', async () => {
    const card = await personalised(issuer);
    const base = card.backing.load()!.main;
    const u = (n: number) => toHex(encodeCanonical(new Map([[1, n]])));
    const script = [
      'iso 20 - -',
      'iso 20 9999 -',
      'iso 20 - -',
      'iso 20 1234 -',
      'iso 20 - -',
      'iso 24 1234 5678',
      'iso 24 0000 1234',
      'iso 2c 1234 1234',
      'iso 2c 87654321 1234',
      'iso 2c 12345678 2468',
      'iso 20 9999 -',
      'iso 20 9999 -',
      'iso 20 9999 -',
      'iso 20 - -',
      'iso 20 2468 -',
      'iso 2c 12345678 2468',
      'iso 20 2468 -',
    ];
    for (const image of [
      base,
      { ...base, lifecycle: u(1) },
      { ...base, lifecycle: u(5) },
      { ...base, lifecycle: u(4) },
      {},
    ]) {
      const ts = tsCommands(image, 2048, 16);
      const want = script.map((line) => {
        const [, ins, a, b] = line.split(' ');
        const pins = [a, b].filter((x) => x !== '-').map((x) => ascii(x!));
        let sw: number;
        try {
          sw = ts.cmds.isoPin(parseInt(ins!, 16), pins, effectiveLifecycle(ts.nvm));
        } catch {
          sw = 0x6f00;
        }
        return `0 ${sw.toString(16).padStart(4, '0')}`;
      });
      const got = drive(['cfg 2048 16', 'mount', ...putLines(image), 'mount', ...script]).slice(
        3 + Object.keys(image).length,
      );
      assert.deepEqual(got, want);
    }
  });

  it('a blank C card personalised from BEGIN to its first sale, checked with the TypeScript verifier', () => {
    const cardId = Uint8Array.from(randomBytes(8));
    const begin = cmd(
      CMD.PERSONALIZE_BEGIN,
      encodePersonalizeBeginRequest({ cardId, algorithm: 1, issuer: issuer.certificate.envelope }),
    );
    const other = new TestIssuer('sm2-sm3');
    // Phase 1: refusals, a factory anchor for another issuer, then a real BEGIN on an unbound card.
    const blank = tsCommands({}, 2048, 16);
    const refusals = [
      cmd(
        CMD.PERSONALIZE_COMMIT,
        encodePersonalizeCommitRequest({
          certificate: issuer.certificate.envelope,
          pin: ascii('1234'),
          puk: ascii('12345678'),
          authorisation: new Uint8Array(64),
        }),
      ),
      cmd(
        CMD.PERSONALIZE_BEGIN,
        encodePersonalizeBeginRequest({ cardId, algorithm: 3, issuer: issuer.certificate.envelope }),
      ),
      cmd(
        CMD.PERSONALIZE_BEGIN,
        encodePersonalizeBeginRequest({ cardId, algorithm: 1, issuer: issuer.authority.envelope }),
      ),
      cmd(CMD.PERSONALIZE_BEGIN, encodePersonalizeBeginRequest({ cardId, algorithm: 1, issuer: new Uint8Array(3) })),
      cmd(
        CMD.SIGN_TXN,
        encodeSignTxnRequest({
          amount: 1,
          currency: 156,
          merchantId: 'm',
          terminalId: 't',
          time: 0,
          hostNonce: new Uint8Array(16),
        }),
      ),
      cmd(CMD.GET_INFO),
      cmd(CMD.READ_JOURNAL, encodeReadJournalRequest({ fromCounter: 0 })),
    ];
    const want = refusals.map((c) => blank.run(c));
    const anchored = `put 0005 ${toHex(other.certificate.envelope)}`;
    const p1 = drive([
      'cfg 2048 16',
      'mount',
      ...refusals.map(runLine),
      anchored,
      runLine(begin),
      'put 0005 ' + toHex(issuer.certificate.envelope),
      runLine(begin),
      'dump',
    ]).slice(1);
    assert.deepEqual(
      p1.slice(1, 1 + refusals.length),
      want.map((w) => `0 ${w}`),
    );
    assert.equal(p1[refusals.length + 2], '0 40', 'an anchored card takes no other issuer');
    const answer = fromHex(p1[refusals.length + 4]!.slice(2));
    assert.equal(answer[0], 0);
    const r = new MapReader(decodeCanonical(answer.subarray(1)), 'BEGIN');
    const cardKey = r.bytes(1, { length: 65 });
    const challenge = r.bytes(2, { length: 16 });
    r.done();
    const state = parseDump(p1[refusals.length + 5]!);
    const perso = new MapReader(decodeCanonical(fromHex(state.get(3)!)), 'perso');
    assert.deepEqual(
      [perso.bytes(1), perso.uint(2), perso.bytes(4), perso.bytes(5), perso.bytes(6)],
      [cardId, 1, cardKey, issuer.certificate.envelope, challenge],
    );

    // Phase 2: COMMIT (a wrong authorisation, a bad PIN, a certificate for another card, then right).
    const now = NOW();
    const certFor = (subject: Uint8Array, key: Uint8Array) =>
      issueCertificate(issuer.key, {
        serial: Uint8Array.of(9),
        kind: CERT_KIND.CARD,
        subjectId: subject,
        algorithm: SIGNATURE_ALGORITHM_CODES['sm2-sm3'],
        publicKey: key,
        notBefore: now - 60,
        notAfter: now + 86400,
        limits: LIMITS,
        currency: 156,
      }).envelope;
    const commit = (certificate: Uint8Array, pin: string, authorise = true) => {
      const q = { certificate, pin: ascii(pin), puk: ascii('12345678') };
      const authorisation = authorise
        ? sign('sm2-sm3', issuer.key.privateKey, personalizationAuthorisationMessage(challenge, q))
        : new Uint8Array(64).fill(7);
      return cmd(CMD.PERSONALIZE_COMMIT, encodePersonalizeCommitRequest({ ...q, authorisation }));
    };
    const good = certFor(cardId, cardKey);
    const restore = [...state.entries()].map(([k, v]) => `put ${k.toString(16).padStart(4, '0')} ${v}`);
    const token = issuer.topup(cardId, 1, 9_000).envelope;
    const p2 = drive([
      'cfg 2048 16',
      'mount',
      ...restore,
      'mount',
      runLine(commit(good, '1234', false)),
      runLine(commit(good, '12a4')),
      runLine(commit(certFor(Uint8Array.from(randomBytes(8)), cardKey), '1234')),
      runLine(commit(good, '0000')),
      runLine(
        cmd(
          CMD.PERSONALIZE_BEGIN,
          encodePersonalizeBeginRequest({ cardId, algorithm: 1, issuer: issuer.certificate.envelope }),
        ),
      ),
      runLine(cmd(CMD.CHANGE_PIN, encodeChangePinRequest(ascii('0000'), ascii('2468')))),
      runLine(cmd(CMD.LOAD, encodeLoadRequest({ token, authority: issuer.authority.envelope }))),
      runLine(cmd(CMD.VERIFY_PIN, encodeVerifyPinRequest(ascii('2468')))),
      runLine(sale(6_000)),
      runLine(cmd(CMD.GET_INFO)),
      'dump',
    ]);
    const at = 3 + restore.length;
    assert.deepEqual(p2.slice(at, at + 6), ['0 41', '0 13', '0 40', '0 00', '0 05', '0 00a10103']);
    assert.equal(
      p2[at + 6],
      `0 ${toHex(
        encodeResponseData(
          0,
          new Map([
            [1, 9_000],
            [2, 1],
          ]),
        ),
      )}`,
    );
    assert.equal(p2[at + 7], '0 00a10103');
    const record = fromHex(p2[at + 8]!.slice(2));
    assert.equal(record[0], 0);
    const rec = decodeTxnRecord(new MapReader(decodeCanonical(record.subarray(1)), 'SIGN_TXN').bytes(1));
    assert.ok(verifyTxnRecord(rec, cardKey), 'the C card signs with the key it certified');
    assert.deepEqual(
      [rec.counter, rec.amount, rec.balanceAfter, rec.cvm, toHex(rec.cardId)],
      [1, 6_000, 3_000, 1, toHex(cardId)],
    );
    const info = new MapReader(decodeCanonical(fromHex(p2[at + 9]!.slice(4))), 'GET_INFO', {});
    assert.equal(info.uint(2), 2, 'active');
    assert.deepEqual(info.bytes(6), good);
    assert.deepEqual(info.bytes(15), rec.hash);
    const nvm = parseDump(p2[at + 10]!);
    assert.ok(!nvm.has(3), 'the pending personalisation is gone');
    void other;
  });
});
