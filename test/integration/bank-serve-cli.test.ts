/**
 * `cardpost bank serve` as a merchant's bank would run it: the real CLI process, on the SQLite
 * backend here (the PostgreSQL runs are test/clearing/model/model.test.ts and test/bank/), with the
 * ISO 8583 front end beside the HTTP API. Bad options are refused before anything starts.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BankTerminalClient } from '../../device-sim/bank/terminal-client.js';
import { initIssuerDir, issueTerminal, openIssuerDir } from '../../host/issuer/issuer-dir.js';
import { ForgedCard } from '../support/record-forge.js';
import { CliProcess, runCardpost } from '../support/cli.js';

describe('cardpost bank serve (CLI)', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'cardpost-bankserve-'));
  const issuerDir = join(dir, 'issuer');
  let bank: CliProcess | undefined;
  after(async () => {
    await bank?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses bad options with exit 2 and one line saying what to give, before starting anything', async () => {
    initIssuerDir(issuerDir);
    const base = ['bank', 'serve', '--issuer', issuerDir, '--db', join(dir, 'never.sqlite')];
    const cases: [string[], RegExp][] = [
      [['--processes', '0'], /--processes must be an integer 1…64/],
      [['--listen', 'nowhere'], /--listen "nowhere" is not HOST:PORT/],
      [['--iso8583-listen', '127.0.0.1:0'], /--iso8583-listen needs --iso8583-terminals/],
      [['--iso8583-listen', '127.0.0.1:0', '--iso8583-terminals', 'x', '--iso8583-dialect', 'x25'], /is not one of/],
      [['--postgres', 'postgres://127.0.0.1/x'], /cannot be used with option '--db/],
    ];
    for (const [extra, re] of cases) {
      const r = await runCardpost([...base, ...extra]);
      assert.equal(r.code, 2, `${extra.join(' ')}: exit ${r.code} ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    // a terminal table others can read holds MAC keys: refused (not a usage error: the file is wrong)
    const table = join(dir, 'terminals.json');
    writeFileSync(table, '[]');
    chmodSync(table, 0o644);
    const open = await runCardpost([...base, '--iso8583-listen', '127.0.0.1:0', '--iso8583-terminals', table]);
    assert.notEqual(open.code, 0);
    assert.match(open.stderr, /ACQUIRER_CONFIG_INVALID.*chmod 600/);
  });

  it('stops with the reason when an API process cannot start (port in use, no issuer, a ledger path that cannot open), never respawning in a loop', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as AddressInfo).port;
    try {
      const inUse = await runCardpost([
        'bank',
        'serve',
        '--issuer',
        issuerDir,
        '--db',
        join(dir, 'busy.sqlite'),
        '--processes',
        '2',
        '--listen',
        `127.0.0.1:${port}`,
      ]);
      assert.equal(inUse.code, 3, inUse.stderr);
      assert.match(inUse.stderr, /BANK_LISTEN_FAILED: cannot listen: .*EADDRINUSE/);
      assert.doesNotMatch(inUse.stdout, /starting another/);
    } finally {
      busy.close();
    }
    const noIssuer = await runCardpost(['bank', 'serve', '--issuer', join(dir, 'none'), '--processes', '2']);
    assert.equal(noIssuer.code, 3, noIssuer.stderr);
    assert.match(noIssuer.stderr, /ISSUER_MISSING/);
    const noDir = await runCardpost([
      'bank',
      'serve',
      '--issuer',
      issuerDir,
      '--db',
      join(dir, 'no', 'such', 'c.sqlite'),
    ]);
    assert.equal(noDir.code, 2, noDir.stderr);
    assert.match(noDir.stderr, /CLEARING_DB_REFUSED/);
  });

  it('settles a batch over HTTP, serves ISO 8583 beside it, and after a restart replays the same answer byte for byte', async () => {
    const table = join(dir, 'terminals-ok.json');
    writeFileSync(
      table,
      JSON.stringify([
        { isoTerminalId: 'CP000001', merchantId: '898310058120001', terminalId: 'T-CLI', macKeyHex: '11'.repeat(16) },
      ]),
    );
    chmodSync(table, 0o600);
    const args = [
      'bank',
      'serve',
      '--issuer',
      issuerDir,
      '--listen',
      '127.0.0.1:0',
      '--db',
      join(dir, 'clearing.sqlite'),
      '--processes',
      '1',
      '--iso8583-listen',
      '127.0.0.1:0',
      '--iso8583-terminals',
      table,
    ];
    bank = new CliProcess(args);
    const line = await bank.waitFor(/listening on/, 60_000);
    assert.match(line, /ISO 8583 on 127\.0\.0\.1:\d+ \(cup-terminal\)/);
    const url = /(http:\/\/[^ ,]+)/.exec(line)![1]!;
    const issuer = openIssuerDir(issuerDir);
    const term = issueTerminal(issuer, 'T-CLI', join(dir, 't'));
    const client = new BankTerminalClient({ baseUrl: url, ...term });
    const card = ForgedCard.issue(issuer.ca.key);
    const records = [card.sign({ terminalId: 'T-CLI' }).envelope, card.sign({ terminalId: 'T-CLI' }).envelope];
    const id = 'ab'.repeat(16);
    const first = await client.submitBatch(id, records, [card.certificate.envelope]);
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(
      first.json<{ results: { verdict: string }[] }>().results.map((r) => r.verdict),
      ['accepted', 'accepted'],
    );
    assert.equal((await client.submitBatch(id, records.slice(0, 1), [])).status, 422, 'same key, other body');
    assert.equal(await bank.stop(), 0, 'SIGTERM ends it cleanly');

    bank = new CliProcess(args);
    const again = /(http:\/\/[^ ,]+)/.exec(await bank.waitFor(/listening on/, 60_000))![1]!;
    const c2 = new BankTerminalClient({ baseUrl: again, ...term });
    const replay = await c2.submitBatch(id, records, [card.certificate.envelope]);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(replay.bytes, first.bytes);
  });
});
