import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOGUE, SECTIONS, both, has, normLang, t } from '../../host/ui/i18n.js';

/**
 * The merchant's words come from one catalogue (host/ui/i18n.js, docs/ui.md "Languages"): every key in
 * zh-CN and English with the same placeholders, no key twice, and every key the pages use is there.
 */
const UI = join(process.cwd(), 'host/ui');
const files = (ext: string) => readdirSync(UI).filter((n) => n.endsWith(ext));
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('ui catalogue: zh-CN and English for every key the counter page uses', () => {
  it('every key has both languages, non-empty, with the same placeholders', () => {
    assert.ok(Object.keys(CATALOGUE).length > 150, 'the catalogue is loaded');
    for (const [key, e] of Object.entries(CATALOGUE)) {
      assert.equal(typeof e.zh, 'string', `${key}: zh`);
      assert.equal(typeof e.en, 'string', `${key}: en`);
      assert.ok(e.zh.trim() !== '' && e.en.trim() !== '', `${key}: no empty text`);
      assert.deepEqual(placeholders(e.zh), placeholders(e.en), `${key}: the same {placeholders} in both`);
      if (e.en1 !== undefined)
        assert.deepEqual(
          placeholders(e.en1),
          placeholders(e.en).filter((p) => p !== 'n'),
        );
      const bare = e.zh.replace(/\{\w+\}/g, '');
      assert.ok(
        /\p{Script=Han}/u.test(bare) || !/[A-Za-z]/.test(bare) || key === 'lang.switch',
        `${key}: the zh text is Chinese`,
      );
    }
  });

  it('no key is defined in two sections (a later section would silently win)', () => {
    const seen = new Map<string, string>();
    for (const [section, texts] of Object.entries(SECTIONS))
      for (const key of Object.keys(texts)) {
        assert.ok(!seen.has(key), `${key} is in both ${seen.get(key)} and ${section}`);
        seen.set(key, section);
      }
  });

  it("every t('…') in the counter page's scripts and every data-i18n key in its HTML exists", () => {
    const used: string[] = [];
    for (const name of files('.js')) {
      const src = readFileSync(join(UI, name), 'utf8').replace(/^\s*(\/\/|\*|\/\*\*).*$/gm, ''); // not the comments
      if (!/from '\.\/(counter-i18n|i18n)\.js'/.test(src)) continue; // the customer display keeps its own {zh, en} pairs
      for (const m of src.matchAll(/\bt\(\s*'([\w.-]+)'\s*[,)]/g)) used.push(`${name}: ${m[1]}`);
      // t(cond ? 'a' : 'b') and t('prefix.' + x): the literal alternatives and the prefixes
      for (const m of src.matchAll(/\bt\(\s*[^'()]*\?\s*'([\w.-]+)'\s*:\s*'([\w.-]+)'/g))
        used.push(`${name}: ${m[1]}`, `${name}: ${m[2]}`);
    }
    for (const name of files('.html')) {
      const src = readFileSync(join(UI, name), 'utf8');
      for (const m of src.matchAll(/data-i18n(?:-label|-title)?="([^"]+)"/g)) used.push(`${name}: ${m[1]}`);
    }
    assert.ok(used.length > 100, `found the keys in use (${used.length})`);
    const missing = used.filter((u) => !u.endsWith('.') && !has(u.split(': ')[1]!)); // 'x.' + y: checked below
    assert.deepEqual(missing, [], 'keys used but not in the catalogue');
  });

  it('the keys built from a state name exist for every state', () => {
    for (const s of [
      'idle',
      'waiting_card',
      'reading_card',
      'pin',
      'signing',
      'stored',
      'done',
      'cancelled',
      'timed_out',
      'failed',
      'unconfirmed',
    ])
      assert.ok(has('state.' + s), 'state.' + s);
    for (const s of ['waiting_card', 'pin', 'signing', 'stored', 'done']) assert.ok(has('step.' + s), 'step.' + s);
    for (const s of ['offline', 'idle', 'sending', 'backing_off', 'blocked', 'stopped'])
      assert.ok(has('settle.' + s), 'settle.' + s);
    for (const k of ['decline', 'unavailable', 'conflict', 'bad-input', 'refused', 'not-found', 'retry', 'fault'])
      assert.ok(has('kind.' + k), 'kind.' + k);
    for (const key of Object.keys(CATALOGUE).filter((k) => /^err\.[A-Z_]+$/.test(k)))
      assert.ok(has(key + '.todo'), `${key} says what to do too`);
    for (const s of [
      'idle',
      'waiting_card',
      'reading',
      'display',
      'device',
      'working',
      'done',
      'cancelled',
      'timed_out',
      'failed',
    ])
      assert.ok(has('ps.state.' + s), 'ps.state.' + s);
  });

  it('t() fills placeholders, picks the English singular, and falls back to the key; Node can use it (CLI)', () => {
    assert.equal(t('pending.records', 'zh-CN', { n: 3 }), '3 笔');
    assert.equal(t('pending.records', 'en', { n: 3 }), '3 records');
    assert.equal(t('pending.records', 'en', { n: 1 }), '1 record');
    assert.equal(t('bar.terminal', 'en', { terminal: 'T-1', merchant: 'M-1' }), 'Terminal T-1 · merchant M-1');
    assert.equal(t('no.such.key', 'en'), 'no.such.key');
    assert.equal(normLang('en-US'), 'en');
    assert.equal(normLang('zh'), 'zh-CN');
    assert.equal(normLang(undefined), 'zh-CN');
    assert.equal(both('ps.change'), '修改密码 / Change PIN');
  });
});
