import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { CardpostError } from '../../protocol/errors.js';

/**
 * The simulated card's non-volatile memory, with a secure element's transaction semantics.
 *
 * Every command's writes go through one transaction. Physically (and this is what the tearing
 * hook counts) a transaction is: one write per staged value into the journal area, one write of
 * the commit mark, one write per value into the main area, one write clearing the journal.
 * Power-on recovery rolls a committed journal forward and discards an uncommitted one, so after a
 * power loss at ANY write the card is exactly as before or exactly as after the command.
 */

/** Thrown inside the card when the simulated power is cut; the card object is dead afterwards. */
export class PowerLoss extends Error {
  constructor() {
    super('simulated power loss');
    this.name = 'PowerLoss';
  }
}

interface Image {
  main: Record<string, string>;
  journal: { entries: Array<[string, string | null]>; committed: boolean } | null;
}

/** Where the NVM image lives between power cycles: a file (sim CLI, vpcd) or memory (fast tests). */
export interface NvmBacking {
  load(): Image | undefined;
  store(image: Image): void;
}

export class MemoryBacking implements NvmBacking {
  private image: string | undefined;
  load(): Image | undefined {
    return this.image === undefined ? undefined : parseImage(this.image, 'memory');
  }
  store(image: Image): void {
    this.image = JSON.stringify(image);
  }
  /** A copy of the memory as it is now: tearing tests replay one command from the same state. */
  clone(): MemoryBacking {
    const c = new MemoryBacking();
    c.image = this.image;
    return c;
  }
}

/** Atomic replace (write temp, rename): a killed simulator process leaves the old or the new image. */
export class FileBacking implements NvmBacking {
  constructor(readonly path: string) {}
  load(): Image | undefined {
    if (!existsSync(this.path)) return undefined;
    return parseImage(readFileSync(this.path, 'utf8'), this.path);
  }
  store(image: Image): void {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(image));
    renameSync(tmp, this.path);
  }
}

/** Read an NVM image, refusing anything that is not one (a card file damaged or not a card file). */
function parseImage(text: string, where: string): Image {
  const bad = (why: string) =>
    new CardpostError(
      'CARD_STATE_CORRUPT',
      `the card state in ${where} is not a card image: ${why}`,
      'restore the file from a backup, or delete it to start with a blank card',
    );
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw bad((e as Error).message);
  }
  const img = o as Partial<Image>;
  const isHex = (v: unknown) => typeof v === 'string' && /^([0-9a-f]{2})*$/.test(v);
  if (!img || typeof img !== 'object' || typeof img.main !== 'object' || img.main === null) throw bad('no main area');
  if (!Object.values(img.main).every(isHex)) throw bad('a value is not hex');
  const j = img.journal;
  if (
    j !== null &&
    (typeof j !== 'object' ||
      !Array.isArray(j.entries) ||
      typeof j.committed !== 'boolean' ||
      !j.entries.every((e) => Array.isArray(e) && typeof e[0] === 'string' && (e[1] === null || isHex(e[1]))))
  )
    throw bad('a damaged journal');
  return img as Image;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

export interface NvmTransaction {
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array): void;
  delete(key: string): void;
}

export class Nvm {
  private main = new Map<string, Uint8Array>();
  private writes = 0;
  private cutAfter: number | undefined;
  private dead = false;

  /** Power on: load the image and finish or undo an interrupted transaction. */
  constructor(private readonly backing: NvmBacking) {
    const image = backing.load();
    if (!image) return;
    for (const [k, v] of Object.entries(image.main)) this.main.set(k, unhex(v));
    if (image.journal) {
      if (image.journal.committed) {
        for (const [k, v] of image.journal.entries) {
          if (v === null) this.main.delete(k);
          else this.main.set(k, unhex(v));
        }
      }
      this.persist(null); // recovery itself is not counted: it runs before any command
    }
  }

  /** Cut the power right after the n-th physical write from now (tearing tests). */
  cutPowerAfter(n: number | undefined): void {
    this.cutAfter = n === undefined ? undefined : this.writes + n;
  }

  /** Physical writes so far: lets a test learn how many write points a command has. */
  get writeCount(): number {
    return this.writes;
  }

  get alive(): boolean {
    return !this.dead;
  }

  get(key: string): Uint8Array | undefined {
    this.checkPower();
    return this.main.get(key);
  }

  /** Run fn with staged writes; they persist all together or not at all. */
  transaction<T>(fn: (tx: NvmTransaction) => T): T {
    this.checkPower();
    const staged = new Map<string, Uint8Array | null>();
    const tx: NvmTransaction = {
      get: (k) => (staged.has(k) ? (staged.get(k) ?? undefined) : this.main.get(k)),
      set: (k, v) => {
        staged.set(k, v.slice());
      },
      delete: (k) => {
        staged.set(k, null);
      },
    };
    const result = fn(tx);
    if (staged.size === 0) return result;
    const entries: Array<[string, string | null]> = [];
    for (const [k, v] of staged) {
      entries.push([k, v === null ? null : hex(v)]);
      this.physicalWrite({ entries: entries.slice(), committed: false });
    }
    this.physicalWrite({ entries, committed: true });
    for (const [k, v] of staged) {
      if (v === null) this.main.delete(k);
      else this.main.set(k, v);
      this.physicalWrite({ entries, committed: true });
    }
    this.physicalWrite(null);
    return result;
  }

  private checkPower(): void {
    if (this.dead) throw new PowerLoss();
  }

  private physicalWrite(journal: Image['journal']): void {
    this.checkPower();
    this.persist(journal);
    this.writes++;
    if (this.cutAfter !== undefined && this.writes >= this.cutAfter) {
      this.dead = true;
      throw new PowerLoss();
    }
  }

  private persist(journal: Image['journal']): void {
    const main: Record<string, string> = {};
    for (const [k, v] of this.main) main[k] = hex(v);
    this.backing.store({ main, journal });
  }
}
