import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile, loadScenarios, MAX_SCENARIO_BYTES } from '../../device-sim/qa/load.js';
import { ScenarioInvalidError, type ScenarioIssue } from '../../device-sim/qa/qa-errors.js';
import { renderScenarioJsonSchema, SCENARIO_JSON_SCHEMA_PATH } from '../../device-sim/qa/scenario-json-schema.js';
import { docsExample } from './docs-example.js';

/** Scenario files: what loads, and every kind of bad file refused as QA_SCENARIO_INVALID at file:line:col. */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cardpost-qa-load-'));
let n = 0;
function file(text: string, ext = 'yaml'): string {
  const path = join(dir, `s${++n}.${ext}`);
  writeFileSync(path, text);
  return path;
}

const GOOD = `# yaml-language-server: $schema=./scenario.schema.json
name: a good one
devices:
  cards:
    - id: alice
  readers:
    - id: r1
      medium: serial
      card: alice
steps:
  - sale: { reader: r1, amount: "12.50", as: first, wait: false }
  - finish: { sale: first, expect: { outcome: paid } }
`;

/** The one issue of a bad file (the test names what it expects). */
function issuesOf(text: string, ext = 'yaml'): ScenarioIssue[] {
  const path = file(text, ext);
  try {
    loadScenarioFile(path);
  } catch (e) {
    assert.ok(e instanceof ScenarioInvalidError, String(e));
    assert.equal(e.code, 'QA_SCENARIO_INVALID');
    assert.ok(e.message.includes(path), 'the message names the file');
    return [...e.issues];
  }
  assert.fail('the file loaded');
}

function only(text: string, ext = 'yaml'): ScenarioIssue {
  const issues = issuesOf(text, ext);
  assert.equal(issues.length, 1, JSON.stringify(issues));
  return issues[0]!;
}

const good = (replace: [string, string]) => GOOD.replace(...replace);

describe('QA scenario files: loading', () => {
  it('loads YAML with the defaults filled in', () => {
    const { scenario } = loadScenarioFile(file(GOOD));
    assert.equal(scenario.name, 'a good one');
    assert.equal(scenario.seed, 1);
    assert.equal(scenario.devices.cards[0]!.balance, '500.00');
    assert.equal(scenario.devices.cards[0]!.pin, '1234');
    assert.deepEqual(scenario.steps[0], { sale: { reader: 'r1', amount: '12.50', as: 'first', wait: false } });
  });

  it('loads JSON', () => {
    const json = JSON.stringify({
      name: 'json',
      seed: 9,
      devices: { cards: [{ id: 'bob' }], readers: [{ id: 'k', medium: 'hid', card: 'bob' }] },
      steps: [{ sale: { reader: 'k', amount: { random: ['1.00', '2.00'] } } }, { daemon: 'restart' }],
    });
    const { scenario } = loadScenarioFile(file(json, 'json'));
    assert.equal(scenario.seed, 9);
    assert.deepEqual(scenario.steps[1], { daemon: 'restart' });
  });

  it('a directory stands for its .yaml/.yml/.json files sorted, without scenario.schema.json', () => {
    const d = mkdtempSync(join(tmpdir(), 'cardpost-qa-dir-'));
    writeFileSync(join(d, 'b.yml'), GOOD);
    writeFileSync(join(d, 'a.yaml'), GOOD);
    writeFileSync(join(d, 'scenario.schema.json'), '{}');
    writeFileSync(join(d, 'notes.txt'), 'not a scenario');
    assert.deepEqual(
      loadScenarios([d]).map((l) => l.file),
      [join(d, 'a.yaml'), join(d, 'b.yml')],
    );
  });
});

