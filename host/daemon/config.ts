import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { CardpostError } from '../../protocol/errors.js';
import { canonicalTimeZone, machineTimeZone } from '../close/shop-day.js';
import { parseCurrency } from './money.js';
import { printerConfigSchema } from '../printer/printer-config.js';

/** The config file or an environment override is wrong; the message names the field. */
export class ConfigError extends CardpostError {}

const MINUTE = 60_000;

/** The acquirer link (docs/iso8583.md §7): where it is, the ids the acquirer assigned, the terminal's MAC key. */
const iso8583Schema = z.strictObject({
  /** Loopback only: the link has no TLS of its own (put a TLS tunnel such as stunnel on this machine). */
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(1).max(65535),
  dialect: z.enum(['cup-terminal', 'plain-bcd', 'plain-ascii']).default('cup-terminal'),
  /** Field 41, 8 characters, and field 42, 15 characters, as the acquirer assigned them. */
  terminalId: z.string().regex(/^[\x20-\x7e]{8}$/, 'must be 8 printable ASCII characters (field 41)'),
  merchantId: z.string().regex(/^[\x20-\x7e]{15}$/, 'must be 15 printable ASCII characters (field 42)'),
  /** The terminal's SM4 MAC key (TAK): 32 hex digits. A secret: keep the config file private. */
  macKeyHex: z.string().regex(/^[0-9a-fA-F]{32}$/, 'must be 32 hex digits (a 16-byte SM4 key)'),
  /** CUP framing: TPDU addresses and the 6-byte application header (12 hex digits) the acquirer gave. */
  tpdu: z
    .strictObject({
      destination: z.number().int().min(0).max(0xffff).default(3),
      source: z.number().int().min(0).max(0xffff).default(0),
    })
    .prefault({}),
  headerHex: z
    .string()
    .regex(/^[0-9a-fA-F]{12}$/, 'must be 12 hex digits (6 bytes)')
    .default('603100311301'),
  /** How long the link waits for each answer before it repeats the message (0221 for an advice). */
  answerTimeoutMs: z.number().int().min(100).max(120_000).default(5000),
});

/**
 * The daemon's configuration (JSON). Every field has a default except the terminal credentials;
 * unknown fields are refused, so a typo never silently falls back to a default.
 */
