import { strict as assert } from 'node:assert';
import { loadConfig } from '../../host/daemon/config.js';

/** `bank.link` and `bank.iso8583` in the daemon config (host/daemon/config.ts, docs/iso8583.md §7). */
describe('daemon config: the ISO 8583 settlement link', () => {
  const iso8583 = { port: 8583, terminalId: 'CP000001', merchantId: '898310058120001', macKeyHex: '00'.repeat(16) };
  const load = (bank: Record<string, unknown>) => loadConfig({ env: {}, overrides: { bank } as never });

  it('defaults to the HTTP link; takes an ISO 8583 link on loopback with its defaults filled in', () => {
    assert.equal(load({}).bank.link, 'http');
    const c = load({ link: 'iso8583', iso8583 });
    assert.equal(c.bank.link, 'iso8583');
    assert.deepEqual(c.bank.iso8583, {
      ...iso8583,
      host: '127.0.0.1',
      dialect: 'cup-terminal',
      tpdu: { destination: 3, source: 0 },
      headerHex: '603100311301',
      answerTimeoutMs: 5000,
    });
    for (const host of ['localhost', '127.0.0.2', '::1'])
      assert.equal(load({ link: 'iso8583', iso8583: { ...iso8583, host } }).bank.iso8583?.host, host);
  });

  it('refuses an ISO 8583 link without its section, off this machine, or with a bad key or ids', () => {
    assert.throws(
      () => load({ link: 'iso8583' }),
      (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /bank\.iso8583/.test(e.message),
    );
    assert.throws(
      () => load({ link: 'iso8583', iso8583: { ...iso8583, host: '10.0.0.5' } }),
      (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /not this machine/.test(e.message),
    );
    for (const bad of [
      { macKeyHex: 'abc' },
      { terminalId: 'CP1' },
      { merchantId: '1' },
      { dialect: 'ebcdic' },
      { port: 0 },
    ])
      assert.throws(
        () => load({ link: 'iso8583', iso8583: { ...iso8583, ...bad } }),
        (e: Error & { code?: string }) =>
          e.code === 'CONFIG_INVALID' && new RegExp(`bank\\.iso8583\\.${Object.keys(bad)[0]}`).test(e.message),
        JSON.stringify(bad),
      );
    assert.throws(() => load({ link: 'x25' }), { code: 'CONFIG_INVALID' });
  });
});
