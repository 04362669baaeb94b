import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../host/daemon/config.js';
import { runCardpost } from '../support/cli.js';

/**
 * The bank's verdicts (accepted, duplicate, rejected) are not signed: only TLS says it is the bank that
 * answers and that nobody on the way read the records or changed an answer. Plain http is allowed only
 * to this machine (the simulated bank, tests).
 */
describe('security: a bank off this machine must be https (issue 12 item 12a)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-config-secrets-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = (content: unknown) => {
    const p = join(dir, 'daemon.json');
    writeFileSync(p, JSON.stringify(content));
    return p;
  };
  const insecure = (fn: () => unknown, url: string) => {
    assert.throws(
      fn,
      (e: unknown) => {
        assert.ok(e instanceof ConfigError, `expected ConfigError for ${url}, got ${String(e)}`);
        assert.equal(e.code, 'CONFIG_BANK_URL_INSECURE', `${url}: ${e.message}`);
        assert.match(e.message, /bank\.url/, 'the message names the field');
        if (url.includes('@')) assert.ok(!e.message.includes('pw'), 'credentials in the URL are not echoed');
        else assert.ok(e.message.includes(url), 'and the URL');
        assert.match(e.hint, /https:\/\//, 'the hint says to use https');
        return true;
      },
      `${url} must be refused`,
    );
  };

  it('plain http to any host that is not loopback is refused with CONFIG_BANK_URL_INSECURE', () => {
    for (const url of [
      'http://10.0.0.1:8451',
      'http://bank.example.cn',
      'http://192.168.1.20/',
      'http://0.0.0.0:8451',
      'http://localhost.evil.example',
      'http://127.0.0.1.nip.io:8451',
      'http://[2001:db8::1]:8451',
      'http://[::ffff:10.0.0.1]',
      'http://user:pw@10.0.0.1/',
    ]) {
      insecure(() => loadConfig({ file: file({ bank: { url } }), env: {} }), url);
    }
  });

  it('https anywhere, and http on loopback (127.0.0.0/8, ::1, localhost) are accepted', () => {
    for (const url of [
      'https://settle.example-bank.cn',
      'https://10.0.0.1:8443/',
      'http://127.0.0.1:8451',
      'http://127.9.8.7',
      'http://localhost:8451',
      'http://LOCALHOST:1',
      'http://[::1]:8451/',
      'http://2130706433:8451',
    ]) {
      assert.ok(loadConfig({ file: file({ bank: { url } }), env: {} }).bank.url.length > 0, url);
    }
    assert.equal(
      loadConfig({ env: {} }).bank.url,
      'http://127.0.0.1:8451',
      'the default (the simulator on loopback) stays valid',
    );
  });

  it('the environment override is checked the same way, whatever the file says', () => {
    insecure(
      () =>
        loadConfig({
          file: file({ bank: { url: 'https://bank.example' } }),
          env: { CARDPOST_BANK_URL: 'http://bank.example' },
        }),
      'http://bank.example',
    );
    insecure(() => loadConfig({ overrides: { bank: { url: 'http://172.16.0.9' } }, env: {} }), 'http://172.16.0.9');
  });

  it('`cardpost daemon` with a plain-http remote bank exits 2 with one line saying what to do, before starting anything', async () => {
    const r = await runCardpost([
      'daemon',
      '--config',
      file({ dataDir: './data', bank: { url: 'http://10.0.0.1:8451' } }),
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^cardpost: CONFIG_BANK_URL_INSECURE: .*bank\.url.* — use https:\/\//ms);
  });
});
