import type { DeviceEvent, ScenarioResult, StepRecord } from '../qa-types.js';
import { html } from './escape.js';

/**
 * A scenario's device timeline as inline SVG: one lane per device source, a mark per event at its
 * time, the steps as alternating bands (a failed one in red) with their path on top. Each mark and
 * band carries a <title>, which the browser shows on hover: no script needed.
 */

const WIDTH = 1000;
const LABEL_W = 130;
const PLOT_W = WIDTH - LABEL_W - 12;
const AXIS_H = 34;
const LANE_H = 22;
/** Beyond this many events the marks are thinned (every event stays in steps.json and the list). */
export const MAX_MARKS = 4000;
/** Beyond this many steps only every n-th band is drawn, and every failed one. */
export const MAX_BANDS = 2000;

/** Lane order: the runner and the host side first, then the devices, each kind in first-seen order. */
const KIND_ORDER = ['runner', 'daemon', 'bank', 'reader', 'terminal', 'card', 'printer', 'display'];
const KIND_COLOUR: Record<string, string> = {
  runner: '#59636e',
  daemon: '#0b57d0',
  bank: '#8250df',
  reader: '#0a7a6a',
  terminal: '#bc4c00',
  card: '#1a7f37',
  printer: '#6e5494',
  display: '#c0267a',
};

const kindOf = (source: string): string => source.split(':')[0]!;

export function laneOrder(events: readonly DeviceEvent[]): string[] {
  const seen: string[] = [];
  for (const e of events) if (!seen.includes(e.source)) seen.push(e.source);
  const rank = (s: string): number => {
    const k = KIND_ORDER.indexOf(kindOf(s));
    return k < 0 ? KIND_ORDER.length : k;
  };
  return seen
    .map((s, i) => ({ s, i }))
    .sort((a, b) => rank(a.s) - rank(b.s) || a.i - b.i)
    .map((x) => x.s);
}

/** A tick every 1, 2 or 5 × 10^n ms, about eight across. */
function tickStep(spanMs: number): number {
  const raw = spanMs / 8;
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

const finite = (n: number): number => (Number.isFinite(n) && n > 0 ? n : 0);

export function timelineSvg(s: ScenarioResult): string {
  const lanes = laneOrder(s.timeline);
  const endMs = Math.max(
    1,
    finite(s.durationMs),
    ...s.timeline.map((e) => finite(e.t)),
    ...s.steps.map((st) => finite(st.startedMs) + finite(st.durationMs)),
  );
  const x = (t: number): number => LABEL_W + (finite(t) / endMs) * PLOT_W;
  const height = AXIS_H + Math.max(lanes.length, 1) * LANE_H + 8;
  const plotBottom = height - 8;
  const parts: string[] = [];

  parts.push(...stepBands(s.steps, x, plotBottom));
  parts.push(...axis(endMs, x, plotBottom));
  lanes.forEach((source, i) => {
    const y = AXIS_H + i * LANE_H;
    if (i % 2 === 1) parts.push(`<rect x="0" y="${y}" width="${LABEL_W - 4}" height="${LANE_H}" fill="#f6f8fa"/>`);
    parts.push(
      `<line x1="${LABEL_W}" y1="${y + LANE_H / 2}" x2="${LABEL_W + PLOT_W}" y2="${y + LANE_H / 2}" stroke="#eaeef2"/>`,
    );
    const label = source.length > 20 ? `${source.slice(0, 19)}…` : source;
    parts.push(
      `<text x="${LABEL_W - 10}" y="${y + LANE_H / 2 + 4}" text-anchor="end" fill="#1f2328"><title>${html(source)}</title>${html(label)}</text>`,
    );
  });
  parts.push(...marks(s.timeline, lanes, x));
  if (lanes.length === 0)
    parts.push(`<text x="${LABEL_W + 8}" y="${AXIS_H + 15}" fill="#59636e">no device events were recorded</text>`);

  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" role="img" ` +
    `aria-label="Device timeline: ${lanes.length} devices, ${s.timeline.length} events">${parts.join('')}</svg>`
  );
}

/** Band colours by step status: failed red, error amber, the others alternating so boundaries show. */
const BAND: Record<string, { fill: string; edge: string; text: string }> = {
  failed: { fill: '#ffd8d3', edge: '#cf222e', text: '#a40e26' },
  error: { fill: '#ffe7a3', edge: '#bf8700', text: '#7d4e00' },
};

