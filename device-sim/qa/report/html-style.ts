/**
 * The report's stylesheet, inlined in report.html (one self-contained file: no fonts, images or
 * scripts from anywhere). Status is never colour alone: each badge also says its word.
 */
export const REPORT_CSS = `
:root {
  --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --panel: #f6f8fa;
  --pass: #116329; --pass-bg: #dafbe1; --fail: #a40e26; --fail-bg: #ffebe9;
  --err: #7d4e00; --err-bg: #fff1c2; --skip: #59636e; --skip-bg: #eff2f5;
}
* { box-sizing: border-box; }
body {
  margin: 0; padding: 24px 32px 48px; color: var(--ink); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans", "PingFang SC", "Microsoft YaHei",
    "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif;
}
:lang(zh) { font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
h3 { font-size: 14px; margin: 18px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
a { color: #0b57d0; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
pre { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.meta { color: var(--muted); margin: 0 0 16px; }
.meta b { color: var(--ink); font-weight: 600; }
.verdict { display: inline-block; padding: 6px 14px; border-radius: 6px; font-weight: 700; font-size: 16px; margin: 8px 0 16px; }
.verdict.passed { background: var(--pass-bg); color: var(--pass); }
.verdict.failed { background: var(--fail-bg); color: var(--fail); }
.verdict.error { background: var(--err-bg); color: var(--err); }
.verdict.none { background: var(--skip-bg); color: var(--skip); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line); }
th { background: var(--panel); font-weight: 600; font-size: 12.5px; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.badge.passed { background: var(--pass-bg); color: var(--pass); }
.badge.failed { background: var(--fail-bg); color: var(--fail); }
.badge.error { background: var(--err-bg); color: var(--err); }
.badge.skipped { background: var(--skip-bg); color: var(--skip); }
.counts .f { color: var(--fail); font-weight: 600; }
.counts .e { color: var(--err); font-weight: 600; }
.counts .s { color: var(--skip); }
section.scenario { border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 24px 0; }
section.scenario.failed { border-left: 6px solid var(--fail); }
section.scenario.error { border-left: 6px solid var(--err); }
section.scenario.passed { border-left: 6px solid var(--pass); }
.problem { background: var(--err-bg); border: 1px solid #e5c46b; border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
.problem .code { font-weight: 700; }
table.steps td.path { white-space: nowrap; font-variant-numeric: tabular-nums; }
table.steps td.params { color: var(--muted); max-width: 520px; overflow-wrap: anywhere; }
table.steps tr.failed > td, table.steps tr.error > td { background: #fff8f7; }
table.steps tr.failure-row > td { background: #fff8f7; padding: 0 8px 12px 8px; }
.d1 { padding-left: 16px; } .d2 { padding-left: 30px; } .d3 { padding-left: 44px; }
.why { font-weight: 600; color: var(--fail); margin: 2px 0 6px; }
tr.error .why, .why.error { color: var(--err); }
.diff { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
.diff > div { border-radius: 4px; padding: 6px 8px; min-width: 0; }
.diff .expected { background: var(--pass-bg); }
.diff .actual { background: var(--fail-bg); }
.diff .label { font-size: 11px; font-weight: 700; text-transform: uppercase; color: var(--muted); }
.during { margin-top: 6px; color: var(--muted); }
.note { color: var(--muted); font-style: italic; }
.legend { color: var(--muted); font-size: 12.5px; margin: 0 0 6px; }
.shots { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; background: var(--panel); max-width: 520px; }
figure img { display: block; max-width: 100%; height: auto; background: #fff; border: 1px solid var(--line); }
figcaption { margin-top: 6px; font-weight: 600; }
figcaption span { font-weight: 400; color: var(--muted); }
.timeline { width: 100%; overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
.timeline svg { display: block; width: 100%; min-width: 720px; height: auto; font: 11px system-ui, sans-serif; }
details.events { margin-top: 8px; }
details.events summary { cursor: pointer; color: #0b57d0; }
details.events table { margin-top: 6px; }
details.events td.src { white-space: nowrap; color: var(--muted); }
@media print {
  body { padding: 0; }
  section.scenario { break-inside: avoid-page; }
  details.events { display: none; }
}
`;
