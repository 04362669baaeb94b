import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type DaemonConfig } from '../../host/daemon/config.js';
import { Prng } from '../support/prng.js';
import { FUZZ_ROUNDS, explain, fuzzSeed, hexSeed } from '../support/fuzz.js';

function refused(fn: () => unknown, code: string, ...mentions: string[]): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${explain(e)}`);
    assert.equal(e.code, code, e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), `the message names "${m}": ${e.message}`);
    assert.ok(e.hint.length > 0, 'a hint says what to do');
    return e;
  }
  return assert.fail(`expected ConfigError ${code}`);
}

describe('daemon: config (loadConfig)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-config-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = (content: unknown, name = 'cardpost.json') => {
    const p = join(dir, name);
    writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  };

  it('defaults: a bare {} gives a complete, safe config', () => {
    const c = loadConfig({ file: file({}), env: { XDG_DATA_HOME: '/srv/xdg' } });
    assert.equal(c.dataDir, '/srv/xdg/cardpost');
    assert.equal(c.terminalDir, '/srv/xdg/cardpost/terminal');
    assert.equal(c.currency, 156);
    assert.equal(c.merchantId, 'M-0001');
    assert.deepEqual(c.api, { host: '127.0.0.1', port: 8450 }, 'loopback by default');
    assert.equal(c.bank.url, 'http://127.0.0.1:8451');
    assert.equal(c.bank.batchSize, 500);
    assert.ok(c.sale.cardTimeoutS >= 60 && c.sale.pinTimeoutS >= 60, 'generous time-outs by default');
    assert.deepEqual(c.limits, { perSale: null, unsettledAmount: null, unsettledAgeHours: 72 });
    assert.equal(c.log.level, 'info');
    assert.equal(c.readers.pcsc, true);
    const { configFile, ...fromFile } = c;
    assert.equal(
      configFile,
      join(dir, 'cardpost.json'),
      'the config remembers its file (the daemon never writes over it)',
    );
    assert.deepEqual(loadConfig({ env: { XDG_DATA_HOME: '/srv/xdg' } }), fromFile, 'no file at all: the same defaults');
  });

  it('an unknown field is refused, naming it (a typo never falls back to a default)', () => {
    refused(() => loadConfig({ file: file({ merchnatId: 'M-1' }), env: {} }), 'CONFIG_INVALID', 'merchnatId');
    refused(() => loadConfig({ file: file({ sale: { cardTimeout: 90 } }), env: {} }), 'CONFIG_INVALID', 'cardTimeout');
  });

  it('a bad type names the path of the field', () => {
    refused(
      () => loadConfig({ file: file({ bank: { batchSize: 'many' } }), env: {} }),
      'CONFIG_INVALID',
      'bank.batchSize',
    );
    refused(() => loadConfig({ file: file({ limits: { perSale: -5 } }), env: {} }), 'CONFIG_INVALID', 'limits.perSale');
    refused(
      () => loadConfig({ file: file({ trustedIssuers: ['a', 7] }), env: {} }),
      'CONFIG_INVALID',
      'trustedIssuers.1',
    );
    refused(() => loadConfig({ file: file({ currency: 'XXZ' }), env: {} }), 'CONFIG_INVALID', 'currency');
    refused(() => loadConfig({ file: file({ bank: { url: 'ftp://bank' } }), env: {} }), 'CONFIG_INVALID', 'bank.url');
    refused(
      () => loadConfig({ file: file({ bank: { backoffBaseMs: 5000, backoffMaxMs: 1000 } }), env: {} }),
      'CONFIG_INVALID',
      'backoffMaxMs',
    );
  });

  it('time-outs under a minute are refused (elderly customers)', () => {
    refused(
      () => loadConfig({ file: file({ sale: { cardTimeoutS: 59 } }), env: {} }),
      'CONFIG_INVALID',
      'sale.cardTimeoutS',
    );
    refused(
      () => loadConfig({ file: file({ sale: { pinTimeoutS: 30 } }), env: {} }),
      'CONFIG_INVALID',
      'sale.pinTimeoutS',
    );
    assert.equal(
      loadConfig({ file: file({ sale: { cardTimeoutS: 60, pinTimeoutS: 60 } }), env: {} }).sale.cardTimeoutS,
      60,
    );
  });

  it('environment overrides win over the file', () => {
    const c = loadConfig({
      file: file({
        bank: { url: 'http://10.0.0.1:1', timeoutMs: 5000 },
        api: { port: 1111 },
        merchantId: 'FROM-FILE',
        log: { level: 'warn' },
        readers: { pcsc: true },
      }),
      env: {
        CARDPOST_BANK_URL: 'https://bank.example:8443',
        CARDPOST_API_PORT: '9999',
        CARDPOST_MERCHANT_ID: 'FROM-ENV',
        CARDPOST_LOG_LEVEL: 'debug',
        CARDPOST_PCSC: '0',
        CARDPOST_DATA_DIR: '/var/lib/cp',
      },
    });
    assert.equal(c.bank.url, 'https://bank.example:8443');
    assert.equal(c.bank.timeoutMs, 5000, 'the rest of the section is kept');
    assert.equal(c.api.port, 9999);
    assert.equal(c.merchantId, 'FROM-ENV');
    assert.equal(c.log.level, 'debug');
    assert.equal(c.readers.pcsc, false);
    assert.equal(c.dataDir, '/var/lib/cp');
    refused(() => loadConfig({ file: file({}), env: { CARDPOST_API_PORT: 'eighty' } }), 'CONFIG_INVALID', 'api.port');
  });

  it("relative paths resolve against the config file's folder, not the working directory", () => {
    mkdirSync(join(dir, 'etc'));
    const c: DaemonConfig = loadConfig({
      file: file(
        {
          dataDir: 'data',
          terminalDir: '../term',
          trustedIssuers: ['ca/extra.cert'],
          authorityCertificate: 'auth.cert',
        },
        'etc/cardpost.json',
      ),
      env: {},
    });
    assert.equal(c.dataDir, join(dir, 'etc', 'data'));
    assert.equal(c.terminalDir, join(dir, 'term'));
    assert.deepEqual(c.trustedIssuers, [join(dir, 'etc', 'ca', 'extra.cert')]);
    assert.equal(c.authorityCertificate, join(dir, 'etc', 'auth.cert'));
    assert.equal(
      loadConfig({ file: file({ dataDir: 'd' }, 'etc/b.json'), env: {} }).terminalDir,
      join(dir, 'etc', 'd', 'terminal'),
      'terminalDir defaults inside dataDir',
    );
  });

  it('invalid JSON is CONFIG_NOT_JSON; a non-object is CONFIG_INVALID; a missing file is CONFIG_MISSING', () => {
    refused(
      () => loadConfig({ file: file('{"bank": {"url": "http://x",}}'), env: {} }),
      'CONFIG_NOT_JSON',
      'not valid JSON',
    );
    refused(() => loadConfig({ file: file(''), env: {} }), 'CONFIG_NOT_JSON');
    refused(() => loadConfig({ file: file('[1,2]'), env: {} }), 'CONFIG_INVALID');
    refused(() => loadConfig({ file: file('null'), env: {} }), 'CONFIG_INVALID');
    refused(() => loadConfig({ file: join(dir, 'nope.json'), env: {} }), 'CONFIG_MISSING', 'nope.json');
  });

  it('fuzz: random JSON configs and environments give a config or a ConfigError, never anything else', () => {
    const seed = fuzzSeed(0xc0f16);
    const rng = new Prng(seed);
    const KEYS: Record<string, string[]> = {
      '': [
        'dataDir',
        'merchantId',
        'terminalDir',
        'trustedIssuers',
        'authorityCertificate',
        'currency',
        'bank',
        'api',
        'readers',
        'sale',
        'limits',
        'log',
        '__proto__',
        'constructor',
        'x',
      ],
      bank: ['url', 'timeoutMs', 'batchSize', 'healthIntervalMs', 'backoffBaseMs', 'backoffMaxMs', 'toString'],
      api: ['host', 'port'],
      readers: ['pcsc', 'pcscExtendedLength', 'pcscTransmitTimeoutS', 'serial', 'hid'],
      sale: ['cardTimeoutS', 'pinTimeoutS'],
      limits: ['perSale', 'unsettledAmount', 'unsettledAgeHours'],
      log: ['level'],
    };
    const STRINGS = [
      '',
      'CNY',
      'usd',
      '156',
      'http://127.0.0.1:1',
      'https://[::1]:8443/',
      'javascript:alert(1)',
      '../../etc',
      '\u0000',
      'a'.repeat(300),
      'info',
      'silent',
      'NaN',
      '😀',
      '__proto__',
    ];
    const NUMBERS = [0, -1, 1, 59, 60, 999, 1000, 65535, 65536, 0.5, 1e308, -1e308, 2 ** 53, 3.7, 120_000, 3600];
    const value = (depth: number): unknown => {
      switch (rng.int(depth > 2 ? 5 : 7)) {
        case 0:
          return null;
        case 1:
          return rng.bool();
        case 2:
          return rng.pick(NUMBERS);
        case 3:
          return rng.pick(STRINGS);
        case 4:
          return rng.int(100_000) - 500;
        case 5:
          return Array.from({ length: rng.int(4) }, () => value(depth + 1));
        default:
          return object(rng.pick(Object.keys(KEYS).filter((k) => k !== '')), depth + 1);
      }
    };
    const object = (section: string, depth: number): Record<string, unknown> => {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(5); i > 0; i--) {
        const key = rng.pick(KEYS[section]!);
        o[key] = Object.hasOwn(KEYS, key) && rng.bool(0.7) ? object(key, depth + 1) : value(depth);
      }
      return o;
    };
    const ENV = [
      'CARDPOST_DATA_DIR',
      'CARDPOST_TERMINAL_DIR',
      'CARDPOST_MERCHANT_ID',
      'CARDPOST_BANK_URL',
      'CARDPOST_API_PORT',
      'CARDPOST_LOG_LEVEL',
      'CARDPOST_PCSC',
    ];
    const p = join(dir, 'fuzz.json');
    let ok = 0;
    let errors = 0;
    const rounds = 600 * FUZZ_ROUNDS;
    for (let i = 0; i < rounds; i++) {
      let text: string;
      const shape = rng.int(10);
      if (shape === 0) text = JSON.stringify(value(0));
      else if (shape === 1)
        text = JSON.stringify(object('', 0)).slice(0, rng.int(40)); // truncated
      else text = JSON.stringify(object('', 0));
      const env: Record<string, string> = {};
      if (rng.bool(0.3)) env[rng.pick(ENV)] = String(rng.pick([...STRINGS, ...NUMBERS.map(String)]));
      writeFileSync(p, text);
      try {
        const c = loadConfig({ file: p, env });
        assert.ok(
          c.sale.cardTimeoutS >= 60 && c.sale.pinTimeoutS >= 60,
          `case ${i}: a time-out under a minute got through: ${text}`,
        );
        assert.ok(
          Number.isInteger(c.currency) && c.currency >= 1 && c.currency <= 999,
          `case ${i}: currency ${c.currency}`,
        );
        ok++;
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        if (!(e instanceof ConfigError))
          assert.fail(`seed ${hexSeed(seed)} case ${i}: ${text} env ${JSON.stringify(env)} threw ${explain(e)}`);
        assert.ok(e.message.length > 0 && e.hint.length > 0, 'a message and a hint');
        errors++;
      }
    }
    assert.ok(ok > 10 && errors > 10, `the fuzz reaches both outcomes (ok ${ok}, refused ${errors})`);
  });
});
