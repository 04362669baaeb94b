import { SW } from '../../protocol/apdu/index.js';
import { bytesEqual } from '../../protocol/bytes.js';
import type { CborMap } from '../../protocol/cbor/index.js';
import { DecodeError } from '../../protocol/errors.js';
import {
  generateKeyPair,
  signatureAlgorithmFromCode,
  verify,
  type SignatureAlgorithm,
} from '../../protocol/crypto/index.js';
import {
  CARD_STATUS,
  CHALLENGE_LENGTH,
  CMD,
  INS,
  LIFECYCLE,
  MAX_COUNTER,
  PROTOCOL_VERSION,
  encodeCardInfo,
  encodeJournalPage,
  encodeLoadResult,
  encodePersonalizeBeginResult,
  encodeRecordResponse,
  encodeRetries,
  isValidPin,
  personalizationAuthorisationMessage,
  readBlockCardRequest,
  readChangePinRequest,
  readLoadRequest,
  readNoParams,
  readPersonalizeBeginRequest,
  readPersonalizeCommitRequest,
  readReadJournalRequest,
  readSignTxnRequest,
  readUnblockPinRequest,
  readVoidTxnRequest,
  readVerifyPinRequest,
  PUK_MIN,
  PUK_MAX,
  type CardStatusName,
  type Lifecycle,
  type SignTxnRequest,
} from '../../protocol/commands/index.js';
import {
  CERT_KIND,
  CVM,
  decodeCertificate,
  decodeTopupToken,
  decodeTxnRecord,
  signTxnRecord,
  verifyCertificate,
  verifyTopupToken,
  recordAnswersRequest,
  type Certificate,
  type SignedTxnRecord,
} from '../../protocol/record/index.js';
import type { Nvm, NvmTransaction } from './nvm.js';
import {
  K,
  PIN_TRIES,
  PUK_TRIES,
  readIdentity,
  readLifecycle,
  readPending,
  readPinRetries,
  readPukRetries,
  readPurse,
  readSecrets,
  readVoidable,
  writeIdentity,
  writeLifecycle,
  writePending,
  writePinRetries,
  writePukRetries,
  writePurse,
  writeSecrets,
  writeVoidable,
  type Identity,
} from './card-state.js';
import { checkPin, checkPuk } from './card-pin.js';
import { offlineTotalsAfterSync } from './offline-sync.js';
import { blockCard } from './card-block.js';
import { refundTokenRefusal, voidTxn } from './card-void.js';

export interface CommandOutcome {
  status: number;
  result?: CborMap;
}

const ok = (result?: CborMap): CommandOutcome =>
  result ? { status: CARD_STATUS.OK.code, result } : { status: CARD_STATUS.OK.code };
const refuse = (name: CardStatusName, result?: CborMap): CommandOutcome =>
  result ? { status: CARD_STATUS[name].code, result } : { status: CARD_STATUS[name].code };

/** What a blocked card still does (docs/protocol.md §6.1): tell what it is, give up its journal, take the order again. */
const OPEN_WHEN_BLOCKED: ReadonlySet<number> = new Set([CMD.GET_INFO, CMD.READ_JOURNAL, CMD.BLOCK_CARD]);
const KNOWN_COMMANDS: ReadonlySet<number> = new Set(Object.values(CMD));

interface CommandsConfig {
  maxMessageSize: number;
  journalCapacity: number;
  random: (n: number) => Uint8Array;
}

/**
 * The CBOR command set and the ISO PIN commands, as the card executes them (docs/protocol.md §4, §6).
 * Every state change happens inside one NVM transaction.
 */
export class CardCommands {
  /** Volatile: cleared by power-off, reset and SELECT. */
  pinVerified = false;

  constructor(
    private readonly nvm: Nvm,
    private readonly cfg: CommandsConfig,
  ) {}

