import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CardpostError } from '../../protocol/errors.js';
import { generateKeyPair, SIGNATURE_ALGORITHM_CODES, type SignatureAlgorithm } from '../../protocol/crypto/index.js';
import {
  CERT_KIND,
  capToIssuer,
  issueCertificate,
  selfSignedIssuer,
  type Certificate,
  type SigningKey,
} from '../../protocol/record/index.js';
import { readCertificateFile, readKeyFile, writeCertificateFile, writeKeyFile } from './key-file.js';

/**
 * An issuer's working directory (what `cardpost issuer init --dir DIR` makes):
 *   ca.key, ca.cert                 the issuer CA (self-signed root of every trust store)
 *   authority.key, authority.cert   the top-up authority (kind 4): signs top-up tokens and revocation lists
 *   serial                          next certificate serial number
 */
export interface IssuerMaterial {
  dir: string;
  ca: { key: SigningKey; certificate: Certificate };
  authority: { key: SigningKey; certificate: Certificate };
}

const YEAR = 365 * 86400;

export function initIssuerDir(
  dir: string,
  opts: { algorithm?: SignatureAlgorithm; name?: string; now?: number } = {},
): IssuerMaterial {
  const algorithm = opts.algorithm ?? 'sm2-sm3';
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (existsSync(join(dir, 'ca.key'))) {
    throw new CardpostError(
      'ISSUER_EXISTS',
      `${dir} already holds an issuer`,
      'use another --dir, or use the existing issuer',
    );
  }
  const caKey: SigningKey = { algorithm, ...generateKeyPair(algorithm) };
  // Backdated a week: every certificate must lie inside the CA's window, including ones whose
  // validity starts a little in the past (clock skew between issuing and checking machines).
  const ca = selfSignedIssuer(caKey, {
    serial: Uint8Array.of(1),
    name: opts.name ?? 'cardpost issuer CA',
    notBefore: now - 7 * 86400,
    notAfter: now + 20 * YEAR,
  });
  const authorityKey: SigningKey = { algorithm, ...generateKeyPair(algorithm) };
  const authority = issueCertificate(caKey, {
    serial: Uint8Array.of(2),
    kind: CERT_KIND.AUTHORITY,
    subjectId: new TextEncoder().encode('top-up authority'),
    algorithm: SIGNATURE_ALGORITHM_CODES[algorithm],
    publicKey: authorityKey.publicKey,
    ...capToIssuer(ca, { notBefore: now - 3600, notAfter: now + 5 * YEAR }),
  });
  writeKeyFile(join(dir, 'ca.key'), caKey);
  writeCertificateFile(join(dir, 'ca.cert'), ca);
  writeKeyFile(join(dir, 'authority.key'), authorityKey);
  writeCertificateFile(join(dir, 'authority.cert'), authority);
  writeFileSync(join(dir, 'serial'), '3\n');
  return { dir, ca: { key: caKey, certificate: ca }, authority: { key: authorityKey, certificate: authority } };
}

export function openIssuerDir(dir: string): IssuerMaterial {
  if (!existsSync(join(dir, 'ca.key'))) {
    throw new CardpostError(
      'ISSUER_MISSING',
      `${dir} holds no issuer`,
      `create one with: cardpost issuer init --dir ${dir}`,
    );
  }
  return {
    dir,
    ca: { key: readKeyFile(join(dir, 'ca.key')), certificate: readCertificateFile(join(dir, 'ca.cert')) },
    authority: {
      key: readKeyFile(join(dir, 'authority.key')),
      certificate: readCertificateFile(join(dir, 'authority.cert')),
    },
  };
}

/** Take the next serial number (8 bytes: a counter, so serials never repeat within this issuer). */
export function nextSerial(dir: string): Uint8Array {
  const file = join(dir, 'serial');
  const n = existsSync(file) ? Number.parseInt(readFileSync(file, 'utf8'), 10) || 3 : 3;
  writeFileSync(file, `${n + 1}\n`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

/** Issue a terminal key and certificate (kind 3) into `outDir` (terminal.key, terminal.cert, ca.cert). */
export function issueTerminal(
  issuer: IssuerMaterial,
  terminalId: string,
  outDir: string,
  opts: { now?: number; years?: number } = {},
) {
  return issueKeyAndCertificate(issuer, CERT_KIND.TERMINAL, terminalId, outDir, 'terminal', opts);
}

/**
 * Issue the issuer's back-office key and certificate (kind 5, ISSUER_SERVICE) into `outDir`
 * (issuer-service.key, issuer-service.cert, ca.cert): it authenticates to the bank like a
 * terminal and may read any card's settled records there (docs/bank-api.md §5), nothing else.
 */
export function issueIssuerService(
  issuer: IssuerMaterial,
  name: string,
  outDir: string,
  opts: { now?: number; years?: number } = {},
) {
  return issueKeyAndCertificate(issuer, CERT_KIND.ISSUER_SERVICE, name, outDir, 'issuer-service', opts);
}

/** A fresh key certified by the CA for `kind`, its validity capped to the CA's (never beyond it). */
function issueKeyAndCertificate(
  issuer: IssuerMaterial,
  kind: typeof CERT_KIND.TERMINAL | typeof CERT_KIND.ISSUER_SERVICE,
  subject: string,
  outDir: string,
  file: string,
  opts: { now?: number; years?: number },
): { key: SigningKey; certificate: Certificate } {
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const algorithm = issuer.ca.key.algorithm;
  const validity = capToIssuer(
    issuer.ca.certificate,
    { notBefore: now - 3600, notAfter: now + (opts.years ?? 3) * YEAR },
    now,
  );
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const key: SigningKey = { algorithm, ...generateKeyPair(algorithm) };
  const certificate = issueCertificate(issuer.ca.key, {
    serial: nextSerial(issuer.dir),
    kind,
    subjectId: new TextEncoder().encode(subject),
    algorithm: SIGNATURE_ALGORITHM_CODES[algorithm],
    publicKey: key.publicKey,
    ...validity,
  });
  writeKeyFile(join(outDir, `${file}.key`), key);
  writeCertificateFile(join(outDir, `${file}.cert`), certificate);
  writeCertificateFile(join(outDir, 'ca.cert'), issuer.ca.certificate);
  return { key, certificate };
}

export const randomCardId = (): Uint8Array => Uint8Array.from(randomBytes(8));
