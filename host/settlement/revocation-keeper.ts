import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { toHex } from '../../protocol/bytes.js';
import {
  CERT_KIND,
  decodeRevocationList,
  keyId,
  verifyCertificate,
  verifyRevocationList,
  type Certificate,
  type RevocationList,
  type TrustStore,
} from '../../protocol/record/index.js';
import type { BankClient } from './bank-client.js';

/**
 * Keeps the host's copy of the bank's revocation list (docs/bank-api.md §7): fetched whenever the
 * bank is reachable, accepted only when signed by the top-up authority (itself certified by a
 * trusted issuer CA) and never older than the copy in hand, saved to disk so a counter that starts
 * offline still refuses revoked cards.
 */
export class RevocationKeeper {
  private current: RevocationList | undefined;
  private inFlight: Promise<void> | undefined;
  private lastFetch = 0;
  private warnedNoAuthority = false;

  constructor(
    private readonly o: {
      trust: TrustStore;
      bank: BankClient;
      file: string;
      authority?: Certificate;
      minIntervalMs?: number;
      log?: { info(o: object, m: string): void; warn(o: object, m: string): void };
    },
  ) {}

  get sequence(): number | null {
    return this.current?.sequence ?? null;
  }

  loadSaved(): void {
    if (!existsSync(this.o.file)) return;
    try {
      this.accept(readFileSync(this.o.file), false);
    } catch (e) {
      this.o.log?.warn({ file: this.o.file, err: (e as Error).message }, 'saved revocation list ignored');
    }
  }

  /** Fetch the list if the last fetch is older than minIntervalMs (or now, with `force`). */
  refresh(o: { force?: boolean } = {}): Promise<void> {
    if (!this.o.authority) {
      // Nothing to verify it with: do not trust an unsigned copy. Said once, so the gap is not silent.
      if (!this.warnedNoAuthority) {
        this.warnedNoAuthority = true;
        this.o.log?.warn(
          {},
          'revocation list not fetched: no authorityCertificate configured, so cards revoked at the bank are not refused at this counter; set authorityCertificate in the config',
        );
      }
      return Promise.resolve();
    }
    if (this.inFlight) return this.inFlight;
    if (!o.force && Date.now() - this.lastFetch < (this.o.minIntervalMs ?? 60_000)) return Promise.resolve();
    this.lastFetch = Date.now();
    this.inFlight = (async () => {
      try {
        const bytes = await this.o.bank.revocations();
        if (bytes) this.accept(bytes, true);
      } catch (e) {
        this.o.log?.warn({ err: (e as Error).message }, 'revocation list refused');
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }

  private accept(bytes: Uint8Array, save: boolean): void {
    const authority = this.o.authority;
    if (!authority) return;
    const list = decodeRevocationList(bytes);
    const issuer = this.o.trust.issuerFor(authority);
    if (!issuer) throw new Error('the authority certificate is not from a trusted issuer');
    const cert = verifyCertificate(authority, issuer, {
      kind: CERT_KIND.AUTHORITY,
      now: Math.floor(Date.now() / 1000),
    });
    if (!cert.ok) throw new Error(`the authority certificate is not valid: ${cert.detail}`);
    if (toHex(list.issuerKeyId) !== toHex(keyId(issuer.algorithm, issuer.publicKey)))
      throw new Error('the list is for another issuer');
    if (!verifyRevocationList(list, authority.algorithm, authority.publicKey))
      throw new Error("the list's signature does not verify");
    if (this.current && list.sequence < this.current.sequence)
      throw new Error(`sequence ${list.sequence} is older than ${this.current.sequence}`);
    for (const id of list.revoked) this.o.trust.revoke(id);
    const changed = !this.current || list.sequence !== this.current.sequence;
    this.current = list;
    if (save && changed) {
      writeFileSync(this.o.file + '.tmp', bytes);
      renameSync(this.o.file + '.tmp', this.o.file);
      this.o.log?.info({ sequence: list.sequence, revoked: list.revoked.length }, 'revocation list updated');
    }
  }
}