  /** Map a parse failure of the request to its status (INVALID_CBOR or INVALID_PARAMETER). */
  refusal(e: unknown): CommandOutcome {
    if (e instanceof DecodeError)
      return refuse(e.code === 'CBOR_SCHEMA' || e.code === 'COMMAND_EMPTY' ? 'INVALID_PARAMETER' : 'INVALID_CBOR');
    return refuse('INTERNAL_ERROR');
  }

  run(command: number, params: CborMap | undefined, lifecycle: Lifecycle): CommandOutcome {
    const p = params ?? new Map();
    if (lifecycle === LIFECYCLE.BLOCKED && KNOWN_COMMANDS.has(command) && !OPEN_WHEN_BLOCKED.has(command))
      return refuse('BLOCKED');
    switch (command) {
      case CMD.GET_INFO:
        readNoParams(params, 'GET_INFO request');
        return this.getInfo(lifecycle);
      case CMD.VERIFY_PIN:
        return this.verifyPin(readVerifyPinRequest(p).pin, lifecycle);
      case CMD.SIGN_TXN:
        return this.signTxn(readSignTxnRequest(p), lifecycle);
      case CMD.READ_JOURNAL:
        return this.readJournal(readReadJournalRequest(p), lifecycle);
      case CMD.LOAD:
        return this.load(readLoadRequest(p), lifecycle);
      case CMD.PERSONALIZE_BEGIN:
        return this.personalizeBegin(readPersonalizeBeginRequest(p), lifecycle);
      case CMD.PERSONALIZE_COMMIT:
        return this.personalizeCommit(readPersonalizeCommitRequest(p), lifecycle);
      case CMD.CHANGE_PIN: {
        const q = readChangePinRequest(p);
        return this.changePin(q.oldPin, q.newPin, lifecycle);
      }
      case CMD.UNBLOCK_PIN: {
        const q = readUnblockPinRequest(p);
        return this.unblockPin(q.puk, q.newPin, lifecycle);
      }
      case CMD.VOID_TXN: {
        const r = voidTxn(this.nvm, this.cfg, readVoidTxnRequest(p), lifecycle, (c) => this.journalRecord(c));
        return refuse(r.status, r.result);
      }
      case CMD.BLOCK_CARD: {
        const status = blockCard(this.nvm, readBlockCardRequest(p));
        if (status === 'OK') this.pinVerified = false;
        return refuse(status);
      }
      default:
        return refuse('INVALID_COMMAND');
    }
  }

  // ------------------------------------------------------------ GET_INFO

  private getInfo(lifecycle: Lifecycle): CommandOutcome {
    const id = readIdentity(this.nvm);
    const purse = readPurse(this.nvm);
    return ok(
      encodeCardInfo({
        protocolVersion: PROTOCOL_VERSION,
        lifecycle,
        algorithm: id?.algorithm ?? 1,
        counter: purse.counter,
        balance: purse.balance,
        offlineAmount: purse.offlineAmount,
        offlineCount: purse.offlineCount,
        pinRetries: readPinRetries(this.nvm),
        pukRetries: readPukRetries(this.nvm),
        lastRecordHash: purse.lastHash,
        loadCounter: purse.loadCounter,
        maxMessageSize: this.cfg.maxMessageSize,
        journalCapacity: this.cfg.journalCapacity,
        pinVerified: this.pinVerified,
        ...(id
          ? {
              cardId: id.cardId,
              publicKey: id.publicKey,
              certificate: id.certificate,
              currency: id.currency,
              limits: id.limits,
            }
          : {}),
      }),
    );
  }

  // ------------------------------------------------------------ PIN

  /** A PIN check (card-pin.ts); a wrong PIN ends the verified state. */
  private checkPin(candidate: Uint8Array, then?: (tx: NvmTransaction) => void): { ok: boolean; retries: number } {
    const r = checkPin(this.nvm, candidate, then);
    this.pinVerified = r.ok;
    return r;
  }

