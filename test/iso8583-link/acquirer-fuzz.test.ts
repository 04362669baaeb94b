import { strict as assert } from 'node:assert';
import { fromHex } from '../../protocol/bytes.js';
import * as iso from '../../protocol/iso8583/index.js';
import { BatchTotalsBook } from '../../host/clearing/acquirer/batch-totals.js';
import { handleRequest, type HandlerContext } from '../../host/clearing/acquirer/request-handler.js';
import { INITIAL_SESSION, type SessionState } from '../../host/clearing/acquirer/session.js';
import { TerminalTable } from '../../host/clearing/acquirer/terminal-table.js';
import { Prng } from '../support/prng.js';
import { TestIssuer } from '../support/issuer.js';
import { ForgedCard } from '../support/record-forge.js';
import { FakeClearingCore } from './fake-core.js';
import { ISO_TERMINAL, KEY_HEX, MERCHANT, TERMINAL } from './link-fixture.js';

/**
 * The acquirer's request path below the socket (handleRequest), fed messages that decode but mean
 * nonsense: fields dropped or replaced with well-formed junk, MTIs it does not serve, right and wrong
 * MACs, every session state. It never throws; it answers with the answering MTI (an answer that
 * encodes) or asks for the connection to be closed; it settles only what a signed-on session asked.
 */
describe('ISO 8583 acquirer: fuzzed requests (seeded)', () => {
  it('500 mutated requests: never a throw, every answer encodes and answers its request', async () => {
    const prng = new Prng(0x0220);
    const d = iso.linkDialectNamed('plain-bcd');
    const key = fromHex(KEY_HEX);
    const core = new FakeClearingCore();
    const ctx: HandlerContext = {
      core,
      dialect: d,
      terminals: new TerminalTable([
        { isoTerminalId: ISO_TERMINAL, merchantId: MERCHANT, terminalId: TERMINAL, macKeyHex: KEY_HEX },
      ]),
      book: new BatchTotalsBook(),
      clock: () => 1_790_000_000_000,
    };
    const card = ForgedCard.issue(new TestIssuer().key);
    const record = card.sign({ terminalId: TERMINAL }).envelope;
    const h = { stan: 1, batch: 3, terminalId: ISO_TERMINAL, merchantId: MERCHANT };
    const local = { date: '1206', time: '101010', amount: 100, currency: '156', record };
    const totals = { debitCount: 1, debitAmount: 100, creditCount: 0, creditAmount: 0 };
    const bases = [
      iso.signOn({ ...h, operator: '001' }),
      iso.withFields(iso.offlineAdvice({ ...h, ...local, entry: 'contact' }), [
        [59, Buffer.from(card.certificate.envelope).toString('base64url')],
      ]),
      iso.batchUpload({ ...h, ...local }),
      iso.settlement({ ...h, totals, currency: '156', operator: '001' }),
    ];
    const junk: [number, () => iso.FieldValue][] = [
      [11, () => String(prng.int(1_000_000)).padStart(6, '0')],
      [
        60,
        () =>
          prng.int(2)
            ? '00000003201'
            : prng
                .bytes(prng.int(12))
                .toString()
                .slice(0, 17)
                .replace(/[^ -~]/g, 'x'),
      ],
      [62, () => (prng.int(2) ? 'AAAA' : '!!!!')],
      [59, () => (prng.int(2) ? 'AQID' : '%%')],
      [48, () => String(prng.int(1e9)).padStart(prng.int(2) ? 30 : 12, '0')],
      [41, () => (prng.int(2) ? ISO_TERMINAL : 'CP00000X')],
      [4, () => String(prng.int(1e6)).padStart(12, '0')],
    ];
    const states: SessionState[] = [
      INITIAL_SESSION,
      { kind: 'signed-on', terminal: TERMINAL, batch: 3, since: 1_790_000_000_000 },
      { kind: 'uploading', terminal: TERMINAL, batch: 3, since: 1_790_000_000_000 },
      { kind: 'closed', terminal: TERMINAL, batch: 3, since: 1_790_000_000_000 },
    ];
    let answered = 0;
    let closed = 0;
    for (let i = 0; i < 500; i++) {
      const base = bases[prng.int(bases.length)]!;
      const fields = new Map(base.fields);
      for (let k = prng.int(3); k > 0; k--) fields.delete([...fields.keys()][prng.int(fields.size)]!);
      for (let k = prng.int(3); k > 0; k--) {
        const [n, make] = junk[prng.int(junk.length)]!;
        fields.set(n, make());
      }
      let msg: iso.Iso8583Message = { mti: prng.int(10) === 0 ? '0420' : base.mti, fields };
      try {
        iso.encodeMessage(d, msg); // only messages that could arrive: the decoder takes nothing else
      } catch {
        continue;
      }
      if (prng.int(10) > 2) msg = iso.withMac(d, msg, key);
      const state = states[prng.int(states.length)]!;
      const out = await handleRequest(ctx, { header: new Uint8Array(0), message: msg }, state);
      if (!out.answer) {
        closed++;
        continue;
      }
      answered++;
      assert.equal(out.answer.message.mti, iso.responseMti(msg.mti), `case ${i}`);
      iso.encodeFrame(d, out.answer);
      assert.ok(['not-signed-on', 'signed-on', 'uploading', 'closed'].includes(out.next.kind));
    }
    assert.ok(answered > 200 && closed > 10, `answered ${answered}, closed ${closed}: the fuzz reached both`);
    assert.ok(core.settleCalls.length > 0, 'some mutations were still settled');
  });
});
