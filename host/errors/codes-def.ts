import type { CardStatusName } from '../../protocol/commands/command-codes.js';
import type { CertificateProblem } from '../../protocol/record/index.js';
import type { ErrorDef, ErrorGroup, ErrorKind } from './types.js';

/** The building blocks of the registry's tables (codes.ts, codes-card.ts). */

export const def = (status: number | null, kind: ErrorKind, advice: string): ErrorDef => ({ status, kind, advice });
export const group = (title: string, source: string, defs: Readonly<Record<string, ErrorDef>>): ErrorGroup => ({
  title,
  source,
  entries: Object.entries(defs).map(([code, d]) => ({
    code,
    ...d,
    ...(code.endsWith('*') ? { family: 'prefix' as const } : {}),
  })),
});

/** `outlives-issuer` → `OUTLIVES_ISSUER`, at the type level, so the table below must name every problem. */
export type Snake<S extends string> = S extends `${infer A}-${infer B}` ? `${A}_${Snake<B>}` : S;
export type CertificateCode = `CARD_${Uppercase<Snake<CertificateProblem | 'revoked'>>}`;
export type CardStatusCode = `CARD_${Exclude<CardStatusName, 'OK'>}` | 'CARD_UNKNOWN_STATUS';
export type ChainCode = `RECORD_CHAIN_${Uppercase<Snake<'gap' | 'fork' | 'replay' | 'wrong-card'>>}`;
