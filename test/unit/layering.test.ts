import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The import rules of docs/architecture.md §1, checked on the source: protocol/ is pure (nothing of
 * ours outside it, no I/O modules); device-sim/ imports protocol/ only; host/ never imports
 * device-sim/ except in the simulator wiring of the CLI.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const IO_MODULES = [
  'fs',
  'net',
  'http',
  'https',
  'child_process',
  'dgram',
  'tls',
  'worker_threads',
  'readline',
  'timers',
];
const HOST_MAY_IMPORT_SIM = [
  'host/cli/sim-command.ts',
  'host/cli/sim-card-setup.ts',
  'host/cli/sim-printer-command.ts',
  'host/cli/sim-hid-command.ts',
  'host/cli/demo-command.ts',
  'host/cli/qa-host.ts',
  'host/cli/qa-command.ts',
  'host/cli/qa-soak-command.ts',
  'host/cli/qa-daemon-command.ts',
];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sources(rel));
    else if (/\.ts$/.test(name) && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(
    /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
  )) {
    specs.push((m[1] ?? m[2])!);
  }
  return specs;
}

/** The top-level folder a relative import lands in, or the bare module name. */
function target(file: string, spec: string): string {
  if (!spec.startsWith('.')) return spec.replace(/^node:/, '');
  return relative(ROOT, resolve(ROOT, dirname(file), spec)).split('/')[0]!;
}

describe('layering: the import rules of the fixed top-level layout', () => {
  it('protocol/ imports nothing of ours outside protocol/ and no I/O module', () => {
    for (const f of sources('protocol')) {
      for (const spec of imports(f)) {
        const t = target(f, spec);
        if (spec.startsWith('.')) assert.equal(t, 'protocol', `${f} imports ${spec} (outside protocol/)`);
        else assert.ok(!IO_MODULES.includes(t.split('/')[0]!), `${f} imports the I/O module ${spec}`);
      }
    }
  });

  it('device-sim/ imports protocol/ and itself only', () => {
    for (const f of sources('device-sim')) {
      for (const spec of imports(f).filter((s) => s.startsWith('.'))) {
        const t = target(f, spec);
        assert.ok(t === 'protocol' || t === 'device-sim', `${f} imports ${spec} (${t}/)`);
      }
    }
  });

  it('host/ imports device-sim/ only in the simulator wiring of the CLI', () => {
    for (const f of sources('host')) {
      for (const spec of imports(f).filter((s) => s.startsWith('.'))) {
        const t = target(f, spec);
        assert.ok(t !== 'test', `${f} imports test code ${spec}`);
        if (t === 'device-sim')
          assert.ok(
            HOST_MAY_IMPORT_SIM.includes(f),
            `${f} imports ${spec}: only ${HOST_MAY_IMPORT_SIM.join(', ')} may`,
          );
      }
    }
  });

  it('the checker sees imports at all (it would pass vacuously otherwise)', () => {
    assert.ok(
      imports('host/cli/sim-command.ts').some((s) => s.includes('device-sim')),
      'sim-command imports device-sim',
    );
    assert.ok(sources('protocol').length > 20, 'protocol sources found');
  });
});