describe('QA scenario files: every kind of bad file is QA_SCENARIO_INVALID at file:line:col, naming the field', () => {
  it('YAML that does not parse', () => {
    const i = only('name: x\ndevices: [\n');
    assert.ok(i.line >= 2, `line ${i.line}`);
    assert.match(i.message, /not valid YAML/);
  });

  it('a duplicated key', () => {
    const i = only(GOOD.replace('name: a good one', 'name: a\nname: b'));
    assert.equal(i.line, 3);
    assert.match(i.message, /not valid YAML.*unique/i);
  });

  it('JSON that does not parse', () => {
    const i = only('{\n  "name": "x",\n  "steps": [,]\n}', 'json');
    assert.equal(i.line, 3);
    assert.match(i.message, /not JSON/);
  });

  it('a value out of its form says what is allowed and what it got', () => {
    const i = only(good(['amount: "12.50"', 'amount: "12,50"']));
    assert.deepEqual([i.line, i.column, i.field], [11, 33, 'steps[0].sale.amount']);
    assert.match(i.message, /an amount like "12\.50".*got "12,50"/);
  });

  it('an unknown field points at its key and lists the allowed ones', () => {
    const i = only(good(['      card: alice', '      card: alice\n      colour: red']));
    assert.deepEqual([i.line, i.column, i.field], [10, 7, 'devices.readers[0].colour']);
    assert.match(i.message, /unknown field "colour"; allowed here: id, medium, card, lineFaults/);
  });

  it('an unknown enum value lists the allowed ones', () => {
    const i = only(good(['medium: serial', 'medium: usb']));
    assert.equal(i.field, 'devices.readers[0].medium');
    assert.match(i.message, /"pcsc"\|"serial"\|"hid"/);
  });

  it('an unknown step names the step kinds', () => {
    const i = only(good(['  - finish:', '  - finnish:']));
    assert.deepEqual([i.line, i.field], [12, 'steps[1].finnish']);
    assert.match(i.message, /unknown step "finnish"; allowed: sale, finish/);
  });

  it('a step with two keys', () => {
    const i = only(
      good([
        '  - finish: { sale: first, expect: { outcome: paid } }',
        '  - { wait: { ms: 1 }, remove: { reader: r1 } }',
      ]),
    );
    assert.equal(i.field, 'steps[1]');
    assert.match(i.message, /one key.*found "wait", "remove"/);
  });

  it('a bad field deep in a repeat', () => {
    const i = only(
      good([
        '  - finish:',
        '  - repeat:\n      times: 2\n      steps:\n        - remove: { reader: r1, fast: true }\n  - finish:',
      ]),
    );
    assert.deepEqual([i.line, i.field], [15, 'steps[1].repeat.steps[0].remove.fast']);
  });

  it('a missing required field', () => {
    const i = only(good(['name: a good one\n', '']));
    assert.equal(i.field, 'name');
    assert.equal(i.message, 'required: give a string');
  });

  it('cross-references: a reader, card or sale label that is not declared', () => {
    const issues = issuesOf(
      GOOD.replace('card: alice', 'card: bob')
        .replace('reader: r1', 'reader: r2')
        .replace('sale: first, expect', 'sale: second, expect'),
    );
    assert.deepEqual(
      issues.map((i) => i.field),
      ['devices.readers[0].card', 'steps[0].sale.reader', 'steps[1].finish.sale'],
    );
    assert.match(issues[0]!.message, /no card "bob" in devices \(declared: alice\)/);
    assert.equal(issues[1]!.line, 11);
  });

  it('cross-references: finish of a sale that was waited for; a HID key without its card; line noise on a HID key', () => {
    const issues = issuesOf(
      GOOD.replace('wait: false', 'wait: true')
        .replace('medium: serial\n      card: alice', 'medium: hid')
        .replace('  - finish:', '  - lineNoise: { reader: r1, send: { flip: 0.1 } }\n  - finish:'),
    );
    assert.deepEqual(
      issues.map((i) => i.field),
      ['devices.readers[0]', 'steps[1].lineNoise.reader', 'steps[2].finish.sale'],
    );
    assert.match(issues[2]!.message, /wait: false/);
  });

  it('cross-references: a HID key takes back only its own card', () => {
    const i = only(
      GOOD.replace('    - id: alice\n', '    - id: alice\n    - id: bob\n')
        .replace('medium: serial\n      card: alice', 'medium: hid\n      card: alice')
        .replace('  - finish:', '  - insert: { reader: r1, card: bob }\n  - finish:'),
    );
    assert.equal(i.field, 'steps[1].insert.card');
    assert.match(i.message, /HID key, which is card "alice"/);
  });

  it('limits: a file over the size limit, repeats that unroll too far, and alias bombs', () => {
    const big = only(GOOD + `# ${'x'.repeat(MAX_SCENARIO_BYTES)}\n`);
    assert.match(big.message, /at most 1048576/);
    const deep = only(
      good([
        '  - finish:',
        '  - repeat: { times: 1000, steps: [ { repeat: { times: 1000, steps: [ { wait: { ms: 0 } } ] } } ] }\n  - finish:',
      ]),
    );
    assert.equal(deep.field, 'steps');
    assert.match(deep.message, /1000002 steps.*at most 100000/);
    let bomb = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n';
    for (let i = 0; i < 12; i++)
      bomb += `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
        .fill(`*${String.fromCharCode(97 + i)}`)
        .join(',')}]\n`;
    assert.match(only(bomb).message, /alias|not usable YAML|not valid YAML/i);
  });

  it('a file that is not there, or not a scenario file by its name', () => {
    assert.match(only.call(null, GOOD, 'txt').message, /\.yaml, \.yml or \.json/);
    assert.throws(() => loadScenarios([join(dir, 'missing.yaml')]), /missing\.yaml:0:0: no such file/);
  });

  it('every problem of every file in one error, before anything runs', () => {
    const a = file(good(['amount: "12.50"', 'amount: "x"']));
    const b = file(good(['name: a good one', 'name: ""']));
    try {
      loadScenarios([a, file(GOOD), b]);
      assert.fail('loaded');
    } catch (e) {
      assert.ok(e instanceof ScenarioInvalidError);
      assert.deepEqual(
        e.issues.map((i) => i.file),
        [a, b],
      );
    }
  });
});

describe('QA scenario files: the published JSON Schema and the docs', () => {
  it('the worked example of docs/qa.md loads', () => {
    const { scenario } = loadScenarioFile(file(docsExample()));
    assert.equal(scenario.name, 'offline sales settle once the bank is back');
  });

  it(`${SCENARIO_JSON_SCHEMA_PATH} is what the zod schema gives (node --import tsx scripts/gen-qa-schema.ts)`, () => {
    const committed = readFileSync(join(ROOT, SCENARIO_JSON_SCHEMA_PATH), 'utf8');
    assert.equal(committed, renderScenarioJsonSchema());
    const schema = JSON.parse(committed) as { title?: string; description?: string };
    assert.equal(schema.title, 'cardpost QA scenario');
    assert.ok(schema.description);
  });

  it('every shipped YAML scenario names the schema for editors on its first line', () => {
    const scenarios = join(ROOT, 'scenarios');
    for (const name of readdirSync(scenarios).filter((f) => /\.ya?ml$/.test(f))) {
      const first = readFileSync(join(scenarios, name), 'utf8').split('\n')[0];
      assert.equal(first, '# yaml-language-server: $schema=./scenario.schema.json', name);
    }
  });
});
