import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { ERROR_GROUPS } from '../../host/errors/registry.js';
import { fileURLToPath } from 'node:url';
import { ENV_OVERRIDES } from '../../host/daemon/config.js';
import { DATA_FILES } from '../../host/daemon/daemon.js';

/**
 * docs/host-api.md, docs/host-api.openapi.yaml and docs/daemon.md stay in step with the daemon's
 * code: every route of host/api (server.ts and its plugins in routes/), every error code they send, every live event, every
 * metric, environment override and data file. No YAML library is installed, so the OpenAPI file
 * gets a small structural check (indentation, duplicate keys, flow brackets, $ref targets).
 */
const read = (p: string) => readFileSync(fileURLToPath(new URL(`../../${p}`, import.meta.url)), 'utf8');
/** The API's sources: server.ts (hooks, error answers), context.ts and one plugin per resource in routes/. */
const API_FILES = [
  'host/api/server.ts',
  'host/api/context.ts',
  ...readdirSync(fileURLToPath(new URL('../../host/api/routes/', import.meta.url)))
    .filter((n) => n.endsWith('.ts'))
    .map((n) => `host/api/routes/${n}`),
];
const server = API_FILES.map(read).join('\n');
const errorsMd = read('docs/errors.md');
const events = read('host/api/events.ts');
const metrics = read('host/daemon/metrics.ts');
const md = read('docs/host-api.md');
const daemonMd = read('docs/daemon.md');
const yaml = read('docs/host-api.openapi.yaml');

/** `app.get('/api/v1/readers/:name/card'` → { method: 'get', path: '/api/v1/readers/{name}/card' } */
function routesOf(source: string): { method: string; path: string }[] {
  return [...source.matchAll(/\bapp\.(get|post|put|patch|delete)\(\s*'([^']+)'/g)].map((m) => ({
    method: m[1]!,
    path: m[2]!.replace(/:([A-Za-z_]\w*)/g, '{$1}'),
  }));
}

interface YamlProblem {
  line: number;
  problem: string;
}

/**
 * The subset of YAML this file uses: block mappings and sequences indented by two spaces, flow
 * collections on one line, `|` block scalars. Reports what would make a YAML parser fail or
 * silently lose data (tabs, odd indents, duplicate keys, unbalanced brackets, an unterminated quote).
 */
function checkYamlStructure(text: string): YamlProblem[] {
  const problems: YamlProblem[] = [];
  const scopes: { indent: number; keys: Set<string> }[] = [{ indent: -1, keys: new Set() }];
  let blockScalarIndent = -1;
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (/^\s*$/.test(raw) || /^\s*#/.test(raw)) return;
    const indent = raw.length - raw.trimStart().length;
    if (blockScalarIndent >= 0) {
      if (indent > blockScalarIndent) return;
      blockScalarIndent = -1;
    }
    if (raw.includes('\t')) problems.push({ line, problem: 'tab character' });
    if (indent % 2 !== 0) problems.push({ line, problem: `odd indentation (${indent})` });
    let content = raw.trimStart();
    let keyIndent = indent;
    if (content.startsWith('- ')) {
      // a sequence item opens a fresh mapping for its keys
      while (scopes.length > 1 && scopes.at(-1)!.indent >= indent + 2) scopes.pop();
      scopes.push({ indent: indent + 2, keys: new Set() });
      content = content.slice(2);
      keyIndent = indent + 2;
    }
    const scan = scanLine(content);
    if (scan.unterminated) problems.push({ line, problem: 'unterminated quote' });
    if (scan.depth !== 0) problems.push({ line, problem: 'unbalanced flow brackets' });
    const key = /^("(?:[^"\\]|\\.)*"|[^\s:"'{}[\]#][^:#]*?):(?:\s|$)/.exec(content);
    if (!key) return;
    while (scopes.length > 1 && scopes.at(-1)!.indent > keyIndent) scopes.pop();
    if (scopes.at(-1)!.indent < keyIndent) scopes.push({ indent: keyIndent, keys: new Set() });
    const name = key[1]!.replace(/^"|"$/g, '');
    const scope = scopes.at(-1)!;
    if (scope.keys.has(name)) problems.push({ line, problem: `duplicate key "${name}"` });
    scope.keys.add(name);
    if (/:\s*[|>][-+]?\s*$/.test(content)) blockScalarIndent = keyIndent;
  });
  return problems;
}

