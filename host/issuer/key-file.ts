import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { CardpostError } from '../../protocol/errors.js';
import { validatePublicKey, type SignatureAlgorithm } from '../../protocol/crypto/index.js';
import { decodeCertificate, type Certificate, type SigningKey } from '../../protocol/record/index.js';

/**
 * Private keys and certificates on disk. A key file is JSON {algorithm, privateKey, publicKey}
 * (hex), written with mode 0600; a certificate file is the raw envelope bytes, so it can be handed
 * to any tool (hosts and banks load ca.cert as their trust anchor).
 */

const ALGORITHMS: readonly SignatureAlgorithm[] = ['sm2-sm3', 'ecdsa-p256-sha256'];

export function writeKeyFile(path: string, key: SigningKey): void {
  if (existsSync(path))
    throw new CardpostError(
      'FILE_EXISTS',
      `${path} already exists`,
      'refusing to overwrite a private key; choose another directory',
    );
  writeFileSync(
    path,
    JSON.stringify(
      { algorithm: key.algorithm, privateKey: toHex(key.privateKey), publicKey: toHex(key.publicKey) },
      null,
      2,
    ) + '\n',
    { mode: 0o600 },
  );
  chmodSync(path, 0o600);
}

export function readKeyFile(path: string): SigningKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CardpostError(
      'KEY_FILE_UNREADABLE',
      `cannot read key file ${path}: ${(e as Error).message}`,
      'check the path; key files are made by `cardpost issuer init`',
    );
  }
  const o = parsed as { algorithm?: unknown; privateKey?: unknown; publicKey?: unknown };
  if (
    typeof o.algorithm !== 'string' ||
    !ALGORITHMS.includes(o.algorithm as SignatureAlgorithm) ||
    typeof o.privateKey !== 'string' ||
    typeof o.publicKey !== 'string'
  ) {
    throw new CardpostError(
      'KEY_FILE_INVALID',
      `${path} is not a cardpost key file`,
      'expected JSON {algorithm, privateKey, publicKey}',
    );
  }
  const key = {
    algorithm: o.algorithm as SignatureAlgorithm,
    privateKey: fromHex(o.privateKey),
    publicKey: fromHex(o.publicKey),
  };
  validatePublicKey(key.algorithm, key.publicKey);
  return key;
}

export function writeCertificateFile(path: string, cert: Certificate): void {
  writeFileSync(path, cert.envelope);
}

export function readCertificateFile(path: string): Certificate {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new CardpostError(
      'CERT_FILE_UNREADABLE',
      `cannot read certificate ${path}: ${(e as Error).message}`,
      'check the path',
    );
  }
  try {
    return decodeCertificate(bytes);
  } catch (e) {
    throw new CardpostError(
      'CERT_FILE_INVALID',
      `${path} is not a cardpost certificate: ${(e as Error).message}`,
      'use a .cert file made by `cardpost issuer`',
      { cause: e },
    );
  }
}
