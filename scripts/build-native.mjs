#!/usr/bin/env node
/**
 * Builds the two optional native addons of binding.gyp, each on its own:
 *  - cardpost_crypto (build/Release/cardpost_crypto.node): the native SM2 backend; without it the
 *    pure-JS backend is used (about 5x slower);
 *  - cardpost_card (build/Release/cardpost_card.node): the C card applet in-process
 *    (firmware-bindings/node/); without it `cardpost sim card --firmware native` and the native card
 *    suites are unavailable, nothing else.
 * Run by `npm install`. It never fails the install: a failed build prints one warning line per addon
 * and exits 0, and one addon failing does not stop the other.
 *
 *   node scripts/build-native.mjs [--verbose] [--only crypto|card]
 * CARDPOST_SKIP_NATIVE=1 skips both builds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const verbose = process.argv.includes('--verbose');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;

const ADDONS = [
  {
    target: 'cardpost_crypto',
    built: 'native SM2 backend built',
    missing: 'native SM2 backend not built',
    fallback: 'using the pure-JS backend',
  },
  {
    target: 'cardpost_card',
    built: 'native card (C applet) built',
    missing: 'native card (C applet) not built',
    fallback: '`sim card --firmware native` and the native card tests are unavailable',
  },
].filter((a) => only === undefined || a.target === `cardpost_${only}`);

function warn(addon, reason) {
  console.warn(
    `cardpost: WARNING: ${addon.missing} (${reason}); ${addon.fallback}. ` +
      'Details: node scripts/build-native.mjs --verbose',
  );
}

if (process.env.CARDPOST_SKIP_NATIVE === '1') {
  console.log('cardpost: native addons skipped (CARDPOST_SKIP_NATIVE=1)');
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

/** The most telling line of a failed node-gyp run: a compiler error, node-gyp's diagnosis, anything. */
function reasonOf(result) {
  if (result.error) return result.error.message;
  const lines = `${result.stderr ?? ''}\n${result.stdout ?? ''}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const reason =
    lines.find((l) => /: (fatal )?error: /.test(l)) ??
    lines.find((l) => /You need to install|gyp ERR! stack Error:/.test(l)) ??
    lines.find((l) => /ERR!|error/i.test(l)) ??
    `node-gyp exited with ${result.status}`;
  return reason.replace(/^gyp ERR! (stack |find \w+ )?/, '').slice(0, 200);
}

function nodeGyp(gyp, args) {
  return spawnSync(process.execPath, [gyp, ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: verbose ? 'inherit' : 'pipe',
  });
}

const gyp = findNodeGyp();
if (!gyp) {
  for (const a of ADDONS) warn(a, 'node-gyp not found');
  process.exit(0);
}

// Configure once for both targets. No `clean`: it would delete all of build/, including the C test
// programs cached in build/c-tests; make rebuilds what changed.
const configure = ['configure'];
// Offline builds: use the headers installed next to this node instead of downloading them.
const prefix = path.dirname(path.dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
  configure.push(`--nodedir=${prefix}`);
}
const configured = nodeGyp(gyp, configure);
if (configured.error || configured.status !== 0) {
  const reason = reasonOf(configured);
  for (const a of ADDONS) warn(a, reason);
  process.exit(0);
}

for (const addon of ADDONS) {
  const file = path.join(root, 'build', 'Release', `${addon.target}.node`);
  const built = nodeGyp(gyp, ['build', addon.target]);
  if (built.error || built.status !== 0) {
    warn(addon, reasonOf(built));
    continue;
  }
  // The addons resolve their OpenSSL symbol against the running node: check that each loads.
  // RTLD_NOW: every symbol resolved now, so a missing one is reported here, not at the first call.
  const load = `process.dlopen({ exports: {} }, ${JSON.stringify(file)}, require('os').constants.dlopen.RTLD_NOW)`;
  const check = spawnSync(process.execPath, ['-e', load], { encoding: 'utf8' });
  if (check.status !== 0) {
    warn(
      addon,
      `built but does not load: ${(check.stderr || '').split('\n').find((l) => l.trim()) ?? 'unknown error'}`,
    );
    continue;
  }
  console.log(`cardpost: ${addon.built} (${path.relative(root, file)})`);
}
