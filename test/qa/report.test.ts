import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RunResult, ScenarioResult } from '../../device-sim/qa/qa-types.js';
import {
  htmlReport,
  junitXml,
  stepLogJson,
  stepLogWithoutTimings,
  writeReports,
  type StepLog,
} from '../../device-sim/qa/report/index.js';
import { CHROMIUM, assertAccessible, launchChromium, screenshot, watch } from '../ui/browser.js';
import { requireSystem, which } from '../support/system.js';

/**
 * The QA runner's reports, from a RunResult built by hand: junit.xml is well-formed XML with the right
 * counts and valid against the JUnit schemas CI tools follow, steps.json replays without its timings,
 * report.html shows every step and screenshot and escapes every outside text.
 */

/** A 4 × 2 green PNG (73 bytes). */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAQAAAACCAIAAADwyuo0AAAAEElEQVR4nGOQqjeHIwZkDgBTsgaBcavZ4AAAAABJRU5ErkJggg==',
  'base64',
);
const HOSTILE = `<script>alert("x")</script> & "PIN" 'blocked' <img src=x onerror=alert(1)>`;
const CONTROL = 'line\u0000noise\u0001\u001b[31m\uffff\ud800]]>';

function passing(): ScenarioResult {
  return {
    file: 'scenarios/card-pulled.yaml',
    name: 'Card pulled mid-sign',
    seed: 7,
    status: 'passed',
    startedAt: '2026-12-06T10:00:00.250Z',
    durationMs: 4200,
    steps: [
      {
        path: '1',
        kind: 'insert',
        params: { reader: 'r1', card: 'alice' },
        status: 'passed',
        startedMs: 10,
        durationMs: 300,
      },
      {
        path: '2',
        kind: 'pullDuring',
        params: { reader: 'r1', command: 'SIGN_TXN' },
        status: 'passed',
        startedMs: 320,
        durationMs: 5,
      },
      {
        path: '3',
        kind: 'sale',
        params: { reader: 'r1', amount: '12.50', pins: ['1234'], nonce: new Uint8Array([1, 2, 255]) },
        status: 'passed',
        result: { outcome: 'unconfirmed', counter: 1n },
        startedMs: 330,
        durationMs: 1900,
      },
      { path: '4.1.1', kind: 'wait', params: { ms: 100 }, status: 'passed', startedMs: 2240, durationMs: 100 },
      { path: '4.2.1', kind: 'wait', params: { ms: 100 }, status: 'passed', startedMs: 2350, durationMs: 100 },
      {
        path: '5',
        kind: 'screenshot',
        params: { label: '请输入密码 PIN prompt' },
        status: 'passed',
        startedMs: 2460,
        durationMs: 400,
      },
    ],
    timeline: [
      { t: 12, source: 'runner', text: 'insert alice into r1' },
      { t: 40, source: 'reader:r1', text: 'card present' },
      { t: 400, source: 'daemon', text: 'sale.state pin' },
      { t: 420, source: 'display', text: '请输入密码 · Enter your PIN' },
      { t: 900, source: 'card:alice', text: 'SIGN_TXN' },
      { t: 905, source: 'reader:r1', text: 'card pulled during SIGN_TXN' },
      { t: 2100, source: 'bank', text: 'batch 1: 1 accepted' },
    ],
    screenshots: [{ label: '请输入密码 PIN prompt', stepPath: '5', png: PNG }],
  };
}