const schema = z.strictObject({
  dataDir: z.string().min(1).optional(),
  merchantId: z.string().min(1).max(32).default('M-0001'),
  /** Directory made by `cardpost issuer terminal`: terminal.key, terminal.cert, ca.cert. */
  terminalDir: z.string().min(1).optional(),
  /** Extra trust anchors besides terminalDir/ca.cert (issuer CA certificate files). */
  trustedIssuers: z.array(z.string().min(1)).default([]),
  /** The bank's top-up authority certificate, to verify the revocation list it publishes. */
  authorityCertificate: z.string().min(1).optional(),
  currency: z.union([z.string(), z.number().int().min(1).max(999)]).default('CNY'),
  bank: z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8451'),
      timeoutMs: z.number().int().min(1000).max(120_000).default(15_000),
      batchSize: z.number().int().min(1).max(1000).default(500),
      healthIntervalMs: z
        .number()
        .int()
        .min(100)
        .max(10 * MINUTE)
        .default(5000),
      backoffBaseMs: z.number().int().min(10).max(MINUTE).default(500),
      backoffMaxMs: z
        .number()
        .int()
        .min(100)
        .max(60 * MINUTE)
        .default(60_000),
      /**
       * How batches settle: the bank's HTTP API at `url` (default), or an acquirer over ISO 8583
       * (`iso8583`, docs/iso8583.md §7). Top-ups, the revocation list and reconciliation stay on `url`.
       */
      link: z.enum(['http', 'iso8583']).default('http'),
      iso8583: iso8583Schema.optional(),
    })
    .prefault({}),
  api: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8450),
    })
    .prefault({}),
  readers: z
    .strictObject({
      /** Use PC/SC readers through pcscd. */
      pcsc: z.boolean().default(true),
      /** Whether the PC/SC readers take extended-length APDUs (else the host chains). */
      pcscExtendedLength: z.boolean().default(false),
      /** How long one PC/SC command may take before the host stops waiting (a hung card, reader or pcscd). */
      pcscTransmitTimeoutS: z.number().int().min(1).max(600).default(30),
      /** Serial POS terminals: device paths (e.g. /dev/ttyUSB0). */
      serial: z.array(z.string().min(1)).default([]),
      /** USB HID card keys. */
      hid: z.boolean().default(false),
      /**
       * QA only: the HID card keys come from a simulated-key endpoint (`cardpost sim hid`) at this loopback
       * HOST:PORT instead of node-hid (docs/daemon.md "Simulated HID keys (QA)"); implies `hid`. Loopback only:
       * the endpoint has no authentication, and a key served from elsewhere would be a card nobody holds.
       */
      hidEndpoint: z
        .string()
        .refine(
          (s) =>
            /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):[1-9]\d{0,4}$/.test(s) &&
            Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535,
          {
            message:
              'must be HOST:PORT on this machine (127.0.0.1, localhost or [::1]): the simulated HID key endpoint is a QA tool on loopback only',
          },
        )
        .optional(),
    })
    .prefault({}),
  sale: z
    .strictObject({
      // Elderly customers: no step may time out in under a minute.
      cardTimeoutS: z.number().int().min(60).max(3600).default(180),
      pinTimeoutS: z.number().int().min(60).max(3600).default(120),
      /**
       * Where the customer types a sale's PIN on a reader without its own pad: on the customer display's
       * keypad (default: never on the merchant's screen or keyboard), or at the counter (page or CLI), for a
       * counter without a customer display.
       */
      pinEntry: z.enum(['customer-display', 'counter']).default('customer-display'),
      /** A sale started through the API ends when no client has followed it this long (security.md: abandoned sales). */
      followTimeoutMs: z.number().int().min(1000).max(60_000).default(5000),
    })
    .prefault({}),
  clock: z
    .strictObject({
      /** Largest difference from the bank's clock at the last contact before sales are refused (CLOCK_WRONG). */
      maxSkewS: z.number().int().min(30).max(3600).default(300),
      /** Longest time without a bank contact over which the clock is still trusted. */
      maxDaysWithoutBank: z.number().int().min(1).max(30).default(14),
    })
    .prefault({}),
  limits: z
    .strictObject({
      perSale: z.number().int().positive().nullable().default(null),
      unsettledAmount: z.number().int().positive().nullable().default(null),
      unsettledAgeHours: z.number().positive().nullable().default(72),
    })
    .prefault({}),
  cardServices: z
    .strictObject({
      /**
       * Automatic sync: a card tapped with no sale waiting, while the bank answers, is synced when its
       * offline amount or count has reached this fraction of its card limit (null: never automatically).
       */
      autoSyncAt: z.number().gt(0).max(1).nullable().default(0.8),
      /** How long a top-up or sync waits for the card's pending records to settle before it is refused. */
      settleWaitS: z.number().int().min(1).max(120).default(10),
      /**
       * The issuer lets this counter unblock a blocked PIN with the holder's PUK (PIN service). Off where
       * the issuer keeps unblocking to its branches.
       */
      unblockAtCounter: z.boolean().default(true),
    })
    .prefault({}),
  shop: z
    .strictObject({
      /** The shop's time zone (IANA name, e.g. Asia/Shanghai): its business day, for the day close and reconciliation. Default: the machine's. */
      timeZone: z.string().min(1).max(64).optional(),
    })
    .prefault({}),
  ui: z
    .strictObject({
      /** The counter page's and the merchant's CLI language until a person picks one (docs/ui.md "Languages"). */
      language: z.enum(['zh-CN', 'en']).default('zh-CN'),
      /** The customer display goes back to "Welcome" this long after a sale ended (paid, cancelled, failed). */
      displayClearS: z.number().int().min(3).max(600).default(20),
    })
    .prefault({}),
  /** The receipt printer (host/printer/printer-config.ts); null: none. */
  printer: printerConfigSchema.nullable().default(null),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
});

export type ConfigInput = z.input<typeof schema>;
type Parsed = z.output<typeof schema>;