  private pinGate(lifecycle: Lifecycle): CommandOutcome | undefined {
    if (lifecycle === LIFECYCLE.BLANK) return refuse('WRONG_STATE');
    if (lifecycle === LIFECYCLE.TERMINATED) return refuse('TERMINATED');
    if (lifecycle === LIFECYCLE.PIN_BLOCKED) return refuse('PIN_BLOCKED', encodeRetries(0));
    return undefined;
  }

  private verifyPin(pin: Uint8Array, lifecycle: Lifecycle): CommandOutcome {
    const gate = this.pinGate(lifecycle);
    if (gate) return gate;
    if (!isValidPin(pin)) return refuse('PIN_FORMAT');
    const r = this.checkPin(pin);
    if (r.ok) return ok(encodeRetries(r.retries));
    return r.retries === 0 ? refuse('PIN_BLOCKED', encodeRetries(0)) : refuse('PIN_INVALID', encodeRetries(r.retries));
  }

  private changePin(oldPin: Uint8Array, newPin: Uint8Array, lifecycle: Lifecycle): CommandOutcome {
    const gate = this.pinGate(lifecycle);
    if (gate) return gate;
    if (!isValidPin(oldPin) || !isValidPin(newPin)) return refuse('PIN_FORMAT');
    // The new PIN is written in the transaction that restores the tries: no state between the two.
    const r = this.checkPin(oldPin, (tx) => this.setPin(tx, newPin));
    if (!r.ok)
      return r.retries === 0
        ? refuse('PIN_BLOCKED', encodeRetries(0))
        : refuse('PIN_INVALID', encodeRetries(r.retries));
    return ok(encodeRetries(PIN_TRIES));
  }

  /** A PIN the holder chose: set it with full tries; a personalised card becomes active. */
  private setPin(tx: NvmTransaction, newPin: Uint8Array): void {
    const secrets = readSecrets(this.nvm)!;
    writeSecrets(tx, { pin: newPin, puk: secrets.puk });
    writePinRetries(tx, PIN_TRIES);
    writeLifecycle(tx, LIFECYCLE.ACTIVE);
  }

  private unblockPin(puk: Uint8Array, newPin: Uint8Array, lifecycle: Lifecycle): CommandOutcome {
    if (lifecycle === LIFECYCLE.BLANK) return refuse('WRONG_STATE');
    if (lifecycle === LIFECYCLE.TERMINATED) return refuse('TERMINATED');
    if (!isValidPin(puk, PUK_MIN, PUK_MAX) || !isValidPin(newPin)) return refuse('PIN_FORMAT');
    const r = checkPuk(this.nvm, puk, (tx) => this.setPin(tx, newPin));
    if (!r.ok) {
      this.pinVerified = false;
      return r.retries === 0
        ? refuse('PUK_BLOCKED', encodeRetries(0))
        : refuse('PUK_INVALID', encodeRetries(r.retries));
    }
    this.pinVerified = true;
    return ok(encodeRetries(PIN_TRIES));
  }

  /** ISO VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER from a PIN pad: status words only. */
  isoPin(ins: number, blocks: Uint8Array[], lifecycle: Lifecycle): number {
    if (lifecycle === LIFECYCLE.BLANK || lifecycle === LIFECYCLE.TERMINATED || lifecycle === LIFECYCLE.BLOCKED)
      return SW.CONDITIONS_NOT_SATISFIED;
    const outcome =
      ins === INS.VERIFY
        ? blocks.length === 0
          ? this.pinStatus(lifecycle)
          : this.verifyPin(blocks[0]!, lifecycle)
        : ins === INS.CHANGE_REFERENCE_DATA
          ? this.changePin(blocks[0]!, blocks[1]!, lifecycle)
          : this.unblockPin(blocks[0]!, blocks[1]!, lifecycle);
    const retries = outcome.result?.get(1);
    switch (outcome.status) {
      case CARD_STATUS.OK.code:
        return SW.OK;
      case CARD_STATUS.PIN_INVALID.code:
      case CARD_STATUS.PUK_INVALID.code:
        return 0x63c0 | (typeof retries === 'number' ? retries & 0x0f : 0);
      case CARD_STATUS.PIN_BLOCKED.code:
      case CARD_STATUS.PUK_BLOCKED.code:
        return SW.AUTH_METHOD_BLOCKED;
      case CARD_STATUS.PIN_FORMAT.code:
        return SW.WRONG_DATA;
      default:
        return SW.CONDITIONS_NOT_SATISFIED;
    }
  }

