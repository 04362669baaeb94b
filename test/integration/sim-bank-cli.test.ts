import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess, runCardpost } from '../support/cli.js';

describe('cardpost sim bank (CLI)', function () {
  this.timeout(90_000); // each step starts Node with tsx
  const dir = mkdtempSync(join(tmpdir(), 'cardpost-simbank-'));
  let bank: CliProcess | undefined;
  after(async () => {
    await bank?.stop();
  });

  it('serves health and the signed revocation list on loopback, and refuses bad options with exit 2', async () => {
    assert.equal((await runCardpost(['issuer', 'init', '--dir', join(dir, 'issuer')])).code, 0, 'issuer init');
    bank = new CliProcess([
      'sim',
      'bank',
      '--issuer',
      join(dir, 'issuer'),
      '--listen',
      '127.0.0.1:0',
      '--db',
      join(dir, 'bank.sqlite'),
    ]);
    const line = await bank.waitFor(/bank listening on/);
    const url = /(http:\/\/[^ ]+)/.exec(line)![1]!;
    const health = await fetch(`${url}/v1/health`);
    assert.equal(health.status, 200, 'health');
    assert.equal(((await health.json()) as { status: string }).status, 'ok', 'health body');
    const crl = await fetch(`${url}/v1/revocations`);
    assert.equal(crl.headers.get('content-type'), 'application/cbor', 'revocation list is CBOR');
    const bad = await runCardpost(['sim', 'bank', '--issuer', join(dir, 'issuer'), '--error-rate', '2']);
    assert.equal(bad.code, 2, `exit code: ${bad.stderr}`);
    assert.match(bad.stderr, /between 0 and 1/);
    const noIssuer = await runCardpost(['sim', 'bank', '--issuer', join(dir, 'nowhere')]);
    assert.equal(noIssuer.code, 3, 'a missing issuer is not a usage error');
    assert.match(noIssuer.stderr, /issuer init/);
  });
});