/**
 * One line's flow brackets and quoted scalars. A quote opens a quoted scalar only where a scalar
 * starts (after `: `, `- `, `[`, `{`, `,`); elsewhere it is text ("the card's answer").
 */
function scanLine(s: string): { depth: number; unterminated: boolean } {
  let depth = 0;
  let atStart = true;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === ' ') continue;
    if (atStart && (c === '"' || c === "'")) {
      const close = c === '"' ? /^"(?:[^"\\]|\\.)*"/.exec(s.slice(i)) : /^'(?:[^']|'')*'/.exec(s.slice(i));
      if (!close) return { depth, unterminated: true };
      i += close[0].length - 1;
      atStart = false;
      continue;
    }
    if (c === '#' && (i === 0 || s[i - 1] === ' ')) break;
    if (c === '{' || c === '[') {
      depth++;
      atStart = true;
      continue;
    }
    if (c === '}' || c === ']') {
      depth--;
      atStart = false;
      continue;
    }
    if (c === ',' && depth > 0) {
      atStart = true;
      continue;
    }
    if (c === ':' && (i + 1 === s.length || s[i + 1] === ' ')) {
      atStart = true;
      continue;
    }
    if (c === '-' && atStart && s[i + 1] === ' ') continue;
    atStart = false;
  }
  return { depth, unterminated: false };
}

/** Keys at exactly `indent` spaces inside the top-level block `section` (e.g. the paths). */
function keysUnder(text: string, section: string, indent: number): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l === `${section}:`);
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (/^\S/.test(l)) break;
    const m = new RegExp(`^ {${indent}}("[^"]+"|[^\\s#][^:]*):`).exec(l);
    if (m) out.push(m[1]!.replace(/^"|"$/g, ''));
  }
  return out;
}

/** The lines of one path item in the OpenAPI paths block. */
function pathItem(text: string, path: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l === `  ${path}:`);
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && /^ {0,2}\S/.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

