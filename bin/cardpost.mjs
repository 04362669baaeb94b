#!/usr/bin/env node
// The CLI runs the TypeScript sources directly through tsx's loader: one code path for
// development, tests and users, and no stale build output to go out of step with the sources.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../host/cli/main.ts');
await main(process.argv.slice(2));
