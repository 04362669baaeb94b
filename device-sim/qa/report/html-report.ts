import type { DeviceEvent, RunResult, ScenarioResult, StepRecord } from '../qa-types.js';
import { html, htmlMaybeChinese } from './escape.js';
import { REPORT_CSS } from './html-style.js';
import { prettyJson, shortForm } from './json-value.js';
import { runTotals } from './step-log.js';
import { formatMs, timelineSvg } from './timeline-svg.js';

/**
 * report.html: one self-contained page for a test manager. A verdict and a summary table, then per
 * scenario its steps (a failure's message, expected and actual next to it), the customer-display
 * screenshots and the device timeline. Every text shown comes from outside (scenario files, device
 * lines, daemon output) and goes through html(); the page's Content-Security-Policy allows no script
 * and no fetch at all, so even a slip in escaping could not run code or call out.
 */

/** Rows of a long scenario shown in full; beyond, only failed/errored steps (all are in steps.json). */
export const MAX_STEP_ROWS = 2000;
/** Rows of the full event list per scenario. */
export const MAX_EVENT_ROWS = 2000;
/** Events shown under a failed step. */
const MAX_EVENTS_PER_FAILURE = 40;

const CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function htmlReport(run: RunResult): string {
  const totals = runTotals(run);
  const verdict =
    totals.scenarios === 0 ? 'none' : totals.error > 0 ? 'error' : totals.failed > 0 ? 'failed' : 'passed';
  const verdictText =
    totals.scenarios === 0
      ? 'No scenarios were run'
      : verdict === 'passed'
        ? `All ${totals.scenarios} scenario${totals.scenarios === 1 ? '' : 's'} passed`
        : `${totals.failed + totals.error} of ${totals.scenarios} scenario${totals.scenarios === 1 ? '' : 's'} did not pass`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cardpost QA report — ${html(verdictText)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<header>
<h1>cardpost QA report</h1>
<p class="meta">Run started <b>${html(when(run.startedAt))}</b> · took <b>${formatMs(ms(run.durationMs))}</b> · ${
    run.seedOverride === undefined
      ? 'each scenario with its own seed'
      : `seed overridden: <b>${html(String(run.seedOverride))}</b>`
  } · ${totals.steps} steps: ${stepCounts(totals.stepsPassed, totals.stepsFailed, totals.stepsError, totals.stepsSkipped)}</p>
<div class="verdict ${verdict}">${html(verdictText)}</div>
</header>
<main>
${summaryTable(run)}
${run.scenarios.map(scenarioSection).join('\n')}
</main>
</body>
</html>
`;
}

function summaryTable(run: RunResult): string {
  const rows = run.scenarios.map((s, i) => {
    const c = (st: StepRecord['status']): number => s.steps.filter((x) => x.status === st).length;
    return `<tr><td><a href="#scenario-${i + 1}">${htmlMaybeChinese(s.name)}</a><br><span class="mono note">${html(s.file)}</span></td><td class="num">${html(String(s.seed))}</td><td>${badge(s.status)}</td><td class="counts">${stepCounts(c('passed'), c('failed'), c('error'), c('skipped'))}</td><td class="num">${formatMs(ms(s.durationMs))}</td></tr>`;
  });
  return `<table class="summary"><thead><tr><th>Scenario</th><th class="num">Seed</th><th>Status</th><th>Steps</th><th class="num">Duration</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>`;
}

function scenarioSection(s: ScenarioResult, i: number): string {
  const problem = s.error
    ? `<div class="problem"><span class="code mono">${html(s.error.code)}</span> ${htmlMaybeChinese(s.error.message)}<br>What to do: ${htmlMaybeChinese(s.error.hint)}</div>`
    : '';
  return `<section class="scenario ${html(s.status)}" id="scenario-${i + 1}">
<h2>${badge(s.status)} ${htmlMaybeChinese(s.name)}</h2>
<p class="meta">File <b class="mono">${html(s.file)}</b> · seed <b>${html(String(s.seed))}</b> · started <b>${html(when(s.startedAt))}</b> · took <b>${formatMs(ms(s.durationMs))}</b></p>
${problem}
<h3>Steps</h3>
${stepsTable(s)}
${screenshots(s)}
<h3>Device timeline</h3>
<p class="legend">Each band is a step, its number on top (red: failed, amber: error); each mark is an event a device reported. Point at a mark or band for its text.</p>
<div class="timeline">${timelineSvg(s)}</div>
${eventList(s.timeline)}
</section>`;
}

function stepsTable(s: ScenarioResult): string {
  if (s.steps.length === 0) return '<p class="note">No step was run.</p>';
  const bad = (st: StepRecord): boolean => st.status === 'failed' || st.status === 'error';
  const shown = s.steps.filter((st, k) => k < MAX_STEP_ROWS || bad(st));
  const rows = shown.map((st) => {
    const depth = Math.min(st.path.split('.').length - 1, 3);
    const params = shortForm(st.params);
    const row = `<tr class="${html(st.status)}"><td class="path mono${depth > 0 ? ` d${depth}` : ''}">${html(st.path)}</td><td><b>${html(st.kind)}</b></td><td class="params mono">${htmlMaybeChinese(params)}</td><td>${badge(st.status)}</td><td class="num">${formatMs(ms(st.startedMs))}</td><td class="num">${formatMs(ms(st.durationMs))}</td></tr>`;
    return st.failure && st.status !== 'passed' ? row + failureRow(st, s.timeline) : row;
  });
  const hidden = s.steps.length - shown.length;
  const more = hidden > 0 ? `<p class="note">${hidden} more passed or skipped steps are in steps.json.</p>` : '';
  return `<table class="steps"><thead><tr><th>Step</th><th>Kind</th><th>Params</th><th>Status</th><th class="num">At</th><th class="num">Took</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>${more}`;
}

function failureRow(st: StepRecord, timeline: readonly DeviceEvent[]): string {
  const f = st.failure!;
  const diff =
    f.expected !== undefined || f.actual !== undefined
      ? `<div class="diff"><div class="expected"><div class="label">Expected</div><pre>${htmlMaybeChinese(prettyJson(f.expected))}</pre></div><div class="actual"><div class="label">Actual</div><pre>${htmlMaybeChinese(prettyJson(f.actual))}</pre></div></div>`
      : '';
  const end = st.startedMs + ms(st.durationMs);
  const during = timeline.filter((e) => e.t >= st.startedMs && e.t <= end);
  const events =
    during.length > 0
      ? `<details class="during"><summary>${during.length} device event${during.length === 1 ? '' : 's'} during this step</summary><pre>${during
          .slice(0, MAX_EVENTS_PER_FAILURE)
          .map((e) => `${formatMs(ms(e.t)).padStart(9)}  ${html(e.source)}  ${htmlMaybeChinese(e.text)}`)
          .join('\n')}${during.length > MAX_EVENTS_PER_FAILURE ? '\n…' : ''}</pre></details>`
      : '';
  return `<tr class="failure-row ${html(st.status)}"><td></td><td colspan="5"><div class="why${st.status === 'error' ? ' error' : ''}">${htmlMaybeChinese(f.message)}</div>${diff}${events}</td></tr>`;
}

function screenshots(s: ScenarioResult): string {
  if (s.screenshots.length === 0) return '';
  const figures = s.screenshots.map((shot) => {
    const caption = `<figcaption>${htmlMaybeChinese(shot.label)} <span>· step ${html(shot.stepPath)}</span></figcaption>`;
    if (!isPng(shot.png))
      return `<figure><p class="note">Not a PNG image (${shot.png.length} bytes): not shown.</p>${caption}</figure>`;
    const src = `data:image/png;base64,${Buffer.from(shot.png).toString('base64')}`;
    return `<figure><img src="${src}" alt="${html(`Customer display: ${shot.label}`)}">${caption}</figure>`;
  });
  return `<h3>Customer display</h3>\n<div class="shots">${figures.join('\n')}</div>`;
}

function eventList(events: readonly DeviceEvent[]): string {
  if (events.length === 0) return '';
  const rows = events
    .slice(0, MAX_EVENT_ROWS)
    .map(
      (e) =>
        `<tr><td class="num">${formatMs(ms(e.t))}</td><td class="src mono">${html(e.source)}</td><td>${htmlMaybeChinese(e.text)}</td></tr>`,
    );
  const more =
    events.length > MAX_EVENT_ROWS
      ? `<p class="note">${events.length - MAX_EVENT_ROWS} more events are in steps.json.</p>`
      : '';
  return `<details class="events"><summary>All ${events.length} device events</summary><table><thead><tr><th class="num">At</th><th>Device</th><th>Event</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>${more}</details>`;
}

function badge(status: string): string {
  const word: Record<string, string> = {
    passed: '✓ passed',
    failed: '✗ failed',
    error: '! error',
    skipped: '– skipped',
  };
  return `<span class="badge ${html(status)}">${html(word[status] ?? status)}</span>`;
}

function stepCounts(passed: number, failed: number, error: number, skipped: number): string {
  const parts = [`${passed} passed`];
  if (failed > 0) parts.push(`<span class="f">${failed} failed</span>`);
  if (error > 0) parts.push(`<span class="e">${error} error</span>`);
  if (skipped > 0) parts.push(`<span class="s">${skipped} skipped</span>`);
  return parts.join(' · ');
}

/** A PNG by its signature: anything else would not show, and is not put into an <img>. */
function isPng(b: Uint8Array): boolean {
  return b.length > PNG_SIGNATURE.length && PNG_SIGNATURE.every((v, i) => b[i] === v);
}

const ms = (n: number): number => (Number.isFinite(n) && n > 0 ? n : 0);

/** "2026-12-06 10:00:00 UTC" from an ISO time; the text itself when it is not one. */
function when(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
