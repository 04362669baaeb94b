import { strict as assert } from 'node:assert';
import { fileURLToPath } from 'node:url';
import { parseCircular, parseDependencyTree } from 'dpdm';

/**
 * No import circles in the project's own code (issue 13): every module of protocol/, device-sim/,
 * host/, bench/, bin/ and scripts/ (tests are left out), with its static, dynamic and type-only
 * imports (and what they import: bench/ uses test/support/). A circle through `import type` is still a circle in the design (api ↔ daemon was one),
 * so type imports count. dpdm resolves the `.js` specifiers of our ESM TypeScript to the `.ts` files
 * with the TypeScript compiler's own parser.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCES = [
  'protocol/**/*.ts',
  'device-sim/**/*.ts',
  'host/**/*.ts',
  'bench/**/*.ts',
  'bin/**/*.mjs',
  'scripts/**/*.{ts,mjs}',
];

describe('import cycles: none in non-test code', function () {
  this.timeout(120_000);

  it('no module imports itself back, through any chain', async () => {
    const tree = await parseDependencyTree(SOURCES, {
      context: ROOT,
      cwd: ROOT,
      transform: false,
      skipDynamicImports: false,
    });
    const files = Object.keys(tree);
    assert.ok(
      files.length > 150 && files.some((f) => f.startsWith('host/api/')),
      `the checker sees the sources (${files.length} modules)`,
    );
    const edges = Object.values(tree).reduce((n, deps) => n + (deps?.filter((d) => d.id !== null).length ?? 0), 0);
    assert.ok(edges > 300, `imports resolved to files (${edges}): a resolver that finds none would pass vacuously`);
    // host/api/port.ts imports only types: they must be in the graph, or a type-only circle would pass.
    assert.ok(
      tree['host/api/port.ts']?.some((d) => d.id === 'host/sale/sale-types.ts'),
      'type-only imports are in the graph',
    );
    const circles = parseCircular(tree).map((c) => [...c, c[0]].join(' → '));
    assert.deepEqual(circles, [], `import circles:\n  ${circles.join('\n  ')}`);
  });

  it('the checker finds a circle where there is one (type-only imports included)', async () => {
    const tree = {
      'a.ts': [{ issuer: 'a.ts', request: './b.js', kind: 0, id: 'b.ts' }],
      'b.ts': [{ issuer: 'b.ts', request: './a.js', kind: 0, id: 'a.ts' }],
    } as unknown as Parameters<typeof parseCircular>[0];
    assert.deepEqual(parseCircular(tree), [['a.ts', 'b.ts']]);
  });
});