describe('docs/host-api.md and host-api.openapi.yaml are in step with host/api', () => {
  const routes = routesOf(server);

  it('finds the routes of server.ts', () => {
    assert.ok(routes.length >= 15, `expected the API's routes in host/api/server.ts, found ${routes.length}`);
    assert.ok(
      routes.some((r) => r.path === '/api/v1/readers/{name}/card'),
      'the :name parameter must come out as {name}',
    );
  });

  it('the OpenAPI file is well-formed YAML of the shape an OpenAPI 3.1 document needs', () => {
    assert.deepEqual(checkYamlStructure(yaml), [], 'structural problems in docs/host-api.openapi.yaml');
    assert.match(yaml, /^openapi: 3\.1\.\d+$/m, 'openapi: 3.1.x at the top level');
    for (const k of ['info', 'paths', 'components']) assert.ok(yaml.includes(`\n${k}:\n`), `top-level ${k}`);
  });

  it('every route of server.ts is an OpenAPI path with its method', () => {
    const paths = new Set(keysUnder(yaml, 'paths', 2));
    for (const r of routes) {
      assert.ok(paths.has(r.path), `OpenAPI paths lack ${r.path} (${r.method.toUpperCase()} in server.ts)`);
      assert.ok(
        pathItem(yaml, r.path).includes(`    ${r.method}:`),
        `OpenAPI path ${r.path} lacks operation ${r.method}`,
      );
    }
  });

  it('every route of server.ts is in host-api.md', () => {
    for (const r of routes) {
      assert.ok(
        md.includes(`${r.method.toUpperCase()} ${r.path}`),
        `host-api.md does not describe ${r.method.toUpperCase()} ${r.path}`,
      );
    }
  });

  it('every OpenAPI path parameter is declared, and every $ref points at a component', () => {
    for (const p of keysUnder(yaml, 'paths', 2)) {
      const item = pathItem(yaml, p).join('\n');
      for (const [, name] of p.matchAll(/\{(\w+)\}/g)) {
        const declared = item.includes(`name: ${name}\n`) || /\$ref: "#\/components\/parameters\/(\w+)"/.test(item);
        assert.ok(declared, `path ${p} must declare its parameter ${name}`);
      }
    }
    for (const [, kind, name] of yaml.matchAll(/\$ref: "#\/components\/(\w+)\/(\w+)"/g)) {
      assert.ok(keysUnder(yaml, 'components', 4).length > 0, 'components has entries');
      const section = yaml.split('\n').findIndex((l) => l === `  ${kind}:`);
      assert.ok(section > 0, `components.${kind} exists for $ref ${name}`);
      const rest = yaml.split('\n').slice(section + 1);
      const end = rest.findIndex((l) => /^ {0,2}\S/.test(l));
      assert.ok(
        rest.slice(0, end < 0 ? undefined : end).includes(`    ${name}:`),
        `$ref #/components/${kind}/${name} has no target`,
      );
    }
  });

  it('every error code server.ts sends is in host-api.md', () => {
    const codes = new Set<string>();
    for (const [, code] of server.matchAll(/sendError\(\s*reply,\s*'([A-Z_]+)'/g)) codes.add(code!);
    for (const [, code] of server.matchAll(/code: '([A-Z_]+)'/g)) codes.add(code!);
    // The statuses come from the error registry: every code it gives an HTTP status is an answer the API may send.
    const answers = ERROR_GROUPS.flatMap((g) => g.entries).filter((e) => e.status !== null);
    assert.ok(codes.size >= 8, `expected the error codes of host/api, found ${[...codes].join(', ')}`);
    assert.ok(answers.length >= 60, `expected the registry's API answers, found ${answers.length}`);
    for (const c of codes) assert.ok(md.includes(`\`${c}\``), `host-api.md does not list error code ${c}`);
    for (const c of codes)
      assert.ok(
        answers.some((e) => e.code === c),
        `host/api sends ${c}, which the error registry gives no HTTP status`,
      );
    assert.ok(md.includes('(errors.md)'), 'host-api.md §11 points to errors.md');
    for (const e of answers)
      assert.ok(
        errorsMd.includes(`| \`${e.code}\` | ${e.status} |`),
        `docs/errors.md does not list ${e.code} with ${e.status}`,
      );
  });

  it('every live event events.ts sends is in the events table', () => {
    const names = new Set(
      [...events.matchAll(/this\.(?:send|write)\(\s*(?:reply,\s*|c,\s*)?'(\w+)'/g)].map((m) => m[1]!),
    );
    assert.ok(names.size >= 5, `expected the SSE event names, found ${[...names].join(', ')}`);
    for (const n of names) assert.ok(md.includes(`| \`${n}\` |`), `host-api.md §9 has no row for event ${n}`);
  });
});

describe('docs/daemon.md is in step with host/daemon', () => {
  it('names every metric of metrics.ts', () => {
    const names = [...metrics.matchAll(/name: '(cardpost_\w+)'/g)].map((m) => m[1]!);
    assert.ok(names.length >= 10, `expected the metric names, found ${names.length}`);
    for (const n of names) assert.ok(daemonMd.includes(`\`${n}\``), `daemon.md does not list metric ${n}`);
  });

  it('names every environment override and data file', () => {
    for (const v of Object.keys(ENV_OVERRIDES))
      assert.ok(daemonMd.includes(`\`${v}\``), `daemon.md does not list ${v}`);
    for (const f of Object.values(DATA_FILES))
      assert.ok(daemonMd.includes(`\`${f}\``), `daemon.md does not list data file ${f}`);
  });
});

describe('the YAML structure check catches what a parser would choke on', () => {
  const cases: [string, string, RegExp][] = [
    ['duplicate key', 'paths:\n  /a:\n    get: {}\n  /a:\n    post: {}\n', /duplicate key "\/a"/],
    ['odd indentation', 'info:\n   title: x\n', /odd indentation/],
    ['tab', 'info:\n\ttitle: x\n', /tab/],
    ['unbalanced flow mapping', 'a: { b: 1\n', /unbalanced/],
    ['unterminated quote', 'a: "b\n', /unterminated quote/],
    ['unterminated quote in a flow mapping', "a: { b: 'c }\n", /unterminated quote/],
  ];
  for (const [what, text, expected] of cases) {
    it(`reports a ${what}`, () => {
      const problems = checkYamlStructure(text)
        .map((p) => p.problem)
        .join('; ');
      assert.match(problems, expected, `a ${what} must be reported, got "${problems}"`);
    });
  }

  it('accepts block scalars, sequences of mappings and quoted keys', () => {
    const ok =
      'a:\n  summary: the card\'s answer\n  h: { const: \'Bearer realm="x"\' }\n  description: |\n    free: text: here\n     odd indent inside is text\n  list:\n    - name: x\n      in: path\n    - name: y\n      in: path\n  "200": { b: [1, 2] }\n';
    assert.deepEqual(checkYamlStructure(ok), [], 'valid YAML must pass');
  });
});