export interface DaemonConfig extends Omit<Parsed, 'currency' | 'dataDir' | 'terminalDir' | 'shop'> {
  /** The shop's business day (host/close/shop-day.ts): the time zone, canonical IANA name. */
  shop: { timeZone: string };
  dataDir: string;
  terminalDir: string;
  currency: number;
  /** The file this was read from (absolute), if any: the daemon refuses to start if one of its data files would be it. */
  configFile?: string;
}

/**
 * Loopback hosts, where plain http to the bank stays allowed (the simulated bank, tests): 127.0.0.0/8,
 * ::1 and the name localhost. WHATWG URL parsing has already normalised the host (127.1 → 127.0.0.1).
 */
export function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === 'localhost' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * The bank's verdicts are not signed: only TLS tells the daemon it is the bank answering and that no
 * one on the way changed an answer (or read the records). So a bank off this machine must be https.
 */
function requireSecureBankUrl(url: string, source: string | undefined): void {
  const u = new URL(url); // the schema has checked it parses
  if (u.protocol === 'https:' || isLoopbackHostname(u.hostname)) return;
  const shown = u.username || u.password ? `${u.protocol}//${u.host}${u.pathname}` : url; // never echo credentials
  throw new ConfigError(
    'CONFIG_BANK_URL_INSECURE',
    `the daemon config is not valid:\n  bank.url: ${shown} is plain http to a host that is not this machine`,
    `use https:// for the bank${source ? ` in ${source}` : ''} (or CARDPOST_BANK_URL); plain http is only for a bank on loopback (127.0.0.1, ::1, localhost), such as the simulator`,
  );
}

/**
 * `bank.link: "iso8583"` needs its `bank.iso8583` section, and the acquirer on this machine: the link's
 * MAC authenticates messages but nothing encrypts them (records name cards, amounts and places), as
 * plain http to the bank is allowed only on loopback.
 */
function requireIso8583Link(bank: Parsed['bank'], source: string | undefined): void {
  if (bank.link !== 'iso8583') return;
  const where = source ? ` in ${source}` : '';
  if (!bank.iso8583)
    throw new ConfigError(
      'CONFIG_INVALID',
      'the daemon config is not valid:\n  bank.iso8583: is required when bank.link is "iso8583"',
      `add bank.iso8583 { port, terminalId, merchantId, macKeyHex }${where} (docs/iso8583.md §7)`,
    );
  const host = bank.iso8583.host;
  if (!isLoopbackHostname(host.includes(':') && !host.startsWith('[') ? `[${host}]` : host))
    throw new ConfigError(
      'CONFIG_INVALID',
      `the daemon config is not valid:\n  bank.iso8583.host: ${host} is not this machine`,
      `the ISO 8583 link has no TLS: reach a remote acquirer through a TLS tunnel listening on loopback (127.0.0.1, ::1, localhost)${where}`,
    );
}

/** The configured shop time zone, canonical, or the machine's; CONFIG_TIME_ZONE when this runtime does not know it. */
function shopTimeZone(name: string | undefined, source: string | undefined): string {
  const zone = canonicalTimeZone(name ?? machineTimeZone());
  if (zone) return zone;
  throw new ConfigError(
    'CONFIG_TIME_ZONE',
    `the daemon config is not valid:\n  shop.timeZone: "${name ?? machineTimeZone()}" is not a time zone this machine knows`,
    `give the shop's IANA time zone${source ? ` in ${source}` : ''} (or CARDPOST_TIME_ZONE), e.g. "Asia/Shanghai" or "Europe/Berlin" (\`timedatectl list-timezones\` lists them), or leave it out for the machine's zone`,
  );
}

