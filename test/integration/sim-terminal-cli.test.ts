import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrustStore } from '../../protocol/record/index.js';
import { openIssuerDir } from '../../host/issuer/issuer-dir.js';
import { SerialTerminal } from '../../host/transports/serial/index.js';
import { CliProcess, runCardpost } from '../support/cli.js';
import { startPtyPair, socatPath, type PtyPair } from '../support/pty-pair.js';
import { requireSystem } from '../support/system.js';
import { TestSaleDesk } from '../support/terminal-sale.js';

describe('cardpost sim terminal (CLI) on a socat pty pair', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'cardpost-simterm-'));
  let pty: PtyPair | undefined;
  let sim: CliProcess | undefined;
  let host: SerialTerminal | undefined;
  before(function () {
    requireSystem(this, socatPath() ? [] : ['socat'], 'apt-get install socat');
  });
  after(async () => {
    await host?.close();
    await sim?.stop();
    await pty?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keys sales on stdin; the host signs them over the slot (PIN from the pad) and the receipts are printed', async () => {
    assert.equal((await runCardpost(['issuer', 'init', '--dir', join(dir, 'issuer')])).code, 0, 'issuer init');
    pty = await startPtyPair(join(dir, 'host'), join(dir, 'term'));
    sim = new CliProcess([
      'sim',
      'terminal',
      '--port',
      join(dir, 'term'),
      '--issuer',
      join(dir, 'issuer'),
      '--card-state',
      join(dir, 'card.nvm'),
      '--pin',
      '2468',
      '--printer',
      join(dir, 'receipts.txt'),
      '--serial',
      'SIM-CLI',
      '--fault-flip',
      '0.002',
      '--seed',
      '7',
    ]);
    await sim.waitFor(/commands: sale/);
    const trust = new TrustStore();
    trust.addIssuer(openIssuerDir(join(dir, 'issuer')).ca.certificate);
    host = new SerialTerminal({ path: join(dir, 'host'), channel: { link: { ackTimeoutMs: 60 } } }).start();
    const desk = new TestSaleDesk(host, trust);
    assert.equal((await host.whenConnected(15_000)).serial, 'SIM-CLI');
    sim.send('sale 12.50');
    await sim.waitFor(/sale approved/);
    sim.send('sale 150.00'); // above the no-PIN limit: the terminal types --pin on its pad
    await sim.waitFor(/sale approved receipt .*-2\b/);
    assert.deepEqual(
      desk.records.map((r) => r.amount),
      [1250, 15000],
    );
    assert.deepEqual(desk.pinOutcomes, ['verified']);
    const receipts = readFileSync(join(dir, 'receipts.txt'), 'utf8');
    assert.match(receipts, /amount 12\.50 156/);
    assert.match(receipts, /amount 150\.00 156/);
    sim.send('remove');
    await new Promise<void>((r) => host!.cardReader.once('removed', () => r()));
    sim.send('status');
    await sim.waitFor(/card out/);
    const bad = await runCardpost(['sim', 'terminal', '--port', join(dir, 'term'), '--fault-flip', '3']);
    assert.equal(bad.code, 2, `a bad rate is a usage error: ${bad.stderr}`);
  });
});
