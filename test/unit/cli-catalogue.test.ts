import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CARD_STATUS, LIFECYCLE } from '../../protocol/commands/index.js';
import { CardpostError } from '../../protocol/errors.js';
import { CATALOGUE, has, t } from '../../host/ui/i18n.js';
import { runCli } from '../../host/cli/main.js';
import {
  catalogueError,
  chosenLang,
  describeError,
  envLang,
  errorWords,
  localeLang,
  parseLang,
} from '../../host/cli/cli-lang.js';
import { UnknownLangError } from '../../host/cli/lang-choice.js';
import { cardStateLine } from '../../host/cli/counter-commands.js';
import { reportLines } from '../../host/cli/day-commands.js';
import { saleLine, triesLeft } from '../../host/cli/sale-command.js';
import { SALE_OUTCOMES, type ZReport } from '../../host/close/day-report.js';
import { RECORD_STATUSES, SALE_STATES } from '../../host/store/store-types.js';
import { REFUND_VIEW_STATES } from '../../host/store/refunds.js';
import { TOPUP_METHODS, TOPUP_STATES } from '../../host/store/topups.js';
import { VOID_STATES } from '../../host/store/voids.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import type { SettlementState } from '../../host/settlement/settlement-worker.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { runCardpost } from '../support/cli.js';

/**
 * The CLI's merchant messages come from the one catalogue (host/ui/i18n.js, sections i18n-cli*.js;
 * docs/ui.md "Languages"): every key the CLI uses exists in zh-CN and English, `--lang` / CARDPOST_LANG /
 * the daemon's ui.language choose, and --json never changes with the language.
 */
const CLI = join(process.cwd(), 'host/cli');
const sources = readdirSync(CLI)
  .filter((n) => n.endsWith('.ts'))
  .map((name) => ({ name, src: readFileSync(join(CLI, name), 'utf8').replace(/^\s*(\/\/|\*|\/\*\*).*$/gm, '') }));

/** The values each `wordOr(w, 'prefix.', value)` family is asked for: every one needs its words. */
const FAMILIES: Record<string, readonly string[]> = {
  'cli.sale.state.': SALE_STATES,
  'cli.outcome.': SALE_OUTCOMES,
  'cli.record.': RECORD_STATUSES,
  'cli.topup.state.': TOPUP_STATES,
  'cli.topup.method.': TOPUP_METHODS.filter((m) => m !== 'sync'), // a sync says "synced", not its method
  'cli.void.': VOID_STATES.filter((s) => s !== 'voided'), // a voided sale has its own line (cli.void.done)
  'cli.refund.': REFUND_VIEW_STATES,
  'cli.pin.step.': ['current', 'puk', 'new', 'confirm'],
  'cli.pin.cancelledBy.': ['merchant', 'customer'],
  'cli.lost.reason.': ['lost', 'stolen'],
  'cli.settle.state.': ['offline', 'idle', 'sending', 'backing_off', 'blocked', 'stopped'] satisfies SettlementState[],
};

const HAN = /\p{Script=Han}/u;

