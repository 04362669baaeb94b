import { strict as assert } from 'node:assert';
import { sm2 as smCrypto } from 'sm-crypto';
import { runCli } from '../../host/cli/main.js';
import { runCardpost } from '../support/cli.js';

/** Run the CLI in-process, capturing output and the exit code. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), setExitCode: () => {} }, (l) => err.push(l));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const VEC = {
  d: '3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8',
  pub: '0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13',
  msg: '6d65737361676520646967657374', // "message digest"
  e: 'f0b43e94ba45accaace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640',
  sig: 'f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa',
  der: '3046022100f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3022100b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa',
};

describe('cardpost crypto (CLI for firmware and QA engineers)', () => {
  it('sm3 HEX → digest', async () => {
    assert.deepEqual(await cli('crypto', 'sm3', '616263'), {
      code: 0,
      out: '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
      err: '',
    });
    assert.equal(
      (await cli('crypto', 'sm3', '')).out,
      '1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b',
    );
  });

  it('sm2-keygen → JSON key pair that signs and verifies', async () => {
    const kp = JSON.parse((await cli('crypto', 'sm2-keygen')).out) as { private: string; public: string };
    assert.match(kp.private, /^[0-9a-f]{64}$/);
    assert.match(kp.public, /^04[0-9a-f]{128}$/);
    const sig = (await cli('crypto', 'sm2-sign', '--key', kp.private, '--msg', '00ff')).out;
    assert.equal((await cli('crypto', 'sm2-verify', '--key', kp.public, '--msg', '00ff', '--sig', sig)).code, 0);
  });

  it('sm2-verify accepts the published signature, raw and DER, by message or digest', async () => {
    for (const sig of [VEC.sig, VEC.der]) {
      assert.deepEqual(await cli('crypto', 'sm2-verify', '--key', VEC.pub, '--msg', VEC.msg, '--sig', sig), {
        code: 0,
        out: 'valid',
        err: '',
      });
      assert.equal((await cli('crypto', 'sm2-verify', '--key', VEC.pub, '--digest', VEC.e, '--sig', sig)).code, 0);
    }
  });

  it('sm2-sign with --digest signs e itself; --id changes Z_A', async () => {
    const byDigest = (await cli('crypto', 'sm2-sign', '--key', VEC.d, '--digest', VEC.e)).out;
    assert.equal((await cli('crypto', 'sm2-verify', '--key', VEC.pub, '--msg', VEC.msg, '--sig', byDigest)).code, 0);
    const otherId = (await cli('crypto', 'sm2-sign', '--key', VEC.d, '--msg', VEC.msg, '--id', 'ALICE123@YAHOO.COM'))
      .out;
    assert.equal((await cli('crypto', 'sm2-verify', '--key', VEC.pub, '--msg', VEC.msg, '--sig', otherId)).code, 1);
    assert.equal(
      (
        await cli(
          'crypto',
          'sm2-verify',
          '--key',
          VEC.pub,
          '--msg',
          VEC.msg,
          '--id',
          'ALICE123@YAHOO.COM',
          '--sig',
          otherId,
        )
      ).code,
      0,
    );
  });

  it('interoperates with sm-crypto through the CLI both ways', async () => {
    const kp = smCrypto.generateKeyPairHex();
    const theirs = smCrypto.doSignature('cafe', kp.privateKey, { hash: true, der: false });
    assert.equal(
      (
        await cli(
          'crypto',
          'sm2-verify',
          '--key',
          kp.publicKey,
          '--msg',
          Buffer.from('cafe').toString('hex'),
          '--sig',
          theirs,
        )
      ).code,
      0,
    );
    const ours = (await cli('crypto', 'sm2-sign', '--key', kp.privateKey, '--msg', Buffer.from('cafe').toString('hex')))
      .out;
    assert.equal(
      smCrypto.doVerifySignature('cafe', ours, kp.publicKey, { hash: true, der: false }),
      true,
      'sm-crypto verifies ours',
    );
  });

  it('exit 1 for an invalid signature', async () => {
    const bad = VEC.sig.slice(0, -1) + (VEC.sig.endsWith('a') ? 'b' : 'a');
    assert.deepEqual(await cli('crypto', 'sm2-verify', '--key', VEC.pub, '--msg', VEC.msg, '--sig', bad), {
      code: 1,
      out: 'invalid',
      err: '',
    });
  });

  it('sm4-encrypt / sm4-decrypt, ECB and CBC', async () => {
    const key = '0123456789abcdeffedcba9876543210';
    assert.equal((await cli('crypto', 'sm4-encrypt', '--key', key, key)).out, '681edf34d206965e86b3e94f536e4246');
    assert.equal((await cli('crypto', 'sm4-decrypt', '--key', key, '681edf34d206965e86b3e94f536e4246')).out, key);
    const iv = '000102030405060708090a0b0c0d0e0f';
    const ct = (
      await cli('crypto', 'sm4-encrypt', '--key', key, '--mode', 'cbc', '--iv', iv, '--padding', 'pkcs7', '68656c6c6f')
    ).out;
    assert.equal(ct.length, 32);
    assert.equal(
      (await cli('crypto', 'sm4-decrypt', '--key', key, '--mode', 'cbc', '--iv', iv, '--padding', 'pkcs7', ct)).out,
      '68656c6c6f',
    );
  });

  const usage: Array<[string, string[], RegExp]> = [
    ['malformed hex', ['crypto', 'sm3', 'xyz'], /HEX_INVALID/],
    ['odd-length hex', ['crypto', 'sm3', 'abc'], /HEX_INVALID/],
    ['short key', ['crypto', 'sm2-sign', '--key', '01', '--msg', '00'], /32 bytes/],
    ['both msg and digest', ['crypto', 'sm2-sign', '--key', VEC.d, '--msg', '00', '--digest', VEC.e], /exactly one/],
    ['neither msg nor digest', ['crypto', 'sm2-verify', '--key', VEC.pub, '--sig', VEC.sig], /exactly one/],
    [
      'public key off the curve',
      ['crypto', 'sm2-verify', '--key', '04' + '11'.repeat(64), '--msg', '00', '--sig', VEC.sig],
      /./,
    ],
    ['cbc without iv', ['crypto', 'sm4-encrypt', '--key', '00'.repeat(16), '--mode', 'cbc', '00'.repeat(16)], /--iv/],
    ['partial block without padding', ['crypto', 'sm4-encrypt', '--key', '00'.repeat(16), '0011'], /./],
    ['unknown mode', ['crypto', 'sm4-encrypt', '--key', '00'.repeat(16), '--mode', 'xts', '00'], /./],
    ['unknown option', ['crypto', 'sm3', '--frobnicate', '00'], /./],
  ];
  for (const [name, argv, re] of usage) {
    it(`exit 2 with one line for ${name}`, async () => {
      const r = await cli(...argv);
      assert.equal(r.code, 2, `exit code for ${name}: ${r.err}`);
      assert.match(r.err, re);
      assert.equal(r.out, '', 'nothing on stdout');
    });
  }

  it('the installed bin keeps the exit codes (0, 1, 2) as a process', async function () {
    this.timeout(60_000); // three processes, each starting Node with tsx
    assert.equal(
      (await runCardpost(['crypto', 'sm2-verify', '--key', VEC.pub, '--msg', VEC.msg, '--sig', VEC.sig])).code,
      0,
    );
    assert.equal(
      (await runCardpost(['crypto', 'sm2-verify', '--key', VEC.pub, '--msg', '00', '--sig', VEC.sig])).code,
      1,
    );
    const bad = await runCardpost(['crypto', 'sm3', 'zz']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1, `one line: ${bad.stderr}`);
  });

  it('selftest passes on this machine', async () => {
    const r = await cli('selftest', '--json');
    const j = JSON.parse(r.out) as { ok: boolean; sm2Backend: string };
    assert.equal(j.ok, true, r.out);
    assert.equal(r.code, 0, 'exit code');
    if (process.env.REQUIRE_SYSTEM === '1') assert.equal(j.sm2Backend, 'native', 'CI builds the native SM2 addon');
  });
});
