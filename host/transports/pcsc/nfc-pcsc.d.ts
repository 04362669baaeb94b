// nfc-pcsc ships no types; this declares the surface described in nfc-pcsc-types.ts.
declare module 'nfc-pcsc' {
  import type { NfcPcscConstructor } from './nfc-pcsc-types.js';
  export const NFC: NfcPcscConstructor;
}