function failing(): ScenarioResult {
  return {
    file: 'scenarios/<b>evil</b>.yaml',
    name: HOSTILE,
    seed: 42,
    status: 'failed',
    startedAt: '2026-12-06T10:00:05.000Z',
    durationMs: 2500,
    steps: [
      {
        path: '1',
        kind: 'sale',
        params: { amount: '150.00', pins: ['0000', '0000', '0000'], note: HOSTILE },
        status: 'failed',
        result: { outcome: 'refused', code: 'PIN_BLOCKED' },
        failure: {
          message: `step 1 (sale): expected outcome paid, got refused (PIN_BLOCKED) ${HOSTILE}`,
          expected: { outcome: 'paid' },
          actual: { outcome: 'refused', code: 'PIN_BLOCKED', display: CONTROL },
        },
        startedMs: 5,
        durationMs: 1800,
      },
      {
        path: '2',
        kind: 'check',
        params: { bank: { records: 1 } },
        status: 'error',
        failure: { message: 'QA_BANK_UNREACHABLE: the simulated bank did not answer' },
        startedMs: 1810,
        durationMs: 600,
      },
      { path: '3', kind: 'settle', params: {}, status: 'skipped', startedMs: 2410, durationMs: 0 },
    ],
    timeline: [
      { t: 100, source: 'display', text: `密码错误，还剩 0 次 ${HOSTILE}` },
      { t: 200, source: `card:${HOSTILE}`, text: CONTROL },
      { t: 1500, source: 'daemon', text: 'sale.error PIN_BLOCKED' },
    ],
    screenshots: [
      { label: `blocked ${HOSTILE}`, stepPath: '1', png: PNG },
      { label: 'not an image', stepPath: '1', png: new TextEncoder().encode('<svg onload=alert(1)>') },
    ],
  };
}

function sampleRun(): RunResult {
  return {
    startedAt: '2026-12-06T10:00:00.000Z',
    durationMs: 7000,
    seedOverride: undefined,
    scenarios: [passing(), failing()],
  };
}

// ---- a small XML 1.0 reader: enough to prove well-formedness and read back what was written ----

interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

const XML_CHAR = /^[\t\n\r\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]*$/u;

function decodeEntities(s: string, where: string): string {
  return s.replace(/&([^;]*);?/g, (m, ref: string) => {
    assert.ok(m.endsWith(';'), `${where}: a bare & in "${s.slice(0, 80)}"`);
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (ref in named) return named[ref]!;
    const n = /^#x[0-9a-f]+$/i.test(ref) ? parseInt(ref.slice(2), 16) : /^#\d+$/.test(ref) ? Number(ref.slice(1)) : NaN;
    assert.ok(Number.isFinite(n), `${where}: unknown entity &${ref};`);
    const c = String.fromCodePoint(n);
    assert.ok(XML_CHAR.test(c), `${where}: &${ref}; is not an XML character`);
    return c;
  });
}

function parseXml(xml: string): XmlNode {
  assert.ok(XML_CHAR.test(xml), 'only XML 1.0 characters');
  let rest = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const root: XmlNode = { name: '#root', attrs: {}, children: [], text: '' };
  const stack = [root];
  while (rest.length > 0) {
    const top = stack[stack.length - 1]!;
    const lt = rest.indexOf('<');
    const text = lt < 0 ? rest : rest.slice(0, lt);
    assert.ok(!text.includes(']]>'), 'no "]]>" in text');
    top.text += decodeEntities(text, `text in <${top.name}>`);
    if (lt < 0) break;
    rest = rest.slice(lt);
    const close = /^<\/([A-Za-z][\w.-]*)\s*>/.exec(rest);
    if (close) {
      assert.equal(close[1], top.name, `</${close[1]}> closes <${top.name}>`);
      stack.pop();
      rest = rest.slice(close[0].length);
      continue;
    }
    const open = /^<([A-Za-z][\w.-]*)((?:\s+[A-Za-z][\w.:-]*\s*=\s*"[^"<]*")*)\s*(\/?)>/.exec(rest);
    assert.ok(open, `a well-formed tag at "${rest.slice(0, 60)}"`);
    const node: XmlNode = { name: open[1]!, attrs: {}, children: [], text: '' };
    for (const a of open[2]!.matchAll(/([A-Za-z][\w.:-]*)\s*=\s*"([^"]*)"/g)) {
      assert.ok(!(a[1]! in node.attrs), `attribute ${a[1]} once on <${node.name}>`);
      node.attrs[a[1]!] = decodeEntities(a[2]!, `${node.name}@${a[1]}`);
    }
    top.children.push(node);
    if (open[3] !== '/') stack.push(node);
    rest = rest.slice(open[0].length);
  }
  assert.equal(stack.length, 1, `every element closed (open: ${stack.map((n) => n.name).join(' > ')})`);
  assert.equal(root.children.length, 1, 'one root element');
  return root.children[0]!;
}

