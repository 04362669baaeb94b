import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { crossCheck } from './load-checks.js';
import { explainIssues, type PathIssue } from './load-diagnose.js';
import { fieldPath, positionOf } from './load-position.js';
import { ScenarioInvalidError, type ScenarioIssue } from './qa-errors.js';
import { scenarioSchema, type Scenario } from './scenario-schema.js';

/**
 * Scenario files (docs/qa.md): YAML (.yaml, .yml) or JSON (.json), validated against the zod schema
 * and cross-checked (load-checks.ts). Every problem names the file, line:column, field and what is
 * allowed; all problems of all files come in one QA_SCENARIO_INVALID, before anything runs.
 */

/** Largest scenario file read (they are written by hand: a bigger one is a mistake or an attack). */
export const MAX_SCENARIO_BYTES = 1024 * 1024;
/** YAML aliases (`*x`) one file may use: the "billion laughs" stays small. */
const MAX_ALIASES = 100;
const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
/** The generated JSON Schema lies beside the scenarios and is not one. */
export const SCHEMA_FILE_NAME = 'scenario.schema.json';

export interface LoadedScenario {
  file: string;
  scenario: Scenario;
}

const whole = (file: string, message: string, line = 0, column = 0): ScenarioIssue => ({
  file,
  line,
  column,
  field: '',
  message,
});

/** Files named on the command line, a directory standing for its scenario files (sorted by name). */
export function scenarioFiles(args: readonly string[]): { files: string[]; issues: ScenarioIssue[] } {
  const files: string[] = [];
  const issues: ScenarioIssue[] = [];
  for (const arg of args) {
    let isDir: boolean;
    try {
      isDir = statSync(arg).isDirectory();
    } catch {
      issues.push(whole(arg, 'no such file or directory'));
      continue;
    }
    if (!isDir) {
      files.push(arg);
      continue;
    }
    const inDir = readdirSync(arg)
      .filter((n) => EXTENSIONS.has(extname(n).toLowerCase()) && n !== SCHEMA_FILE_NAME)
      .sort()
      .map((n) => join(arg, n));
    if (inDir.length === 0) issues.push(whole(arg, 'the directory holds no .yaml, .yml or .json scenario'));
    files.push(...inDir);
  }
  return { files, issues };
}

/** Load every scenario named (files or directories); throws ScenarioInvalidError listing every problem. */
export function loadScenarios(args: readonly string[]): LoadedScenario[] {
  const { files, issues } = scenarioFiles(args);
  const loaded: LoadedScenario[] = [];
  for (const file of files) {
    const r = readScenario(file);
    if ('scenario' in r) loaded.push(r);
    else issues.push(...r.issues);
  }
  if (issues.length) throw new ScenarioInvalidError(issues);
  return loaded;
}

/** Load one scenario file; throws ScenarioInvalidError. */
export function loadScenarioFile(file: string): LoadedScenario {
  const r = readScenario(file);
  if ('issues' in r) throw new ScenarioInvalidError(r.issues);
  return r;
}

function readScenario(file: string): LoadedScenario | { issues: ScenarioIssue[] } {
  const ext = extname(file).toLowerCase();
  if (!EXTENSIONS.has(ext))
    return { issues: [whole(file, 'not a scenario file: a scenario is a .yaml, .yml or .json file')] };
  let text: string;
  try {
    const st = statSync(file);
    // A FIFO or a device named .yaml would hang the read or never end.
    if (!st.isFile()) return { issues: [whole(file, 'not a regular file: a scenario is a .yaml, .yml or .json file')] };
    const size = st.size;
    if (size > MAX_SCENARIO_BYTES)
      return { issues: [whole(file, `the file has ${size} bytes; a scenario file is at most ${MAX_SCENARIO_BYTES}`)] };
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { issues: [whole(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`)] };
  }
  return parseScenarioText(text, file, ext === '.json' ? 'json' : 'yaml');
}

/** Parse and validate a scenario's text (the file name is for the messages). */
export function parseScenarioText(
  text: string,
  file: string,
  format: 'yaml' | 'json',
): LoadedScenario | { issues: ScenarioIssue[] } {
  const lines = new LineCounter();
  if (format === 'json') {
    // JSON is YAML too, but a .json file must be JSON: parse it strictly first.
    try {
      JSON.parse(text);
    } catch (e) {
      parseDocument(text, { lineCounter: lines });
      const pos = lines.linePos(jsonErrorOffset(text, (e as Error).message));
      return { issues: [whole(file, `not JSON: ${(e as Error).message}`, pos.line, pos.col)] };
    }
  }
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true });
  if (doc.errors.length)
    return {
      issues: doc.errors.map((err) => {
        const pos = lines.linePos(err.pos[0]);
        return whole(file, `not valid YAML: ${err.message.split('\n')[0]}`, pos.line, pos.col);
      }),
    };
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    return { issues: [whole(file, `not usable YAML: ${(e as Error).message}`, 1, 1)] };
  }
  const at = (p: PathIssue): ScenarioIssue => located(doc, lines, file, p);
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) return { issues: explainIssues(scenarioSchema, raw, parsed.error.issues).map(at) };
  const cross = crossCheck(parsed.data);
  if (cross.length) return { issues: cross.map(at) };
  return { file, scenario: parsed.data };
}

function located(doc: Document, lines: LineCounter, file: string, p: PathIssue): ScenarioIssue {
  const path = p.atKey ? p.path.slice(0, -1) : p.path;
  const key = p.atKey ? String(p.path[p.path.length - 1]) : undefined;
  const { line, column } = positionOf(doc, lines, path, key);
  return { file, line, column, field: fieldPath(p.path), message: p.message };
}

/**
 * Where JSON.parse stopped, from its message: "at position N" (Node 20 for most errors), or the text
 * around it that Node 20 quotes ("Unexpected token ',', ...\"steps\": [,]..." is 10 characters either side).
 */
function jsonErrorOffset(text: string, message: string): number {
  const at = /position (\d+)/.exec(message);
  if (at) return Number(at[1]);
  const quoted = /^Unexpected token '(.)', (\.\.\.)?"([\s\S]*?)"(\.\.\.)? is not valid JSON/.exec(message);
  if (!quoted) return 0;
  const snippet = quoted[3]!;
  const start = text.indexOf(snippet);
  if (start < 0) return 0;
  return start + (quoted[2] ? 10 : snippet.indexOf(quoted[1]!));
}
