import { strict as assert } from 'node:assert';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CardpostError } from '../../protocol/errors.js';
import { SecretPrompt } from '../../host/cli/prompt.js';
import { readSecret } from '../../host/cli/secret-input.js';
import { runCardpost } from '../support/cli.js';

/**
 * The issuer's PIN and PUK never go on a command line, where every local user reads them (ps,
 * /proc/PID/cmdline) and the shell history keeps them. End to end through pcscd (file and stdin reach
 * the card, nothing secret on argv): test/integration/sim-card-pcscd.test.ts, "card personalize".
 */
describe('security: PIN and PUK for the issuer tools never come from argv (issue 12 item 12b)', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-issuer-secrets-'));
    const init = await runCardpost(['issuer', 'init', '--dir', join(dir, 'issuer')]);
    assert.equal(init.code, 0, init.stderr);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('`card personalize --pin DIGITS` / `--puk DIGITS` are refused at once: CLI_SECRET_ON_COMMAND_LINE, exit 2, the hint names --pin-file / --pin-stdin', async () => {
    for (const [option, value] of [
      ['--pin', '2468'],
      ['--puk', '86420975'],
    ] as const) {
      const t0 = Date.now();
      // --timeout 1000: code that took the option would wait for a reader, then fail otherwise (exit 3).
      const r = await runCardpost([
        'card',
        'personalize',
        '--issuer',
        join(dir, 'issuer'),
        '--timeout',
        '1000',
        option,
        value,
      ]);
      assert.equal(r.code, 2, `${option}: ${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(
          `^cardpost: CLI_SECRET_ON_COMMAND_LINE: ${option} on the command line is refused: .* — give it with ${option}-file FILE .* or ${option}-stdin`,
          'm',
        ),
      );
      assert.ok(!r.stderr.includes(value) && !r.stdout.includes(value), 'the refused value is not echoed');
      assert.ok(Date.now() - t0 < 15_000);
    }
  });

  it('the help offers --pin-file, --pin-stdin, --puk-file, --puk-stdin and no argv PIN', async () => {
    const r = await runCardpost(['card', 'personalize', '--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const o of ['--pin-file <path>', '--pin-stdin', '--puk-file <path>', '--puk-stdin'])
      assert.ok(r.stdout.includes(o), `help lists ${o}`);
    assert.doesNotMatch(r.stdout, /--pin <|--puk </);
  });

  it('a PIN file readable by others is refused (CLI_SECRET_FILE_MODE, exit 2) before any card is touched', async () => {
    const f = join(dir, 'pin-open');
    writeFileSync(f, '2468\n');
    chmodSync(f, 0o644);
    const r = await runCardpost([
      'card',
      'personalize',
      '--issuer',
      join(dir, 'issuer'),
      '--timeout',
      '1000',
      '--pin-file',
      f,
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /CLI_SECRET_FILE_MODE: .* — chmod 600 /);
  });

  describe('readSecret (the option handling of card personalize)', () => {
    const fromPipe = (text: string | undefined) => {
      const input = new PassThrough();
      if (text !== undefined) input.end(text);
      const p = new SecretPrompt(input, new PassThrough());
      return { p, get: () => p };
    };
    const rejects = (promise: Promise<unknown>, code: string, hint: RegExp) =>
      assert.rejects(promise, (e: unknown) => {
        assert.ok(e instanceof CardpostError, String(e));
        assert.equal(e.code, code, e.message);
        assert.match(e.hint, hint);
        return true;
      });

    it('file: the first line, trimmed; stdin: one line per secret, the PIN first; neither: undefined (a random one is made)', async () => {
      const f = join(dir, 'pin');
      writeFileSync(f, '13579\r\nignored\n', { mode: 0o600 });
      assert.equal(await readSecret({ file: f }, '--pin', () => assert.fail('no stdin'), 'transport PIN'), '13579');
      const s = fromPipe('2468\n86420975\n');
      assert.equal(await readSecret({ stdin: true }, '--pin', s.get, 'transport PIN'), '2468');
      assert.equal(await readSecret({ stdin: true }, '--puk', s.get, 'PUK'), '86420975');
      s.p.close();
      assert.equal(await readSecret({}, '--pin', () => assert.fail('no stdin'), 'transport PIN'), undefined);
    });

    it('argv refused, file and stdin together refused, stdin that ends early refused: each a typed error with a hint', async () => {
      await rejects(
        readSecret({ argv: '1234' }, '--pin', () => assert.fail('no stdin'), 'transport PIN'),
        'CLI_SECRET_ON_COMMAND_LINE',
        /--pin-file FILE/,
      );
      await rejects(
        readSecret({ file: '/x', stdin: true }, '--pin', () => assert.fail('no stdin'), 'transport PIN'),
        'CLI_USAGE',
        /one of them/,
      );
      const s = fromPipe('');
      await rejects(readSecret({ stdin: true }, '--puk', s.get, 'PUK'), 'CLI_SECRET_MISSING', /pipe it in/);
      s.p.close();
      await rejects(
        readSecret({ file: join(dir, 'nope') }, '--pin', () => assert.fail('no stdin'), 'transport PIN'),
        'CLI_SECRET_FILE',
        /first line/,
      );
    });
  });
});