  private pinStatus(lifecycle: Lifecycle): CommandOutcome {
    if (lifecycle === LIFECYCLE.PIN_BLOCKED) return refuse('PIN_BLOCKED', encodeRetries(0));
    return this.pinVerified ? ok() : refuse('PIN_INVALID', encodeRetries(readPinRetries(this.nvm)));
  }

  // ------------------------------------------------------------ SIGN_TXN

  private lastRecord(counter: number): SignedTxnRecord | undefined {
    if (counter === 0) return undefined;
    const raw = this.nvm.get(K.journal(counter % this.cfg.journalCapacity));
    return raw ? decodeTxnRecord(raw) : undefined;
  }

  /** The journal's record with this counter, if the journal still holds it (a slot is reused). */
  private journalRecord(counter: number): SignedTxnRecord | undefined {
    let r: SignedTxnRecord | undefined;
    try {
      r = this.lastRecord(counter);
    } catch (e) {
      if (e instanceof DecodeError) return undefined;
      throw e;
    }
    return r && r.counter === counter ? r : undefined;
  }

  private signTxn(q: SignTxnRequest, lifecycle: Lifecycle): CommandOutcome {
    if (lifecycle === LIFECYCLE.BLANK) return refuse('WRONG_STATE');
    if (lifecycle === LIFECYCLE.TERMINATED) return refuse('TERMINATED');
    if (lifecycle === LIFECYCLE.PERSONALISED) return refuse('PIN_CHANGE_REQUIRED');
    if (lifecycle === LIFECYCLE.PIN_BLOCKED) return refuse('PIN_BLOCKED', encodeRetries(0));
    const id = readIdentity(this.nvm)!;
    const purse = readPurse(this.nvm);

    // A host that lost our answer re-sends the same request: give the same record, sign nothing new.
    const last = this.lastRecord(purse.counter);
    if (last && bytesEqual(last.hostNonce, q.hostNonce)) {
      return recordAnswersRequest(last, q) === undefined
        ? ok(encodeRecordResponse(last.envelope))
        : refuse('NONCE_REUSED');
    }

    if (q.currency !== id.currency) return refuse('CURRENCY_MISMATCH');
    if (q.amount > id.limits.perTransaction) return refuse('OVER_TRANSACTION_LIMIT');
    const needsPin = q.amount > id.limits.noPin;
    if (needsPin && !this.pinVerified) return refuse('PIN_REQUIRED');
    if (q.amount > purse.balance) return refuse('INSUFFICIENT_FUNDS');
    if (purse.offlineAmount + q.amount > id.limits.offlineAmount) return refuse('OFFLINE_AMOUNT_LIMIT');
    if (purse.offlineCount + 1 > id.limits.offlineCount) return refuse('OFFLINE_COUNT_LIMIT');
    if (purse.counter >= MAX_COUNTER) return refuse('COUNTER_EXHAUSTED');

    const record = signTxnRecord(this.suite(id.algorithm), id.privateKey, {
      cardId: id.cardId,
      counter: purse.counter + 1,
      amount: q.amount,
      currency: q.currency,
      merchantId: q.merchantId,
      terminalId: q.terminalId,
      time: q.time,
      hostNonce: q.hostNonce,
      balanceAfter: purse.balance - q.amount,
      prevHash: purse.lastHash,
      algorithm: id.algorithm,
      cvm: needsPin ? CVM.OFFLINE_PIN : CVM.NONE,
    });
    const voidable = readVoidable(this.nvm);
    this.nvm.transaction((tx) => {
      writePurse(tx, purse, {
        ...purse,
        counter: record.counter,
        balance: record.balanceAfter,
        offlineAmount: purse.offlineAmount + q.amount,
        offlineCount: purse.offlineCount + 1,
        lastHash: record.hash,
      });
      tx.set(K.journal(record.counter % this.cfg.journalCapacity), record.envelope);
      writeVoidable(tx, voidable, record.counter); // the new sale may be voided while nothing else happens
    });
    return ok(encodeRecordResponse(record.envelope));
  }

