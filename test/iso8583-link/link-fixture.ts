import { encodeBatchRequest } from '../../protocol/bank/batch.js';
import { linkDialectNamed, type LinkDialectName } from '../../protocol/iso8583/index.js';
import type { SignedTxnRecord } from '../../protocol/record/index.js';
import { startAcquirer, type RunningAcquirer } from '../../host/clearing/acquirer/acquirer-server.js';
import type { ClearingCore } from '../../host/clearing/clearing-core.js';
import type { CardpostError } from '../../protocol/errors.js';
import { Iso8583Link, type Iso8583LinkOptions } from '../../host/settlement/iso8583-link.js';
import { TestIssuer } from '../support/issuer.js';
import { ForgedCard } from '../support/record-forge.js';
import { FrameProxy } from './frame-proxy.js';

export const TERMINAL = 'T-ISO-1';
export const ISO_TERMINAL = 'CP000001';
export const MERCHANT = '898310058120001';
export const KEY_HEX = '0123456789abcdeffedcba9876543210';
export const DIALECT = 'cup-terminal' as const;

let seq = 0;
export const newBatchId = (): string =>
  (Date.now().toString(16) + (++seq).toString(16).padStart(8, '0')).padStart(32, '0');

/** Records of fresh cards naming `terminalId`, and the batch body the queue would store for them. */
export function batchOf(
  issuer: TestIssuer,
  o: { records: number; otherTerminal?: number; voids?: boolean; withCertificates?: boolean },
): { batchId: string; body: Uint8Array; records: SignedTxnRecord[]; cards: ForgedCard[] } {
  const card = ForgedCard.issue(issuer.key);
  const other = ForgedCard.issue(issuer.key);
  const records: SignedTxnRecord[] = [];
  for (let i = 0; i < o.records; i++) records.push(card.sign({ terminalId: TERMINAL, amount: 100 + i }));
  for (let i = 0; i < (o.otherTerminal ?? 0); i++)
    records.push(other.sign({ terminalId: 'T-SOMEONE-ELSE', amount: 7 }));
  const batchId = newBatchId();
  const body = encodeBatchRequest({
    batchId,
    records: records.map((r) => r.envelope),
    certificates: o.withCertificates === false ? [] : [card.certificate.envelope, other.certificate.envelope],
  });
  return { batchId, body, records, cards: [card, other] };
}

export interface Rig {
  acquirer: RunningAcquirer;
  proxy: FrameProxy;
  problems: CardpostError[];
  link(over?: Partial<Iso8583LinkOptions>): Iso8583Link;
  close(): Promise<void>;
}

/** An acquirer on 127.0.0.1 in front of `core`, a relay that sees every frame, and links through it. */
export async function rig(
  core: ClearingCore,
  o: { dialect?: LinkDialectName; clock?: () => number; tap?: (bytes: Uint8Array) => void } = {},
): Promise<Rig> {
  const dialect = o.dialect ?? DIALECT;
  const problems: CardpostError[] = [];
  const acquirer = await startAcquirer({
    core,
    dialect,
    terminals: [{ isoTerminalId: ISO_TERMINAL, merchantId: MERCHANT, terminalId: TERMINAL, macKeyHex: KEY_HEX }],
    onProblem: (e) => problems.push(e),
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.tap ? { tap: o.tap } : {}),
  });
  const proxy = new FrameProxy(linkDialectNamed(dialect), acquirer.port);
  await proxy.start();
  return {
    acquirer,
    proxy,
    problems,
    link: (over = {}) =>
      new Iso8583Link({
        host: '127.0.0.1',
        port: proxy.port,
        dialect,
        terminalId: ISO_TERMINAL,
        merchantId: MERCHANT,
        macKey: Buffer.from(KEY_HEX, 'hex'),
        timeZone: 'Asia/Shanghai',
        answerTimeoutMs: 400,
        ...over,
      }),
    close: async () => {
      await proxy.close();
      await acquirer.close();
    },
  };
}
