/**
 * What a simulated ESC/POS receipt printer makes of the bytes it is sent (Epson ESC/POS command
 * reference): text in the printer's Chinese mode (FS &, GB18030 → Unicode) or in code table cp437,
 * character size (GS !, ESC !), emphasis, alignment, print positions, line feeds, the cut (GS V), and
 * the in-order status request GS r. Pure, streaming and total: any byte sequence, cut anywhere, decodes
 * to lines and events, never a throw, and never holds more than MAX_LINE_BYTES of a line or any part of
 * a skipped block (an image, a barcode) in memory.
 *
 * Real-time commands (DLE EOT, DLE ENQ, DLE DC4) are answered by the printer as the bytes arrive, before
 * they reach this decoder (sim-printer.ts); here they are only stepped over.
 */

export interface PrintedSegment {
  text: string;
  /** Character width and height multipliers (1–8). */
  width: number;
  height: number;
  bold: boolean;
}

export interface PrintedLine {
  /** The line as the paper shows it (print-position moves become spaces). */
  text: string;
  segments: PrintedSegment[];
  align: 'left' | 'center' | 'right';
}

export type DecodedEvent =
  | { kind: 'line'; line: PrintedLine }
  | { kind: 'cut' }
  | { kind: 'init' }
  /** GS r n: answer the paper sensor (n 1/49) or drawer (n 2/50) status, in order. */
  | { kind: 'status'; n: number }
  /** A command this decoder does not know: only its first byte is stepped over. */
  | { kind: 'unknown'; byte: number };

/** A printer wraps a line at its width; one line never holds more than this many bytes here. */
export const MAX_LINE_BYTES = 4096;
/** One dot column of Font A (12 × 24): ESC $ / ESC \ move the print position in dots. */
const DOTS_PER_CHAR = 12;

const ESC = 0x1b;
const GS = 0x1d;
const FS = 0x1c;
const DLE = 0x10;
const LF = 0x0a;
const CR = 0x0d;
const HT = 0x09;
const FF = 0x0c;

// Code table 0 (PC437), bytes 0x80–0xFF.
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/**
 * How many parameter bytes follow a command, given the bytes after its prefix seen so far: a number,
 * or `more` until enough is known, or a block of `skip` bytes after `header` bytes (images, barcodes).
 */
type Need = number | 'more' | { header: number; skip: number };

const le = (b: readonly number[], i: number, n: number) => {
  let v = 0;
  for (let k = n - 1; k >= 0; k--) v = v * 256 + b[i + k]!;
  return v;
};

/** ESC x: fixed parameter counts (Epson ESC/POS, thermal models). */
const ESC_FIXED: Readonly<Record<number, number>> = {
  0x40: 0, // ESC @ initialise
  0x32: 0, // ESC 2 default line spacing
  0x33: 1, // ESC 3 n line spacing
  0x20: 1, // ESC SP n right-side spacing
  0x21: 1, // ESC ! n print mode
  0x24: 2, // ESC $ nL nH absolute position
  0x5c: 2, // ESC \ nL nH relative position
  0x2d: 1, // ESC - n underline
  0x45: 1, // ESC E n emphasis
  0x47: 1, // ESC G n double strike
  0x4d: 1, // ESC M n font
  0x52: 1, // ESC R n international set
  0x56: 1, // ESC V n rotation
  0x61: 1, // ESC a n alignment
  0x64: 1, // ESC d n print and feed n lines
  0x4a: 1, // ESC J n print and feed n dots
  0x74: 1, // ESC t n code table
  0x7b: 1, // ESC { n upside down
  0x70: 3, // ESC p m t1 t2 drawer kick
  0x3d: 1, // ESC = n peripheral
  0x4c: 0, // ESC L page mode
  0x53: 0, // ESC S standard mode
  0x63: 2, // ESC c 3/4/5 n panel and sensors
  0x25: 1, // ESC % n user-defined set
};

function escNeed(p: readonly number[]): Need {
  const cmd = p[0]!;
  if (cmd === 0x2a) {
    // ESC * m nL nH d…: bit image, 1 or 3 bytes a column
    if (p.length < 4) return 'more';
    const cols = le(p, 2, 2);
    return { header: 3, skip: cols * (p[1]! & 0x20 ? 3 : 1) };
  }
  const n = ESC_FIXED[cmd];
  return n === undefined ? -1 : n;
}