  private suite(code: number): SignatureAlgorithm {
    return signatureAlgorithmFromCode(code);
  }

  // ------------------------------------------------------------ READ_JOURNAL

  private readJournal(q: { fromCounter: number; maxRecords?: number }, lifecycle: Lifecycle): CommandOutcome {
    if (lifecycle === LIFECYCLE.BLANK) return refuse('WRONG_STATE');
    const { counter } = readPurse(this.nvm);
    const oldest = counter === 0 ? 0 : Math.max(1, counter - this.cfg.journalCapacity + 1);
    const records: Uint8Array[] = [];
    let size = 32; // map and array headers, counters
    for (let c = Math.max(q.fromCounter, oldest, 1); c <= counter && counter > 0; c++) {
      if (q.maxRecords !== undefined && records.length >= q.maxRecords) break;
      const raw = this.nvm.get(K.journal(c % this.cfg.journalCapacity));
      if (!raw) break;
      if (size + raw.length + 3 > this.cfg.maxMessageSize && records.length > 0) break;
      size += raw.length + 3;
      records.push(raw);
    }
    return ok(encodeJournalPage({ records, oldestCounter: oldest, lastCounter: counter }));
  }

  // ------------------------------------------------------------ LOAD

  private load(q: { token: Uint8Array; authority: Uint8Array }, lifecycle: Lifecycle): CommandOutcome {
    // The stored state, not the derived one: a PIN-blocked card that never became active takes no top-up.
    const stored = readLifecycle(this.nvm);
    if (stored === LIFECYCLE.BLANK || stored === LIFECYCLE.PERSONALISED) return refuse('WRONG_STATE');
    if (lifecycle === LIFECYCLE.TERMINATED) return refuse('TERMINATED');
    const id = readIdentity(this.nvm)!;
    const issuer = decodeCertificate(id.issuer);
    let authority: Certificate;
    try {
      authority = decodeCertificate(q.authority);
    } catch {
      return refuse('AUTHORITY_INVALID');
    }
    if (!verifyCertificate(authority, issuer, { kind: CERT_KIND.AUTHORITY }).ok) return refuse('AUTHORITY_INVALID');
    let token;
    try {
      token = decodeTopupToken(q.token);
    } catch {
      return refuse('INVALID_PARAMETER');
    }
    if (!verifyTopupToken(token, authority.algorithm, authority.publicKey)) return refuse('TOKEN_SIGNATURE_INVALID');
    if (!bytesEqual(token.cardId, id.cardId) || token.currency !== id.currency) return refuse('TOKEN_WRONG_CARD');
    const purse = readPurse(this.nvm);
    if (token.loadSeq !== purse.loadCounter + 1) return refuse('TOKEN_REPLAYED');
    if (purse.counter > token.validUntilCounter) return refuse('TOKEN_EXPIRED');
    if (purse.balance + token.amount > id.limits.maxBalance) return refuse('BALANCE_LIMIT');
    const refund = refundTokenRefusal(token, purse.counter, (c) => this.journalRecord(c));
    if (refund) return refuse(refund);
    const voidable = readVoidable(this.nvm);
    const after = {
      ...purse,
      balance: purse.balance + token.amount,
      loadCounter: token.loadSeq,
      // Only what the bank has settled stops counting as offline (offline-sync.ts).
      ...(token.resetOffline ? offlineTotalsAfterSync(purse, token.settledCounter, (c) => this.journalRecord(c)) : {}),
    };
    this.nvm.transaction((tx) => {
      writePurse(tx, purse, after);
      writeVoidable(tx, voidable, 0); // money came in from outside: the last sale is refunded now, never voided
    });
    return ok(encodeLoadResult({ balance: after.balance, loadCounter: after.loadCounter }));
  }

