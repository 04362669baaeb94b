import type { z } from 'zod';
import { repeatTimes, STEP_BODIES, STEP_KINDS, stepSchema } from './scenario-schema.js';

/**
 * Turning zod's issues into lines a scenario writer can act on: one problem, its field, and what is
 * allowed there. A step is a union of one-key maps, for which zod reports every alternative; here a
 * bad step is explained by the one alternative its key names (or the key is the problem).
 */

export interface PathIssue {
  path: PropertyKey[];
  message: string;
  /** Point at the key of the last path element (an unknown field) rather than its value. */
  atKey?: boolean;
}

type Def = { type: string; [k: string]: unknown };
const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;

/** The schema a path leads to (through optional, default, array, record, lazy), or undefined. */
function schemaAt(root: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let s: unknown = root;
  const unwrap = (): void => {
    for (;;) {
      const d = defOf(s);
      if (d.type === 'optional' || d.type === 'default' || d.type === 'nullable') s = d.innerType;
      else if (d.type === 'lazy') s = (d.getter as () => unknown)();
      else return;
    }
  };
  for (const seg of path) {
    unwrap();
    const d = defOf(s);
    if (d.type === 'object') s = (d.shape as Record<string, unknown>)[String(seg)];
    else if (d.type === 'array') s = d.element;
    else if (d.type === 'record') s = d.valueType;
    else return undefined;
    if (s === undefined) return undefined;
  }
  unwrap();
  return s as z.ZodType;
}

function allowedKeys(root: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  const s = schemaAt(root, path);
  if (!s) return undefined;
  const d = defOf(s);
  return d.type === 'object' ? Object.keys(d.shape as object) : undefined;
}

const shown = (v: unknown): string => {
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 40 ? `${text.slice(0, 37)}…` : text;
};

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

const isStepsPath = (path: readonly PropertyKey[]): boolean => {
  const last = path[path.length - 2];
  return typeof path[path.length - 1] === 'number' && (last === 'steps' || last === 'oneOf');
};

/**
 * zod issues of `schema` on `raw` (the value it parsed, found at `prefix` in the file) → our issues;
 * bad steps are diagnosed by their key.
 */
export function explainIssues(
  schema: z.ZodType,
  raw: unknown,
  issues: readonly z.core.$ZodIssue[],
  prefix: PropertyKey[] = [],
): PathIssue[] {
  const out: PathIssue[] = [];
  const stepsDiagnosed = new Set<string>();
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    const value = valueAt(raw, issue.path);
    if (isStepsPath(path)) {
      // zod reports a bad step as one of its union's alternatives saw it: explain it by its key instead.
      const id = JSON.stringify(path);
      if (!stepsDiagnosed.has(id)) out.push(...diagnoseStep(value, path));
      stepsDiagnosed.add(id);
    } else if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(schema, issue.path);
      for (const key of issue.keys)
        out.push({
          path: [...path, key],
          atKey: true,
          message: `unknown field "${key}"${allowed ? `; allowed here: ${allowed.join(', ')}` : ''}`,
        });
    } else if (issue.code === 'invalid_union') {
      const options = issue.errors.map((alt) => alt[0]?.message).filter((m): m is string => !!m);
      out.push({ path, message: `${[...new Set(options)].join(', or ')} (got ${shown(value)})` });
    } else if (issue.code === 'invalid_type' && value === undefined) {
      out.push({ path, message: `required: give ${article(issue.expected)}` });
    } else {
      const got = value !== undefined && typeof value !== 'object' ? ` (got ${shown(value)})` : '';
      out.push({ path, message: `${issue.message}${got}` });
    }
  }
  return out;
}

const ONE_KEY = `a step is a map with one key, its kind (${STEP_KINDS.join(', ')}), e.g. "- sale: {amount: '12.50'}"`;

/** Why one step (raw, at `path`) is not a valid step. */
export function diagnoseStep(raw: unknown, path: PropertyKey[]): PathIssue[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return [{ path, message: ONE_KEY }];
  const keys = Object.keys(raw);
  if (keys.length !== 1)
    return [{ path, message: `${ONE_KEY}; found ${keys.length ? keys.map((k) => `"${k}"`).join(', ') : 'none'}` }];
  const kind = keys[0]!;
  const body = (raw as Record<string, unknown>)[kind];
  const at = [...path, kind];
  if (kind === 'repeat') {
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      return [{ path: at, message: 'repeat takes {times: N, steps: [...]}' }];
    const b = body as Record<string, unknown>;
    const out: PathIssue[] = [];
    for (const k of Object.keys(b))
      if (k !== 'times' && k !== 'steps')
        out.push({ path: [...at, k], atKey: true, message: `unknown field "${k}"; allowed here: times, steps` });
    const times = repeatTimes.safeParse(b.times);
    if (!times.success)
      out.push({ path: [...at, 'times'], message: `${times.error.issues[0]!.message} (got ${shown(b.times)})` });
    out.push(...diagnoseSteps(b.steps, [...at, 'steps'], 1));
    return out;
  }
  if (kind === 'oneOf') return diagnoseSteps(body, at, 2);
  const schema = STEP_BODIES.get(kind);
  if (!schema) return [{ path: at, atKey: true, message: `unknown step "${kind}"; allowed: ${STEP_KINDS.join(', ')}` }];
  const r = schema.safeParse(body);
  return r.success ? [] : explainIssues(schema, body, r.error.issues, at);
}

function diagnoseSteps(raw: unknown, path: PropertyKey[], min: number): PathIssue[] {
  if (!Array.isArray(raw) || raw.length < min)
    return [{ path, message: `a list of at least ${min} step${min > 1 ? 's' : ''}` }];
  const out: PathIssue[] = [];
  raw.forEach((step, i) => {
    if (!stepSchema.safeParse(step).success) out.push(...diagnoseStep(step, [...path, i]));
  });
  return out;
}

const article = (type: string): string => (/^[aeio]/.test(type) ? `an ${type}` : `a ${type}`);