/** Environment variables that override the file (for containers and CI), and the field each sets. */
export const ENV_OVERRIDES: Readonly<Record<string, (c: Record<string, unknown>, v: string) => void>> = {
  CARDPOST_DATA_DIR: (c, v) => {
    c.dataDir = v;
  },
  CARDPOST_TERMINAL_DIR: (c, v) => {
    c.terminalDir = v;
  },
  CARDPOST_MERCHANT_ID: (c, v) => {
    c.merchantId = v;
  },
  CARDPOST_BANK_URL: (c, v) => {
    section(c, 'bank').url = v;
  },
  CARDPOST_API_PORT: (c, v) => {
    section(c, 'api').port = Number(v);
  },
  CARDPOST_LOG_LEVEL: (c, v) => {
    section(c, 'log').level = v;
  },
  CARDPOST_TIME_ZONE: (c, v) => {
    section(c, 'shop').timeZone = v;
  },
  CARDPOST_PCSC: (c, v) => {
    section(c, 'readers').pcsc = v === '1' || v === 'true';
  },
};

function section(c: Record<string, unknown>, key: string): Record<string, unknown> {
  const s = c[key];
  if (s && typeof s === 'object' && !Array.isArray(s)) return s as Record<string, unknown>;
  const fresh: Record<string, unknown> = {};
  c[key] = fresh;
  return fresh;
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.XDG_DATA_HOME ? join(env.XDG_DATA_HOME, 'cardpost') : join(homedir(), '.local', 'share', 'cardpost');
}

/**
 * Read, override and validate. Relative paths in a file are relative to that file. Throws
 * ConfigError naming each bad field and what is expected.
 */
export function loadConfig(
  opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: ConfigInput } = {},
): DaemonConfig {
  const env = opts.env ?? process.env;
  let raw: Record<string, unknown> = {};
  let base = process.cwd();
  if (opts.file) {
    if (!existsSync(opts.file))
      throw new ConfigError(
        'CONFIG_MISSING',
        `config file ${opts.file} does not exist`,
        'give the path of a JSON config file (see docs/daemon.md)',
      );
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(opts.file, 'utf8'));
    } catch (e) {
      throw new ConfigError(
        'CONFIG_NOT_JSON',
        `config file ${opts.file} is not valid JSON: ${(e as Error).message}`,
        'fix the JSON syntax (a trailing comma? quotes?)',
      );
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new ConfigError(
        'CONFIG_INVALID',
        `config file ${opts.file} must hold a JSON object`,
        'see docs/daemon.md for an example',
      );
    raw = parsed as Record<string, unknown>;
    base = dirname(resolve(opts.file));
  }
  raw = { ...raw, ...(opts.overrides ?? {}) };
  for (const [name, apply] of Object.entries(ENV_OVERRIDES)) {
    const v = env[name];
    if (v !== undefined && v !== '') apply(raw, v);
  }
  const res = schema.safeParse(raw);
  if (!res.success) {
    const lines = res.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    throw new ConfigError(
      'CONFIG_INVALID',
      `the daemon config is not valid:\n  ${lines.join('\n  ')}`,
      `fix these fields${opts.file ? ` in ${opts.file}` : ''} (or the CARDPOST_* environment variables)`,
    );
  }
  const c = res.data;
  let currency: number;
  try {
    currency = typeof c.currency === 'number' ? c.currency : parseCurrency(c.currency);
  } catch {
    throw new ConfigError(
      'CONFIG_INVALID',
      `the daemon config is not valid:\n  currency: unknown currency "${String(c.currency)}"`,
      'use an ISO 4217 code such as CNY, or its number (156)',
    );
  }
  if (c.bank.backoffMaxMs < c.bank.backoffBaseMs)
    throw new ConfigError(
      'CONFIG_INVALID',
      'the daemon config is not valid:\n  bank.backoffMaxMs: must not be below bank.backoffBaseMs',
      'raise backoffMaxMs',
    );
  requireSecureBankUrl(c.bank.url, opts.file);
  requireIso8583Link(c.bank, opts.file);
  const timeZone = shopTimeZone(c.shop.timeZone, opts.file);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const dataDir = abs(c.dataDir ?? defaultDataDir(env));
  return {
    ...c,
    currency,
    shop: { timeZone },
    dataDir,
    terminalDir: abs(c.terminalDir ?? join(dataDir, 'terminal')),
    trustedIssuers: c.trustedIssuers.map(abs),
    ...(c.authorityCertificate ? { authorityCertificate: abs(c.authorityCertificate) } : {}),
    ...(opts.file ? { configFile: resolve(opts.file) } : {}),
  };
}
