#!/usr/bin/env node
/**
 * Builds the optional native SM2 backend (binding.gyp -> build/Release/cardpost_crypto.node).
 * Run by `npm install`. It never fails the install: without a C compiler the pure-JS backend is
 * used (about 5x slower), so a failed build prints one warning line and exits 0.
 *
 *   node scripts/build-native.mjs [--verbose]
 * CARDPOST_SKIP_NATIVE=1 skips the build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const verbose = process.argv.includes('--verbose');
const addon = path.join(root, 'build', 'Release', 'cardpost_crypto.node');

function warn(reason) {
  console.warn(
    `cardpost: WARNING: native SM2 backend not built (${reason}); using the pure-JS backend. ` +
      'Details: node scripts/build-native.mjs --verbose',
  );
  process.exit(0);
}

if (process.env.CARDPOST_SKIP_NATIVE === '1') {
  console.log('cardpost: native SM2 backend skipped (CARDPOST_SKIP_NATIVE=1)');
  process.exit(0);
}

/** node-gyp: the one npm passes to scripts, a local install, or the copy bundled with npm. */
function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    /* not installed locally */
  }
  const prefix = path.dirname(path.dirname(process.execPath));
  candidates.push(
    path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  );
  return candidates.find((c) => c && existsSync(c));
}

const gyp = findNodeGyp();
if (!gyp) warn('node-gyp not found');

const args = [gyp, 'rebuild'];
// Offline builds: use the headers installed next to this node instead of downloading them.
const prefix = path.dirname(path.dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}

const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', stdio: verbose ? 'inherit' : 'pipe' });
if (result.error) warn(result.error.message);
if (result.status !== 0) {
  const lines = `${result.stderr ?? ''}\n${result.stdout ?? ''}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  // the most telling line: a compiler error, then node-gyp's own diagnosis, then anything
  const reason =
    lines.find((l) => /: (fatal )?error: /.test(l)) ??
    lines.find((l) => /You need to install|gyp ERR! stack Error:/.test(l)) ??
    lines.find((l) => /ERR!|error/i.test(l)) ??
    `node-gyp exited with ${result.status}`;
  warn(reason.replace(/^gyp ERR! (stack |find \w+ )?/, '').slice(0, 200));
}

// The addon resolves its one OpenSSL symbol against the running node: check that it loads.
const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], { encoding: 'utf8' });
if (check.status !== 0)
  warn(`built but does not load: ${(check.stderr || '').split('\n').find((l) => l.trim()) ?? 'unknown error'}`);

console.log(`cardpost: native SM2 backend built (${path.relative(root, addon)})`);