function stepBands(steps: readonly StepRecord[], x: (t: number) => number, bottom: number): string[] {
  const bands: string[] = [];
  const candidates: { x0: number; st: StepRecord }[] = [];
  const every = Math.ceil(steps.length / MAX_BANDS);
  steps.forEach((st, i) => {
    if (i % every !== 0 && !BAND[st.status]) return;
    const x0 = x(st.startedMs);
    const w = Math.max(x(st.startedMs + finite(st.durationMs)) - x0, 1);
    const bad = BAND[st.status];
    const fill = bad?.fill ?? (i % 2 === 0 ? '#eef3fb' : '#ffffff');
    const title = `step ${st.path} ${st.kind}: ${st.status}, ${formatMs(finite(st.durationMs))}`;
    bands.push(
      `<rect x="${x0.toFixed(1)}" y="18" width="${w.toFixed(1)}" height="${bottom - 18}" fill="${fill}"><title>${html(title)}</title></rect>`,
      `<line x1="${x0.toFixed(1)}" y1="18" x2="${x0.toFixed(1)}" y2="${bottom}" stroke="${bad?.edge ?? '#afb8c1'}" stroke-width="${bad ? 1.2 : 0.6}"/>`,
    );
    candidates.push({ x0, st });
  });
  // Path labels (about 6 units a character) where they do not run into another: failed steps'
  // first, then the others in order. Drawn after every band, so no band hides one.
  const placed: [number, number][] = [];
  const labels: string[] = [];
  const bad = (c: { st: StepRecord }): boolean => BAND[c.st.status] !== undefined;
  for (const c of [...candidates.filter(bad), ...candidates.filter((c) => !bad(c))]) {
    const span: [number, number] = [c.x0, c.x0 + 6 * c.st.path.length + 6];
    if (placed.some(([a, b]) => span[0] < b && a < span[1])) continue;
    placed.push(span);
    const colour = BAND[c.st.status];
    labels.push(
      `<text x="${(c.x0 + 2).toFixed(1)}" y="29" font-size="10" fill="${colour?.text ?? '#59636e'}"${colour ? ' font-weight="700"' : ''}>${html(c.st.path)}</text>`,
    );
  }
  return [...bands, ...labels];
}

function axis(endMs: number, x: (t: number) => number, bottom: number): string[] {
  const step = tickStep(endMs);
  const out = [`<line x1="${LABEL_W}" y1="16" x2="${LABEL_W + PLOT_W}" y2="16" stroke="#8c959f"/>`];
  for (let t = 0; t <= endMs + 1e-9; t += step) {
    const tx = x(t).toFixed(1);
    out.push(
      `<line x1="${tx}" y1="12" x2="${tx}" y2="16" stroke="#8c959f"/>`,
      `<text x="${tx}" y="10" text-anchor="${x(t) > LABEL_W + PLOT_W - 20 ? 'end' : 'middle'}" fill="#59636e">${formatMs(t)}</text>`,
    );
  }
  out.push(`<text x="4" y="29" font-size="10" fill="#59636e">step</text>`);
  out.push(`<line x1="${LABEL_W}" y1="${bottom}" x2="${LABEL_W + PLOT_W}" y2="${bottom}" stroke="#d1d9e0"/>`);
  return out;
}

function marks(events: readonly DeviceEvent[], lanes: readonly string[], x: (t: number) => number): string[] {
  const every = Math.ceil(events.length / MAX_MARKS);
  const out: string[] = [];
  events.forEach((e, i) => {
    if (i % every !== 0) return;
    const lane = lanes.indexOf(e.source);
    const cy = AXIS_H + lane * LANE_H + LANE_H / 2;
    const colour = KIND_COLOUR[kindOf(e.source)] ?? '#24292f';
    const text = e.text.length > 300 ? `${e.text.slice(0, 299)}…` : e.text;
    out.push(
      `<rect x="${(x(e.t) - 2).toFixed(1)}" y="${cy - 6}" width="4" height="12" rx="1.5" fill="${colour}"><title>${html(`${formatMs(finite(e.t))}  ${e.source}\n${text}`)}</title></rect>`,
    );
  });
  return out;
}