  // ------------------------------------------------------------ PERSONALIZE

  private personalizeBegin(
    q: { cardId: Uint8Array; algorithm: number; issuer: Uint8Array },
    lifecycle: Lifecycle,
  ): CommandOutcome {
    if (lifecycle !== LIFECYCLE.BLANK) return refuse('WRONG_STATE');
    let suite: SignatureAlgorithm;
    try {
      suite = this.suite(q.algorithm);
    } catch {
      return refuse('INVALID_PARAMETER');
    }
    let issuer: Certificate;
    try {
      issuer = decodeCertificate(q.issuer);
    } catch {
      return refuse('CERTIFICATE_INVALID');
    }
    if (!verifyCertificate(issuer, issuer, { kind: CERT_KIND.ISSUER_CA }).ok) return refuse('CERTIFICATE_INVALID');
    // A card manufactured for an issuer (its CA certificate put in NVM at the factory) takes no other.
    const anchor = this.nvm.get(K.anchor);
    if (anchor && !bytesEqual(anchor, q.issuer)) return refuse('CERTIFICATE_INVALID');
    const keys = generateKeyPair(suite);
    const challenge = this.cfg.random(CHALLENGE_LENGTH);
    this.nvm.transaction((tx) =>
      writePending(tx, {
        cardId: q.cardId,
        algorithm: q.algorithm,
        privateKey: keys.privateKey,
        publicKey: keys.publicKey,
        issuer: q.issuer,
        challenge,
      }),
    );
    return ok(encodePersonalizeBeginResult({ publicKey: keys.publicKey, challenge }));
  }

  private personalizeCommit(
    q: { certificate: Uint8Array; pin: Uint8Array; puk: Uint8Array; authorisation: Uint8Array },
    lifecycle: Lifecycle,
  ): CommandOutcome {
    if (lifecycle !== LIFECYCLE.BLANK) return refuse('WRONG_STATE');
    const pending = readPending(this.nvm);
    if (!pending) return refuse('WRONG_STATE');
    const issuer = decodeCertificate(pending.issuer);
    const message = personalizationAuthorisationMessage(pending.challenge, q);
    if (!verify(this.suite(issuer.algorithm), issuer.publicKey, message, q.authorisation))
      return refuse('AUTHORISATION_INVALID');
    if (!isValidPin(q.pin) || !isValidPin(q.puk, PUK_MIN, PUK_MAX)) return refuse('PIN_FORMAT');
    let cert: Certificate;
    try {
      cert = decodeCertificate(q.certificate);
    } catch {
      return refuse('CERTIFICATE_INVALID');
    }
    const good =
      verifyCertificate(cert, issuer, { kind: CERT_KIND.CARD }).ok &&
      bytesEqual(cert.subjectId, pending.cardId) &&
      bytesEqual(cert.publicKey, pending.publicKey) &&
      cert.algorithm === pending.algorithm;
    if (!good || !cert.limits || cert.currency === undefined) return refuse('CERTIFICATE_INVALID');
    const identity: Identity = {
      cardId: pending.cardId,
      algorithm: pending.algorithm,
      privateKey: pending.privateKey,
      publicKey: pending.publicKey,
      issuer: pending.issuer,
      certificate: q.certificate,
      currency: cert.currency,
      limits: cert.limits,
    };
    this.nvm.transaction((tx: NvmTransaction) => {
      writeIdentity(tx, identity);
      writeSecrets(tx, { pin: q.pin, puk: q.puk });
      writePinRetries(tx, PIN_TRIES);
      writePukRetries(tx, PUK_TRIES);
      writeLifecycle(tx, LIFECYCLE.PERSONALISED);
      tx.delete(K.perso);
    });
    return ok();
  }
}
