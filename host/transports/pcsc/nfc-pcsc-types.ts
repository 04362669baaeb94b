/**
 * The part of nfc-pcsc's (untyped) API we use, written down so the adapter is type-checked.
 * nfc-pcsc 0.8: NFC emits 'reader'; a Reader emits 'card' / 'card.off' / 'error' / 'end' and
 * offers transmit(data, responseMaxLength).
 */
export interface NfcPcscCard {
  atr?: Buffer;
  standard?: string;
}

export interface NfcPcscReader {
  readonly name: string;
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