const kids = (n: XmlNode, name: string): XmlNode[] => n.children.filter((c) => c.name === name);

describe('QA reports (junit.xml, steps.json, report.html)', () => {
  describe('junit.xml', () => {
    it('is well-formed, one testsuite per scenario with the right counts', () => {
      const root = parseXml(junitXml(sampleRun()));
      assert.equal(root.name, 'testsuites');
      const [a, b] = kids(root, 'testsuite');
      assert.ok(a && b && kids(root, 'testsuite').length === 2);
      assert.deepEqual(
        [a.attrs.tests, a.attrs.failures, a.attrs.errors, a.attrs.skipped, a.attrs.time],
        ['6', '0', '0', '0', '4.200'],
      );
      assert.deepEqual([b.attrs.tests, b.attrs.failures, b.attrs.errors, b.attrs.skipped], ['3', '1', '1', '1']);
      assert.equal(a.attrs.name, 'scenarios/card-pulled.yaml');
      assert.equal(a.attrs.timestamp, '2026-12-06T10:00:00');
      assert.equal(b.attrs.name, 'scenarios/<b>evil</b>.yaml', 'the file name reads back exactly');
      const cases = kids(b, 'testcase');
      assert.deepEqual(
        cases.map((c) => c.attrs.name),
        ['1 sale', '2 check', '3 settle'],
      );
      assert.ok(
        cases.every((c) => c.attrs.classname === HOSTILE),
        'classname is the scenario name, read back exactly',
      );
      const failure = kids(cases[0]!, 'failure')[0]!;
      assert.equal(failure.attrs.type, 'expectation');
      assert.ok(failure.attrs.message!.startsWith('step 1 (sale): expected outcome paid'));
      assert.match(failure.text, /expected: \{\n {2}"outcome": "paid"/);
      assert.match(failure.text, /device events during the step:/);
      assert.equal(kids(cases[1]!, 'error')[0]!.attrs.type, 'step-error');
      assert.equal(kids(cases[2]!, 'skipped').length, 1);
      assert.match(kids(a, 'system-out')[0]!.text, /\s+900 ms {2}card:alice {2}SIGN_TXN/);
      assert.equal(kids(a, 'properties')[0]!.children.find((p) => p.attrs.name === 'seed')!.attrs.value, '7');
    });

    it('replaces characters XML 1.0 forbids and keeps newlines in attributes', () => {
      const run = sampleRun();
      run.scenarios[1]!.steps[0]!.failure!.message = `two\nlines\tand ${CONTROL}`;
      const xml = junitXml(run);
      assert.ok(!/[\u0000\u0001\u001b\uffff]/.test(xml), 'no forbidden character in the output');
      assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(xml), 'no lone surrogate');
      const failure = kids(kids(kids(parseXml(xml), 'testsuite')[1]!, 'testcase')[0]!, 'failure')[0]!;
      assert.equal(failure.attrs.message, 'two\nlines\tand line\\u0000noise\\u0001\\u001b[31m\\uffff\\ud800]]>');
    });

    it('a scenario that broke without a failed step is not green in CI', () => {
      const broke: ScenarioResult = {
        ...passing(),
        status: 'error',
        steps: [],
        screenshots: [],
        error: { code: 'QA_STACK_FAILED', message: 'pcscd did not start', hint: 'install pcscd' },
      };
      const failedAtEnd: ScenarioResult = { ...passing(), status: 'failed' };
      const root = parseXml(junitXml({ ...sampleRun(), scenarios: [broke, failedAtEnd] }));
      const [x, y] = kids(root, 'testsuite');
      assert.deepEqual([x!.attrs.tests, x!.attrs.errors], ['1', '1']);
      const err = kids(kids(x!, 'testcase')[0]!, 'error')[0]!;
      assert.deepEqual([err.attrs.type, err.attrs.message], ['QA_STACK_FAILED', 'pcscd did not start']);
      assert.match(kids(x!, 'system-err')[0]!.text, /QA_STACK_FAILED: pcscd did not start\ninstall pcscd/);
      assert.deepEqual([y!.attrs.tests, y!.attrs.failures], ['7', '1']);
    });

    it('is valid against the Windy Road (Ant) and Jenkins xUnit JUnit schemas', function () {
      requireSystem(this, which('xmllint') ? [] : ['xmllint'], 'apt-get install libxml2-utils');
      const dir = mkdtempSync(join(tmpdir(), 'qa-junit-'));
      try {
        const file = join(dir, 'junit.xml');
        const run = sampleRun();
        run.scenarios.push({
          ...passing(),
          status: 'error',
          steps: [],
          error: { code: 'X', message: CONTROL, hint: '' },
        });
        writeFileSync(file, junitXml(run, { hostname: 'ci-agent-1' }));
        for (const xsd of ['windyroad-junit.xsd', 'jenkins-xunit-junit-10.xsd']) {
          const schema = join(process.cwd(), 'test/vectors/junit', xsd);
          execFileSync('xmllint', ['--noout', '--schema', schema, file], { stdio: 'pipe' });
        }
        // The check can fail: a testsuite without its timestamp is refused by the strict schema.
        writeFileSync(file, junitXml(run).replace(/ timestamp="[^"]*"/, ''));
        assert.throws(() =>
          execFileSync('xmllint', ['--noout', '--schema', 'test/vectors/junit/windyroad-junit.xsd', file], {
            stdio: 'pipe',
          }),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('steps.json', () => {
    it('has its format and version, every step with timings, and no inline image', () => {
      const text = stepLogJson(sampleRun());
      const doc = JSON.parse(text) as StepLog;
      assert.equal(doc.format, 'cardpost-qa-steps');
      assert.equal(doc.version, 1);
      assert.equal(doc.run.seedOverride, null);
      assert.deepEqual(doc.run.totals, {
        scenarios: 2,
        passed: 1,
        failed: 1,
        error: 0,
        steps: 9,
        stepsPassed: 6,
        stepsFailed: 1,
        stepsError: 1,
        stepsSkipped: 1,
      });
      const sale = doc.scenarios[0]!.steps[2]!;
      assert.deepEqual(sale.params, { reader: 'r1', amount: '12.50', pins: ['1234'], nonce: '0102ff' });
      assert.deepEqual(sale.result, { outcome: 'unconfirmed', counter: '1' });
      assert.deepEqual([sale.startedMs, sale.durationMs], [330, 1900]);
      assert.deepEqual(doc.scenarios[1]!.screenshots[1], {
        label: 'not an image',
        stepPath: '1',
        file: 'screenshots/2-1-2.png',
      });
      assert.ok(!text.includes(PNG.toString('base64')), 'no screenshot inline');
    });

    it('two runs with one seed give equal logs once timings are removed; a different result does not', () => {
      const a = sampleRun();
      const b = sampleRun();
      b.startedAt = '2026-12-07T11:00:00.000Z';
      b.durationMs = 9999;
      for (const s of b.scenarios) {
        s.startedAt = b.startedAt;
        s.durationMs += 123;
        for (const st of s.steps) {
          st.startedMs += 17;
          st.durationMs *= 2;
        }
        for (const e of s.timeline) e.t += 31;
      }
      assert.notEqual(stepLogJson(a), stepLogJson(b));
      assert.deepEqual(stepLogWithoutTimings(stepLogJson(a)), stepLogWithoutTimings(stepLogJson(b)));
      assert.deepEqual(
        stepLogWithoutTimings(stepLogJson(a), { timeline: true }),
        stepLogWithoutTimings(stepLogJson(b), { timeline: true }),
      );
      b.scenarios[0]!.steps[2]!.result = { outcome: 'paid' };
      assert.notDeepEqual(stepLogWithoutTimings(stepLogJson(a)), stepLogWithoutTimings(stepLogJson(b)));
    });

    it('refuses a document that is not a step log (QA_REPORT_FORMAT)', () => {
      for (const bad of [
        'not json',
        '{"format":"other","version":1}',
        '{"format":"cardpost-qa-steps","version":2}',
        '[]',
      ]) {
        assert.throws(
          () => stepLogWithoutTimings(bad),
          (e: Error & { code?: string; hint?: string }) => e.code === 'QA_REPORT_FORMAT' && !!e.hint,
          bad,
        );
      }
    });
  });

  describe('report.html', () => {
    it('escapes outside text (a <script>-bearing scenario name, device lines, labels)', () => {
      const page = htmlReport(sampleRun());
      assert.ok(!page.includes('<script'), 'no script element');
      assert.ok(!/<img src=x/i.test(page), 'no injected img');
      assert.ok(!page.includes('<b>evil'), 'the file name is not markup');
      assert.ok(
        page.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;PIN&quot; &#39;blocked&#39;'),
      );
      assert.ok(!page.includes('\u0000') && !page.includes('\u001b'), 'control characters made visible');
      assert.ok(page.includes('line\\u0000noise\\u0001'));
      assert.match(page, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:;/);
    });

    it('is one self-contained UTF-8 page with every step, the summary and the screenshots inline', () => {
      const run = sampleRun();
      const page = htmlReport(run);
      assert.match(page, /^<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">/);
      assert.ok(page.includes(`data:image/png;base64,${PNG.toString('base64')}`), 'the screenshot as a data: URI');
      assert.equal(page.match(/<img /g)?.length, 2, 'two PNGs shown; the non-PNG is not put in an <img>');
      assert.ok(page.includes('Not a PNG image (21 bytes)'));
      for (const s of run.scenarios)
        for (const st of s.steps) assert.ok(page.includes(`>${st.path}</td>`), `step ${st.path} of ${s.file}`);
      assert.ok(page.includes('<span lang="zh-CN">请输入密码 PIN prompt</span>'), 'Chinese text marked as such');
      assert.ok(!/(src|href)="(https?:)?\/\//.test(page), 'nothing fetched from anywhere');
      assert.ok(page.includes('1 of 2 scenarios did not pass'));
      assert.equal(page.match(/<svg /g)?.length, 2, 'one timeline per scenario');
    });
    it('a long scenario stays readable: rows, bands and marks are capped, a failed step is always shown', () => {
      const long: ScenarioResult = { ...passing(), status: 'failed', screenshots: [] };
      long.steps = Array.from({ length: 6000 }, (_, i) => ({
        path: `4.${i + 1}.1`,
        kind: 'sale',
        params: { amount: '1.00' },
        status: i === 5999 ? ('failed' as const) : ('passed' as const),
        ...(i === 5999 ? { failure: { message: 'the last sale was refused' } } : {}),
        startedMs: i * 10,
        durationMs: 9,
      }));
      long.timeline = Array.from({ length: 20_000 }, (_, i) => ({
        t: i * 3,
        source: `card:c${i % 5}`,
        text: 'GET_INFO',
      }));
      const page = htmlReport({ ...sampleRun(), scenarios: [long] });
      assert.ok(
        page.includes('>4.6000.1</td>') && page.includes('the last sale was refused'),
        'the failed step is shown',
      );
      assert.ok(!page.includes('>4.2001.1</td>'), 'passed rows beyond the cap are left to steps.json');
      assert.ok(page.includes('3999 more passed or skipped steps are in steps.json'));
      assert.ok(page.length < 3_000_000, `the page stays small (${page.length} characters)`);
    });

    it('a run of no scenarios says so, in neither green nor red', () => {
      const page = htmlReport({ ...sampleRun(), scenarios: [] });
      assert.ok(page.includes('<div class="verdict none">No scenarios were run</div>'));
      assert.equal(parseXml(junitXml({ ...sampleRun(), scenarios: [] })).children.length, 0);
    });
  });

  describe('writeReports', () => {
    let dir = '';
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'qa-report-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('writes junit.xml, steps.json, report.html and the screenshots steps.json names', () => {
      const out = join(dir, 'reports', 'run-1');
      const paths = writeReports(sampleRun(), out);
      assert.deepEqual(paths, {
        junit: join(out, 'junit.xml'),
        json: join(out, 'steps.json'),
        html: join(out, 'report.html'),
      });
      for (const p of Object.values(paths)) assert.ok(existsSync(p), p);
      const doc = JSON.parse(readFileSync(paths.json, 'utf8')) as StepLog;
      const shots = doc.scenarios.flatMap((s) => s.screenshots.map((x) => x.file));
      assert.deepEqual(shots, ['screenshots/1-5-1.png', 'screenshots/2-1-1.png', 'screenshots/2-1-2.png']);
      assert.deepEqual(readFileSync(join(out, shots[0]!)), PNG);
    });

    it('a screenshot file name takes nothing but digits and dots from the step path', () => {
      const run = sampleRun();
      run.scenarios[0]!.screenshots[0]!.stepPath = '../../../tmp/x';
      const doc = JSON.parse(readFileSync(writeReports(run, dir).json, 'utf8')) as StepLog;
      assert.equal(doc.scenarios[0]!.screenshots[0]!.file, 'screenshots/1-.._.._..______-1.png');
      assert.ok(existsSync(join(dir, 'screenshots', '1-.._.._..______-1.png')), 'written inside the report directory');
    });

    it('a directory it cannot write is QA_REPORT_WRITE_FAILED with a hint', () => {
      const file = join(dir, 'a-file');
      writeFileSync(file, 'x');
      assert.throws(
        () => writeReports(sampleRun(), join(file, 'out')),
        (e: Error & { code?: string; hint?: string }) =>
          e.code === 'QA_REPORT_WRITE_FAILED' && /directory/.test(e.hint ?? ''),
      );
    });
  });

  describe('report.html in Chromium', function () {
    this.timeout(60_000);
    before(function () {
      requireSystem(this, existsSync(CHROMIUM) ? [] : ['chromium'], 'apt-get install chromium');
    });

    it('renders without console errors, runs no script, shows the hostile name as text, passes axe', async () => {
      const browser = await launchChromium();
      const dir = mkdtempSync(join(tmpdir(), 'qa-report-ui-'));
      try {
        // A customer-display-like screenshot, so the page is looked at with a real one in it.
        const display = await browser.newPage({ viewport: { width: 480, height: 270 } });
        await display.setContent(
          '<body style="margin:0;background:#000;color:#fff;font:48px sans-serif;display:grid;place-items:center;height:100vh">' +
            '<div lang="zh-CN">请输入密码<br><small style="font-size:28px">Enter your PIN · ¥150.00</small></div></body>',
        );
        const run = sampleRun();
        run.scenarios[0]!.screenshots[0]!.png = await display.screenshot();
        const { html: file } = writeReports(run, dir);

        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const w = await watch(page);
        const dialogs: string[] = [];
        page.on('dialog', (d) => {
          dialogs.push(d.message());
          void d.dismiss();
        });
        await page.goto(pathToFileURL(file).href);
        assert.equal(await page.locator('script').count(), 0, 'no script element in the DOM');
        assert.ok((await page.locator('h2').nth(1).textContent())!.includes(HOSTILE), 'the name is shown as text');
        const widths = await page
          .locator('figure img')
          .evaluateAll((imgs) => imgs.map((i) => (i as unknown as { naturalWidth: number }).naturalWidth));
        assert.deepEqual(widths, [480, 4], 'both PNGs decoded');
        await assertAccessible(page, 'qa-report');
        await screenshot(page, 'qa-report');
        assert.deepEqual(dialogs, [], 'no alert ran');
        assert.deepEqual(w.problems, [], 'no page error or CSP violation');
        assert.deepEqual(
          w.console.filter((m) => m.startsWith('error')),
          [],
          'no console error',
        );
      } finally {
        await browser.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