describe('cli catalogue: zh-CN and English for every message a merchant reads from the CLI', () => {
  it("every 'cli.…' key named in host/cli exists in both languages", () => {
    const used: string[] = [];
    for (const { name, src } of sources)
      for (const m of src.matchAll(/'(cli\.[\w.-]+)'/g)) used.push(`${name}: ${m[1]}`);
    assert.ok(used.length > 150, `found the keys in use (${used.length})`);
    const missing = used.filter((u) => !u.endsWith('.') && !has(u.split(': ')[1]!)); // 'x.' + value: below
    assert.deepEqual(missing, [], 'keys used but not in the catalogue');
    for (const u of used) {
      const key = u.split(': ')[1]!;
      if (key.endsWith('.')) continue;
      assert.ok(CATALOGUE[key]!.zh.trim() && CATALOGUE[key]!.en.trim(), `${key}: both languages`);
    }
  });

  it('keys are never built in a template (the scan could not see them): wordOr families only, each complete', () => {
    for (const { name, src } of sources) {
      assert.doesNotMatch(src, /\bw\(\s*`/, `${name}: w(\`…\`) — use wordOr(w, 'prefix.', value)`);
      for (const m of src.matchAll(/wordOr\(\s*\w+,\s*'([\w.-]+)'/g)) {
        const values = FAMILIES[m[1]!];
        assert.ok(values, `${name}: the family ${m[1]} is listed in this test`);
        for (const v of values) assert.ok(has(m[1]! + v), `${m[1]}${v}`);
      }
    }
    for (const code of ['PIN_SERVICE_TIMED_OUT', 'PIN_SERVICE_CANCELLED']) assert.ok(has(`cli.err.${code}.todo`), code);
    for (const key of Object.keys(CATALOGUE).filter((k) => /^cli\.err\.[A-Z_]+$/.test(k)))
      assert.ok(has(key + '.todo'), `${key} says what to do too`);
  });

  it('the English keeps the words scripts and tests read; the card states say what the protocol says', () => {
    assert.equal(triesLeft(1), '1 try left');
    assert.equal(triesLeft(3), '3 tries left');
    assert.equal(triesLeft(1, 'zh-CN'), '还可试 1 次');
    assert.equal(cardStateLine({ lifecycle: LIFECYCLE.PIN_BLOCKED }).includes(CARD_STATUS.PIN_BLOCKED.hint), true);
    assert.equal(
      cardStateLine({ lifecycle: LIFECYCLE.TERMINATED }),
      `state: TERMINATED: ${CARD_STATUS.TERMINATED.hint}`,
    );
    assert.equal(
      cardStateLine({ lifecycle: LIFECYCLE.BLOCKED }),
      `state: BLOCKED by its issuer: ${CARD_STATUS.BLOCKED.hint}`,
    );
    assert.equal(cardStateLine({ lifecycle: LIFECYCLE.ACTIVE }, 'zh-CN'), '状态：正常');
    const pin = { state: 'pin', pinTriesLeft: 2, notice: null } as unknown as SaleSnapshot;
    assert.equal(saleLine(pin), 'waiting for the PIN (2 tries left)');
    assert.equal(saleLine(pin, 'zh-CN'), '等待输入密码（还可试 2 次）');
  });

  it('the Z report: Chinese alone in zh-CN; in English each label keeps its Chinese, as the receipt does', () => {
    const none = { count: 0, byCurrency: [] };
    const paid = { count: 2, byCurrency: [{ currency: 156, amount: 1250 }] };
    const r = {
      date: '2026-12-05',
      timeZone: 'Asia/Shanghai',
      state: 'open',
      sales: { done: paid, cancelled: none, unconfirmed: none, failed: none },
      topups: { loaded: none, byMethod: { cash: none, account: none, sync: none }, unfinished: none, failed: none },
      records: { pending: none, settled: paid, rejected: none, held: none },
      voids: { voided: none, signing: none, failed: none },
      refunds: { credited: none, pending: none, failed: none },
      bank: {
        checked: true,
        reconciliation: {
          lines: [{ currency: 156, host: { count: 2, amount: 1250 }, bank: { count: 2, amount: 1250 }, match: true }],
        },
      },
      late: [],
    } as unknown as ZReport;
    const zh = reportLines(r, 'zh-CN');
    assert.match(zh[0]!, /^日结报告 2026-12-05 \(Asia\/Shanghai\) — 未日结，数字还会变$/);
    assert.equal(zh[1], '  销售：成功 2 · ¥12.50；取消 0；未确认 0；失败 0');
    assert.match(zh.at(-1)!, /^ {2}银行对账 CNY：本机 2 笔 \/ ¥12\.50，银行 2 笔 \/ ¥12\.50 一致$/);
    for (const line of zh) assert.doesNotMatch(line.replace(/CNY|Asia\/Shanghai/g, ''), /[A-Za-z]{3,}/, line);
    const en = reportLines(r, 'en');
    assert.match(en[0]!, /^日结报告 Z report 2026-12-05 \(Asia\/Shanghai\) — 未日结 OPEN, figures still moving$/);
    assert.equal(en[1], '  销售 Sales: 成功 done 2 · ¥12.50; 取消 cancelled 0; 未确认 unconfirmed 0; 失败 failed 0');
  });

  it('--lang > CARDPOST_LANG > (the daemon) > the locale; a language it does not speak is a usage error', () => {
    assert.equal(parseLang('zh-CN'), 'zh-CN');
    assert.equal(parseLang('zh'), 'zh-CN');
    assert.equal(parseLang('EN'), 'en');
    assert.equal(parseLang('en-US'), 'en');
    assert.throws(
      () => parseLang('fr'),
      (e: unknown) => e instanceof CardpostError && e.code === 'CLI_USAGE' && /zh-CN, en/.test(e.hint),
    );
    assert.equal(chosenLang('en', { CARDPOST_LANG: 'zh-CN' }), 'en');
    assert.equal(chosenLang(undefined, { CARDPOST_LANG: 'zh-CN', LANG: 'en_US.UTF-8' }), 'zh-CN');
    assert.equal(chosenLang(undefined, { LANG: 'zh_CN.UTF-8' }), undefined, 'the locale does not beat the daemon');
    assert.throws(() => chosenLang(undefined, { CARDPOST_LANG: 'klingon' }), { code: 'CLI_USAGE' });
    assert.equal(localeLang({ LANG: 'zh_CN.UTF-8' }), 'zh-CN');
    assert.equal(localeLang({ LANG: 'C.UTF-8' }), 'en');
    assert.equal(localeLang({}), 'en');
    assert.equal(localeLang({ LANG: 'zh_CN.UTF-8', LC_ALL: 'en_GB.UTF-8' }), 'en', 'LC_ALL first');
    assert.equal(localeLang({ LANG: 'en_US.UTF-8', LC_MESSAGES: 'zh_TW.UTF-8' }), 'zh-CN');
    assert.equal(envLang({ CARDPOST_LANG: 'nope', LANG: 'zh_CN.UTF-8' }), 'zh-CN', 'the error printer never throws');
  });

  it("errors: the codes stay; zh-CN says the CLI's or the page's words for the code, else the kind's lead", () => {
    const funds = new CardpostError('CARD_INSUFFICIENT_FUNDS', 'SIGN_TXN: card answered INSUFFICIENT_FUNDS', 'x');
    assert.deepEqual(errorWords(funds, 'zh-CN'), {
      message: t('err.CARD_INSUFFICIENT_FUNDS', 'zh-CN'),
      hint: t('err.CARD_INSUFFICIENT_FUNDS.todo', 'zh-CN'),
    });
    assert.deepEqual(errorWords(funds, 'en'), { message: funds.message, hint: 'x' });
    const down = new CardpostError('DAEMON_UNREACHABLE', 'the daemon at http://x did not answer', 'check');
    assert.match(describeError(down, 'zh-CN'), /^DAEMON_UNREACHABLE: 收银服务没有响应 — .*cardpost daemon/);
    assert.doesNotMatch(describeError(down, 'zh-CN'), /本页/, "the CLI's words, not the page's (reload this page)");
    assert.equal(describeError(down, 'en'), down.describe());
    assert.equal(
      describeError(new UnknownLangError('xx'), 'zh-CN'),
      'CLI_USAGE: “xx”不是 cardpost 会说的语言 — 请从这些里选一个：zh-CN, en（--lang 或 CARDPOST_LANG）',
    );
    const worded = catalogueError(
      'CLI_DATE',
      'zh-CN',
      { key: 'cli.date.bad', params: { date: 'x' } },
      { key: 'cli.date.bad.todo' },
    );
    assert.match(describeError(worded, 'zh-CN'), /^CLI_DATE: “x”不是日期 — /, 'worded already: no kind lead before it');
    const odd = new CardpostError('SOMETHING_NEW', 'a new thing', 'do this');
    assert.equal(describeError(odd, 'zh-CN'), `SOMETHING_NEW: ${t('kind.fault', 'zh-CN')}a new thing — do this`);
  });
});

describe('cli language against a running daemon (real commands, in-process and as a process)', function () {
  this.timeout(30_000);
  let f: DaemonFixture;
  let saved: string | undefined;
  const dataDir = () => join(f.dir, 'data');
  async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(
      [...args, '--data-dir', dataDir()],
      { out: (l) => out.push(l), setExitCode: () => {} },
      (l) => err.push(l),
    );
    return { code, out, err };
  }

  before(async () => {
    saved = process.env.CARDPOST_LANG;
    delete process.env.CARDPOST_LANG; // the daemon's ui.language decides below unless --lang says
    f = await DaemonFixture.start({ config: { ui: { language: 'zh-CN' } } });
    const s = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 500 });
    assert.equal(s.status, 201, JSON.stringify(s.body));
    assert.equal((await f.waitForSale(s.body.saleId)).state, 'done');
  });
  after(async () => {
    if (saved === undefined) delete process.env.CARDPOST_LANG;
    else process.env.CARDPOST_LANG = saved;
    await f?.stop();
  });

  it("`sales`: in the daemon's zh-CN by default, in English with --lang en or CARDPOST_LANG=en", async () => {
    const zh = await cli(['sales']);
    assert.equal(zh.code, 0, zh.err.join('\n'));
    assert.match(zh.out[0]!, /^\d{4}-\d\d-\d\d（UTC）：1 笔收款$/);
    assert.match(zh.out[1]!, /¥5\.00 {2}卡 …[0-9A-F]{4} {2}已付款/);
    const en = await cli(['sales', '--lang', 'en']);
    assert.match(en.out[0]!, /^\d{4}-\d\d-\d\d \(UTC\): 1 sale$/);
    assert.match(en.out[1]!, /¥5\.00 {2}card …[0-9A-F]{4} {2}done/);
    process.env.CARDPOST_LANG = 'en';
    try {
      assert.deepEqual((await cli(['sales'])).out, en.out);
      assert.deepEqual((await cli(['--lang', 'zh-CN', 'sales'])).out, zh.out, '--lang beats CARDPOST_LANG');
    } finally {
      delete process.env.CARDPOST_LANG;
    }
  });

  it('close --dry-run, reconcile, queue and card info speak Chinese; --json is the same in both languages', async () => {
    const z = await cli(['close', '--dry-run', '--lang', 'zh-CN']);
    assert.equal(z.code, 0, z.err.join('\n'));
    assert.match(z.out[0]!, /^日结报告 \d{4}-\d\d-\d\d \(UTC\) — 未日结/);
    assert.ok(
      z.out.some((l) => l.includes('成功 1 · ¥5.00')),
      z.out.join('\n'),
    );
    assert.ok(!z.out.join('\n').includes('Z report'));
    const q = await cli(['queue', '--lang', 'zh-CN']);
    assert.match(q.out[1]!, /(^|，)待结算 \d+(，|$)/);
    assert.match(q.out[1]!, /(^|，)已结算 \d+(，|$)/);
    const card = await cli(['card', 'info', '--lang', 'zh-CN']);
    assert.equal(card.code, 0, card.err.join('\n'));
    assert.ok(card.out.includes('状态：正常'), card.out.join('\n'));
    assert.ok(
      card.out.some((l) => /^余额 ¥[\d.]+，交易计数 \d+，密码还可试 \d+ 次$/.test(l)),
      card.out.join('\n'),
    );
    const rec = await cli(['reconcile', '--lang', 'zh-CN']);
    assert.match(rec.out.join('\n'), /本机与银行一致|本机 \d+ 笔/);
    for (const args of [['sales'], ['close', '--dry-run'], ['queue'], ['card', 'info']]) {
      const a = await cli([...args, '--json', '--lang', 'zh-CN']);
      const b = await cli([...args, '--json', '--lang', 'en']);
      assert.deepEqual(JSON.parse(a.out.join('\n')), JSON.parse(b.out.join('\n')), args.join(' '));
      assert.doesNotMatch(a.out.join('\n'), HAN, `${args.join(' ')} --json has no Chinese`);
    }
  });

  it('errors: a bad date and no daemon in Chinese with their codes and exit codes', async () => {
    const bad = await cli(['sales', '--date', '2026-13-45', '--lang', 'zh-CN']);
    assert.equal(bad.code, 2);
    assert.match(bad.err.join('\n'), /^cardpost: CLI_DATE: “2026-13-45”不是日期 — 请按 年-月-日 写/);
    const out: string[] = [];
    const err: string[] = [];
    const none = await runCli(
      ['sales', '--lang', 'zh-CN', '--data-dir', join(f.dir, 'no-such-dir')],
      { out: (l) => out.push(l), setExitCode: () => {} },
      (l) => err.push(l),
    );
    assert.equal(none, 3);
    assert.match(err.join('\n'), /^cardpost: DAEMON_NOT_RUNNING: 收银服务没有在运行 — /);
  });

  it('as a process: CARDPOST_LANG=zh-CN speaks Chinese; --lang xx is a usage error naming zh-CN and en', async () => {
    const zh = await runCardpost(['sales', '--data-dir', dataDir()], undefined, { CARDPOST_LANG: 'zh-CN' });
    assert.equal(zh.code, 0, zh.stderr);
    assert.match(zh.stdout, /：1 笔收款\n/);
    const en = await runCardpost(['sales', '--data-dir', dataDir()]); // test/support/cli.ts: English
    assert.match(en.stdout, /: 1 sale\n/);
    const xx = await runCardpost(['sales', '--lang', 'xx', '--data-dir', dataDir()]);
    assert.equal(xx.code, 2);
    assert.equal(xx.stdout, '');
    assert.match(xx.stderr, /^cardpost: CLI_USAGE: "xx" is not a language cardpost speaks — choose one of: zh-CN, en/);
  });
});
