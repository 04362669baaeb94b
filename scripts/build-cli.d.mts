// Types of scripts/build-cli.mjs, for the TypeScript that imports it (test/unit/cli-build.test.ts, bench/cli-startup.ts).
import type { CommandIndex } from '../host/cli/launch.js';

export const ROOT: string;
export const SOURCE_DIRS: readonly string[];
export const MANIFEST_VERSION: number;
/** dist/manifest.json */
export interface Manifest {
  version: number;
  startedAt: number;
  sources: string[];
  commands: CommandIndex;
}
export type BuildState = { fresh: true; manifest: Manifest } | { fresh: false; reason: string };
export function listSources(root?: string): string[];
export function buildState(root?: string): BuildState;
export function buildCli(root?: string): Promise<{ sources: number; ms: number }>;
