/**
 * The part of nfc-pcsc's (untyped) API we use, written down so the adapter is type-checked.
 * nfc-pcsc 0.8: NFC emits 'reader'; a Reader emits 'card' / 'card.off' / 'error' / 'end' and
 * offers transmit(data, responseMaxLength).
 */
export interface NfcPcscCard {
  atr?: Buffer;
  standard?: string;
}

/**
 * The @pokusew/pcsclite reader object nfc-pcsc wraps (its `reader` property). nfc-pcsc's own
 * control() always sends IOCTL_CCID_ESCAPE; PC/SC part 10 needs other control codes, so the PIN pad
 * calls this one. `control` runs SCardControl on the connected card's handle.
 */
export interface PcscliteReader {
  readonly connected?: boolean;
  /** pcsclite's SCARD_CTL_CODE for this platform (Linux and macOS: 0x42000000 + code; Windows differs). */
  SCARD_CTL_CODE?(code: number): number;
  control(
    data: Buffer,
    controlCode: number,
    responseMaxLength: number,
    cb: (err: Error | null, out?: Buffer) => void,
  ): void;
}

export interface NfcPcscReader {
  readonly name: string;
  /** Absent on stand-ins that only transmit (the host then finds no PIN pad). */
  readonly reader?: PcscliteReader;
  autoProcessing: boolean;
  card: NfcPcscCard | null;
  connection: { protocol: number } | null;
  transmit(data: Buffer, responseMaxLength: number): Promise<Buffer>;
  close(): void;
  on(event: 'card' | 'card.off', listener: (card: NfcPcscCard) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'end', listener: () => void): this;
}

export interface NfcPcsc {
  on(event: 'reader', listener: (reader: NfcPcscReader) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  close(): void;
}

export type NfcPcscConstructor = new (logger?: unknown) => NfcPcsc;
