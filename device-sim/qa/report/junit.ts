import type { DeviceEvent, RunResult, ScenarioResult, StepRecord } from '../qa-types.js';
import { xmlAttr, xmlText } from './escape.js';
import { prettyJson, shortForm } from './json-value.js';

/**
 * junit.xml for CI (Jenkins' junit step, GitLab's `artifacts:reports:junit`). It is valid against both
 * schemas those tools are built on: Ant's JUnit schema as published by Windy Road (the strict one:
 * every testsuite has properties, system-out and system-err, a timestamp without zone, an id and a
 * package; failure/error have a type; no attributes on testsuites) and the Jenkins xUnit plugin's
 * junit-10.xsd. test/qa/report.test.ts validates against both (test/vectors/junit/).
 *
 * One testsuite per scenario (named after its file), one testcase per step: classname is the
 * scenario's name, name is "<path> <kind>" (stable across runs, so CI can follow a step's history).
 * A scenario that failed without a failed step (its stack did not come up, a final check) gets a
 * testcase "scenario" carrying that failure, so CI never counts a broken scenario as green.
 */
export function junitXml(run: RunResult, opts: { hostname?: string } = {}): string {
  const hostname = opts.hostname?.trim() || 'localhost';
  const suites = run.scenarios.map((s, i) => testsuite(s, i, run.startedAt, hostname));
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n${suites.join('')}</testsuites>\n`;
}

interface Case {
  name: string;
  ms: number;
  outcome: '' | 'failure' | 'error' | 'skipped';
  body: string;
}

function testsuite(s: ScenarioResult, id: number, runStartedAt: string, hostname: string): string {
  const cases: Case[] = s.steps.map((st) => stepCase(st, s.timeline));
  const extra = scenarioCase(s);
  if (extra) cases.push(extra);
  const count = (o: Case['outcome']): number => cases.filter((c) => c.outcome === o).length;
  const name = s.file.trim() || s.name.trim() || `scenario ${id + 1}`;
  const attrs = [
    ['name', name],
    ['package', name],
    ['id', String(id)],
    ['timestamp', junitTimestamp(s.startedAt, runStartedAt)],
    ['hostname', hostname],
    ['tests', String(cases.length)],
    ['failures', String(count('failure'))],
    ['errors', String(count('error'))],
    ['skipped', String(count('skipped'))],
    ['time', seconds(s.durationMs)],
  ];
  const props = [
    ['scenario', s.name],
    ['file', s.file],
    ['seed', String(s.seed)],
    ['status', s.status],
    ['screenshots', s.screenshots.map((x) => `${x.stepPath}: ${x.label}`).join('; ')],
  ];
  const className = s.name.trim() || name;
  return (
    `  <testsuite ${attrs.map(([k, v]) => `${k}="${xmlAttr(v!)}"`).join(' ')}>\n` +
    `    <properties>\n${props.map(([k, v]) => `      <property name="${k}" value="${xmlAttr(v!)}"/>\n`).join('')}    </properties>\n` +
    cases.map((c) => testcase(c, className)).join('') +
    `    <system-out>${xmlText(timelineText(s.timeline))}</system-out>\n` +
    `    <system-err>${s.error ? xmlText(`${s.error.code}: ${s.error.message}\n${s.error.hint}\n`) : ''}</system-err>\n` +
    `  </testsuite>\n`
  );
}

function testcase(c: Case, className: string): string {
  const open = `    <testcase name="${xmlAttr(c.name)}" classname="${xmlAttr(className)}" time="${seconds(c.ms)}"`;
  if (c.outcome === '') return `${open}/>\n`;
  return `${open}>\n      ${c.body}\n    </testcase>\n`;
}

function stepCase(st: StepRecord, timeline: readonly DeviceEvent[]): Case {
  const name = `${st.path} ${st.kind}`;
  const detail = (): string => failureDetail(st, timeline);
  switch (st.status) {
    case 'passed':
      return { name, ms: st.durationMs, outcome: '', body: '' };
    case 'skipped':
      return {
        name,
        ms: st.durationMs,
        outcome: 'skipped',
        body: st.failure ? `<skipped message="${xmlAttr(st.failure.message)}"/>` : '<skipped/>',
      };
    case 'failed':
      return { name, ms: st.durationMs, outcome: 'failure', body: element('failure', 'expectation', st, detail()) };
    case 'error':
      return { name, ms: st.durationMs, outcome: 'error', body: element('error', 'step-error', st, detail()) };
  }
}

function element(tag: 'failure' | 'error', type: string, st: StepRecord, body: string): string {
  const message = st.failure?.message ?? `step ${st.path} (${st.kind}) ${tag === 'error' ? 'broke' : 'failed'}`;
  return `<${tag} type="${type}" message="${xmlAttr(message)}">${xmlText(body)}</${tag}>`;
}

/** The failure's body: what the step was, expected against actual, and what the devices did meanwhile. */
function failureDetail(st: StepRecord, timeline: readonly DeviceEvent[]): string {
  const lines = [`step ${st.path} (${st.kind}) ${shortForm(st.params, 400)}`];
  if (st.failure) {
    lines.push(st.failure.message);
    if (st.failure.expected !== undefined) lines.push(`expected: ${prettyJson(st.failure.expected)}`);
    if (st.failure.actual !== undefined) lines.push(`actual:   ${prettyJson(st.failure.actual)}`);
  }
  const end = st.startedMs + Math.max(0, st.durationMs);
  const during = timeline.filter((e) => e.t >= st.startedMs && e.t <= end);
  if (during.length > 0) lines.push('device events during the step:', timelineText(during));
  return lines.join('\n');
}

function scenarioCase(s: ScenarioResult): Case | undefined {
  const bad = s.steps.some((st) => st.status === 'failed' || st.status === 'error');
  if (s.error) {
    const { code, message, hint } = s.error;
    const body = `<error type="${xmlAttr(code)}" message="${xmlAttr(message)}">${xmlText(`${code}: ${message}\n${hint}`)}</error>`;
    return { name: 'scenario', ms: 0, outcome: 'error', body };
  }
  if (bad || s.status === 'passed') return undefined;
  const message = `the scenario ${s.status === 'error' ? 'broke' : 'failed'} but none of its steps did`;
  const tag = s.status === 'error' ? 'error' : 'failure';
  return {
    name: 'scenario',
    ms: 0,
    outcome: tag,
    body: `<${tag} type="scenario" message="${xmlAttr(message)}">${xmlText(message)}</${tag}>`,
  };
}

/** One line per device event: "   130 ms  card:alice  SIGN_TXN". */
export function timelineText(events: readonly DeviceEvent[]): string {
  const width = Math.max(0, ...events.map((e) => e.source.length));
  return events
    .map((e) => `${String(Math.round(e.t)).padStart(8)} ms  ${e.source.padEnd(width)}  ${e.text}`)
    .join('\n')
    .concat(events.length > 0 ? '\n' : '');
}

/** Seconds with millisecond precision (xs:decimal, and the Surefire time pattern Jenkins checks). */
function seconds(ms: number): string {
  return (Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0).toFixed(3);
}

/** The schema's timestamp: ISO 8601 without fraction or zone; these are UTC. */
function junitTimestamp(startedAt: string, fallback: string): string {
  for (const t of [startedAt, fallback]) {
    const d = new Date(t);
    if (!Number.isNaN(d.getTime())) return d.toISOString().slice(0, 19);
  }
  return '1970-01-01T00:00:00';
}