/** GS x: fixed parameter counts. */
const GS_FIXED: Readonly<Record<number, number>> = {
  0x21: 1, // GS ! n character size
  0x42: 1, // GS B n reverse
  0x4c: 2, // GS L nL nH left margin
  0x57: 2, // GS W nL nH print area width
  0x61: 1, // GS a n automatic status back
  0x72: 1, // GS r n transmit status
  0x48: 1, // GS H n HRI position
  0x66: 1, // GS f n HRI font
  0x68: 1, // GS h n barcode height
  0x77: 1, // GS w n barcode width
  0x62: 1, // GS b n smoothing
  0x49: 1, // GS I n printer id
  0x50: 2, // GS P x y motion units
  0x24: 2, // GS $ vertical position (page mode)
  0x5c: 2, // GS \ relative vertical position
  0x2f: 1, // GS / m print downloaded image
};

function gsNeed(p: readonly number[]): Need {
  const cmd = p[0]!;
  if (cmd === 0x56) {
    // GS V m [n]: cut; m 65/66/97/98/103/104 take a feed amount
    if (p.length < 2) return 'more';
    return [65, 66, 97, 98, 103, 104].includes(p[1]!) ? 2 : 1;
  }
  if (cmd === 0x28) {
    // GS ( x pL pH …
    if (p.length < 4) return 'more';
    return { header: 3, skip: le(p, 2, 2) };
  }
  if (cmd === 0x38) {
    // GS 8 L p1 p2 p3 p4 …
    if (p.length < 6) return 'more';
    return { header: 5, skip: le(p, 2, 4) };
  }
  if (cmd === 0x76) {
    // GS v 0 m xL xH yL yH d…: raster image
    if (p.length < 7) return 'more';
    return { header: 6, skip: le(p, 3, 2) * le(p, 5, 2) };
  }
  if (cmd === 0x6b) {
    // GS k m …: barcode, NUL-ended (m 0–6) or with a length byte (m 65–79)
    if (p.length < 2) return 'more';
    if (p[1]! >= 65) return p.length < 3 ? 'more' : { header: 2, skip: p[2]! };
    const ended = p.length > 2 && p[p.length - 1] === 0;
    return ended || p.length > 258 ? p.length - 1 : 'more';
  }
  const n = GS_FIXED[cmd];
  return n === undefined ? -1 : n;
}

/** FS x: the Kanji/Chinese mode commands. */
function fsNeed(p: readonly number[]): Need {
  const cmd = p[0]!;
  if (cmd === 0x26 || cmd === 0x2e) return 0; // FS & / FS . Chinese mode on / off
  if (cmd === 0x21 || cmd === 0x2d || cmd === 0x43 || cmd === 0x57) return 1; // FS ! / FS - / FS C / FS W
  if (cmd === 0x53) return 2; // FS S n1 n2 Chinese character spacing
  if (cmd === 0x28) {
    if (p.length < 4) return 'more';
    return { header: 3, skip: le(p, 2, 2) };
  }
  if (cmd === 0x32) return p.length < 3 ? 'more' : 2 + 72; // FS 2 c1 c2 d1…d72: user-defined character
  return -1;
}

/** DLE x: real-time commands (answered on arrival by the printer, stepped over here). */
function dleNeed(p: readonly number[]): Need {
  const cmd = p[0]!;
  if (cmd === 0x04 || cmd === 0x05) return 1; // DLE EOT n, DLE ENQ n
  if (cmd === 0x14) return 4; // DLE DC4 fn a b c
  return -1;
}

const ALIGNMENTS: readonly PrintedLine['align'][] = ['left', 'center', 'right'];

const NEEDS: Readonly<Record<number, (p: readonly number[]) => Need>> = {
  [ESC]: escNeed,
  [GS]: gsNeed,
  [FS]: fsNeed,
  [DLE]: dleNeed,
};

export class EscPosDecoder {
  private prefix = -1;
  private params: number[] = [];
  private skipLeft = 0;
  private text: number[] = [];
  private segments: PrintedSegment[] = [];
  private column = 0;
  private width = 1;
  private height = 1;
  private bold = false;
  private chinese = false;
  private codeTable = 0;
  private align: PrintedLine['align'] = 'left';
  private readonly gb = new TextDecoder('gb18030');

  constructor(private readonly emit: (e: DecodedEvent) => void) {}

  /** Take the next bytes of the stream. */
  feed(bytes: Uint8Array): void {
    for (const b of bytes) this.byte(b);
  }

  /** Take the next byte (a printer that may stop after any byte: paper out). */
  push(b: number): void {
    this.byte(b & 0xff);
  }

  /** The line being printed, as far as it has come (for a printer that stops mid-line). */
  get partialLine(): string {
    return this.lineText(this.segmentsWithPending());
  }

  private byte(b: number): void {
    if (this.skipLeft > 0) {
      this.skipLeft--;
      return;
    }
    if (this.prefix >= 0) {
      this.params.push(b);
      this.command();
      return;
    }
    if (NEEDS[b]) {
      this.prefix = b;
      this.params = [];
      return;
    }
    if (b === LF) return this.endLine();
    if (b === CR || b === FF) return;
    if (b === HT) return this.addText([0x20]);
    if (b < 0x20 || b === 0x7f) return; // other control bytes: nothing printed
    this.addText([b]);
  }

