import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Devices } from '../scenario-schema.js';
import { minorUnits } from './stack-errors.js';

/**
 * The daemon's config for one scenario: everything on loopback in the stack's directory, short bank
 * timings (a scenario's outage and recovery take seconds, not minutes), PINs typed "at the counter" so
 * the runner can type them with the bearer token, and the few settings a scenario may change.
 */
export function writeDaemonConfig(o: {
  dir: string;
  issuerDir: string;
  bankUrl: string;
  devices: Devices;
  pcsc: boolean;
  serial: string[];
  hidEndpoint: string | undefined;
  printer: Record<string, unknown> | undefined;
}): { file: string; dataDir: string } {
  const dataDir = join(o.dir, 'data');
  const d = o.devices.daemon;
  const config = {
    dataDir,
    terminalDir: join(o.dir, 'terminal'),
    merchantId: 'M-QA',
    currency: 'CNY',
    authorityCertificate: join(o.issuerDir, 'authority.cert'),
    bank: {
      url: o.bankUrl,
      healthIntervalMs: 300,
      backoffBaseMs: 50,
      backoffMaxMs: 500,
      timeoutMs: 3000,
      ...(d.batchSize !== undefined ? { batchSize: d.batchSize } : {}),
    },
    api: { port: 0 },
    readers: {
      pcsc: o.pcsc,
      // A stalled card (stallDuring) is given up after this, so a scenario does not wait 30 s for it.
      pcscTransmitTimeoutS: 8,
      serial: o.serial,
      ...(o.hidEndpoint ? { hidEndpoint: o.hidEndpoint } : {}),
    },
    limits: {
      ...(d.limits?.perSale !== undefined ? { perSale: minorUnits(d.limits.perSale) } : {}),
      ...(d.limits?.unsettledAmount !== undefined ? { unsettledAmount: minorUnits(d.limits.unsettledAmount) } : {}),
    },
    sale: { pinEntry: 'counter' },
    ...(o.printer ? { printer: o.printer } : {}),
    log: { level: 'warn' },
  };
  const file = join(o.dir, 'daemon.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return { file, dataDir };
}
