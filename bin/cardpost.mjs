#!/usr/bin/env node
// Runs the CLI that `npm ci` compiled to dist/ (scripts/build-cli.mjs) when it is up to date with the
// sources, and the TypeScript sources through tsx's loader otherwise: after an edit without a rebuild
// (`npm run build`), the sources run, never stale code. That fallback says so in one line on stderr
// when stderr is a terminal (scripts and tests reading stderr see cardpost's own lines only).
//   CARDPOST_CLI=sources  always run the sources; CARDPOST_CLI=build  the build or fail (exit 3).
import { buildState } from '../scripts/build-cli.mjs';

const argv = process.argv.slice(2);
const wanted = process.env.CARDPOST_CLI ?? '';
if (!['', 'build', 'sources'].includes(wanted)) {
  console.error(`cardpost: CARDPOST_CLI must be "build" or "sources", not "${wanted}"`);
  process.exit(2);
}
const state = wanted === 'sources' ? undefined : buildState();
if (state?.fresh) {
  const { launch } = await import('../dist/host/cli/launch.js');
  await launch(argv, state.manifest.commands);
} else {
  if (wanted === 'build') {
    console.error(`cardpost: CARDPOST_CLI=build but ${state.reason}: run npm run build`);
    process.exit(3);
  }
  if (state && process.stderr.isTTY)
    console.error(`cardpost: ${state.reason}; running the sources through tsx (slower; npm run build)`);
  const { register } = await import('tsx/esm/api');
  register();
  const { launch } = await import('../host/cli/launch.ts');
  await launch(argv);
}