  private command(): void {
    const need = NEEDS[this.prefix]!(this.params);
    if (need === 'more') {
      if (this.params.length > 300) this.unknown(); // no command here is that long before its length is known
      return;
    }
    if (typeof need === 'number') {
      if (need < 0) return this.unknown();
      if (this.params.length < need + 1) return;
    } else if (this.params.length < need.header + 1) return;
    const [prefix, p] = [this.prefix, this.params];
    this.prefix = -1;
    this.params = [];
    if (typeof need === 'object') this.skipLeft = need.skip;
    this.apply(prefix, p);
  }

  /** Not a command we know: the prefix byte counts for nothing, the bytes after it are read again. */
  private unknown(): void {
    const rest = this.params;
    this.emit({ kind: 'unknown', byte: this.prefix });
    this.prefix = -1;
    this.params = [];
    for (const b of rest) this.byte(b);
  }

  private apply(prefix: number, p: readonly number[]): void {
    const [c, n = 0] = p;
    if (prefix === ESC) {
      if (c === 0x40) {
        this.endSegment();
        Object.assign(this, { width: 1, height: 1, bold: false, chinese: false, codeTable: 0, align: 'left' });
        this.emit({ kind: 'init' });
      } else if (c === 0x21) this.style(n & 0x20 ? 2 : 1, n & 0x10 ? 2 : 1, (n & 0x08) !== 0);
      else if (c === 0x45) this.style(this.width, this.height, (n & 1) === 1);
      else if (c === 0x74) {
        this.endSegment();
        this.codeTable = n;
      } else if (c === 0x61) this.align = ALIGNMENTS[n % 48] ?? 'left';
      else if (c === 0x5c) this.moveBy(Math.round(((le(p, 1, 2) << 16) >> 16) / DOTS_PER_CHAR));
      else if (c === 0x24) this.moveTo(Math.round(le(p, 1, 2) / DOTS_PER_CHAR));
      else if (c === 0x64) {
        this.endLine();
        for (let i = 1; i < Math.min(n, 16); i++) this.endLine();
      }
    } else if (prefix === GS) {
      if (c === 0x21) this.style(((n >> 4) & 7) + 1, (n & 7) + 1, this.bold);
      else if (c === 0x56) {
        if (this.text.length > 0 || this.segments.length > 0) this.endLine();
        this.emit({ kind: 'cut' });
      } else if (c === 0x72) this.emit({ kind: 'status', n });
    } else if (prefix === FS) {
      if (c === 0x26 || c === 0x2e) {
        this.endSegment();
        this.chinese = c === 0x26;
      }
    }
  }

  private style(width: number, height: number, bold: boolean): void {
    if (width === this.width && height === this.height && bold === this.bold) return;
    this.endSegment();
    this.width = width;
    this.height = height;
    this.bold = bold;
  }

  private addText(bytes: number[]): void {
    for (const b of bytes) this.text.push(b);
    if (this.text.length >= MAX_LINE_BYTES) this.endLine();
  }

  private moveBy(chars: number): void {
    if (chars > 0) this.addText(new Array<number>(Math.min(chars, 256)).fill(0x20));
  }

  private moveTo(col: number): void {
    this.endSegment();
    this.moveBy(col - this.column);
  }

  private decode(bytes: number[]): string {
    if (this.chinese) return this.gb.decode(Uint8Array.from(bytes));
    return String.fromCharCode(...bytes).replace(/[\x80-\xff]/g, (ch) =>
      this.codeTable === 0 ? CP437_HIGH[ch.charCodeAt(0) - 0x80]! : '?',
    );
  }

  private segmentsWithPending(): PrintedSegment[] {
    if (this.text.length === 0) return this.segments;
    return [
      ...this.segments,
      { text: this.decode(this.text), width: this.width, height: this.height, bold: this.bold },
    ];
  }

  private endSegment(): void {
    if (this.text.length === 0) return;
    const seg = this.segmentsWithPending().at(-1)!;
    this.segments.push(seg);
    this.column += [...seg.text].reduce((a, ch) => a + (ch.charCodeAt(0) < 0x80 ? 1 : 2), 0) * seg.width;
    this.text = [];
  }

  private lineText(segments: PrintedSegment[]): string {
    return segments.map((s) => s.text).join('');
  }

  private endLine(): void {
    this.endSegment();
    const segments = this.segments;
    this.emit({ kind: 'line', line: { text: this.lineText(segments), segments, align: this.align } });
    this.segments = [];
    this.column = 0;
  }
}
