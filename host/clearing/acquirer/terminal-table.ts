import { Sm4Key } from '../../../protocol/crypto/sm4.js';
import { AcquirerError } from './acquirer-error.js';

/** One terminal the acquirer knows: its ISO ids, the cardpost terminal its records name, its MAC key. */
export interface AcquirerTerminal {
  /** Field 41: 8 printable ASCII characters. */
  readonly isoTerminalId: string;
  /** Field 42: 15 printable ASCII characters. */
  readonly merchantId: string;
  /** The terminal id the card-signed records name (and the HTTP API's certificate subject). */
  readonly terminalId: string;
  /** The terminal's SM4 MAC key (TAK), 32 hex digits. */
  readonly macKeyHex: string;
}

export interface KnownTerminal {
  readonly terminalId: string;
  readonly macKey: Sm4Key;
}

/**
 * Fields 41 + 42 → the terminal. Built once at start; a bad row is ACQUIRER_CONFIG_INVALID naming it,
 * so a typo in a key never turns into every message of that terminal failing its MAC.
 */
export class TerminalTable {
  private readonly byIds = new Map<string, KnownTerminal>();

  constructor(rows: readonly AcquirerTerminal[]) {
    rows.forEach((r, i) => {
      const bad = (why: string): never => {
        throw new AcquirerError(
          'ACQUIRER_CONFIG_INVALID',
          `acquirer terminal ${i} (${String(r?.isoTerminalId)}): ${why}`,
        );
      };
      if (typeof r?.isoTerminalId !== 'string' || !/^[\x20-\x7e]{8}$/.test(r.isoTerminalId))
        bad('isoTerminalId must be 8 printable ASCII characters');
      if (typeof r.merchantId !== 'string' || !/^[\x20-\x7e]{15}$/.test(r.merchantId))
        bad('merchantId must be 15 printable ASCII characters');
      if (typeof r.terminalId !== 'string' || r.terminalId.length === 0 || r.terminalId.length > 64)
        bad('terminalId must be the cardpost terminal id (1-64 characters)');
      if (typeof r.macKeyHex !== 'string' || !/^[0-9a-fA-F]{32}$/.test(r.macKeyHex))
        bad('macKeyHex must be 32 hex digits (a 16-byte SM4 key)');
      const key = TerminalTable.key(r.isoTerminalId, r.merchantId);
      if (this.byIds.has(key)) bad('listed twice');
      this.byIds.set(key, { terminalId: r.terminalId, macKey: new Sm4Key(Buffer.from(r.macKeyHex, 'hex')) });
    });
  }

  private static key(isoTerminalId: string, merchantId: string): string {
    return `${isoTerminalId}\u0000${merchantId}`;
  }

  find(isoTerminalId: string, merchantId: string): KnownTerminal | undefined {
    return this.byIds.get(TerminalTable.key(isoTerminalId, merchantId));
  }
}
