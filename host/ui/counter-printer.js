// The counter page's receipt printer panel (docs/ui.md "Receipt printer"): the printer's state (ready, out
// of paper, cover open, fault, not answering) and the receipts it has not printed, in Chinese and English,
// live from the event stream (`status` first, then `printer`). On its own, beside counter.js: it only
// reads; a sale never waits for the printer. Hidden when the counter has no printer.
import { api, connectEvents, money } from './common.js';

const STATES = {
  ready: ['打印机就绪', 'Printer ready'],
  'paper-out': ['打印机缺纸', 'Printer out of paper'],
  'cover-open': ['打印机盖未关好', 'Printer cover open'],
  error: ['打印机故障', 'Printer fault'],
  offline: ['打印机无响应', 'Printer not answering'],
};
const HINTS = {
  'paper-out': [
    '请装入新纸卷，等待中的小票会自动打印。',
    'Load a new paper roll: waiting receipts print by themselves.',
  ],
  'cover-open': [
    '请关好打印机盖，等待中的小票会自动打印。',
    'Close the printer cover: waiting receipts print by themselves.',
  ],
  error: [
    '请检查纸路和切刀，或关掉打印机再打开。',
    'Clear the paper path and cutter, or switch the printer off and on.',
  ],
  offline: ['请检查打印机电源和连线。收款照常进行。', 'Check the printer power and cable. Sales go on as usual.'],
};
const JOBS = {
  queued: ['等待打印', 'waiting to print'],
  printing: ['正在打印', 'printing'],
  interrupted: ['打印中断，装纸后继续', 'interrupted: finishes once paper is in'],
  failed: ['小票未打印，请补打', 'receipt not printed: reprint it'],
};

const $ = (id) => document.getElementById(id);

/** Chinese first, English after, each marked with its language. */
function both(el, [zh, en]) {
  el.replaceChildren();
  const z = document.createElement('span');
  z.lang = 'zh-CN';
  z.textContent = zh;
  const e = document.createElement('span');
  e.lang = 'en';
  e.textContent = en;
  el.append(z, ' / ', e);
}

function panel() {
  let section = $('printer');
  if (section) return section;
  section = document.createElement('section');
  section.id = 'printer';
  section.className = 'card printer';
  section.setAttribute('aria-labelledby', 'printer-h');
  section.hidden = true;
  const h = document.createElement('h2');
  h.id = 'printer-h';
  both(h, ['小票打印机', 'Receipt printer']);
  const state = document.createElement('p');
  state.id = 'printer-state';
  state.setAttribute('role', 'status');
  state.setAttribute('aria-live', 'polite');
  const hint = document.createElement('p');
  hint.id = 'printer-hint';
  hint.className = 'help';
  const jobs = document.createElement('ul');
  jobs.id = 'printer-jobs';
  jobs.setAttribute('aria-label', '未打印的小票 / Receipts not printed');
  section.append(h, state, hint, jobs);
  (document.querySelector('.side') ?? document.querySelector('main') ?? document.body).append(section);
  return section;
}

function time(ms) {
  const d = new Date(ms);
  return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
}

/** Show the status's `printer` object (null: no printer, the panel hides). */
export function renderPrinter(p) {
  const section = panel();
  section.hidden = !p;
  if (!p) return;
  section.dataset.state = p.state;
  const state = $('printer-state');
  both(state, STATES[p.state] ?? [p.state, p.state]);
  if (p.paperLow && p.state === 'ready') state.append(' · 纸快用完了 / paper low');
  const hint = $('printer-hint');
  hint.hidden = !HINTS[p.state];
  if (HINTS[p.state]) both(hint, HINTS[p.state]);
  const list = $('printer-jobs');
  list.replaceChildren();
  for (const j of p.jobs) {
    const li = document.createElement('li');
    li.dataset.state = j.state;
    const what = j.amount !== null && j.currency !== null ? money(j.amount, j.currency) : '';
    li.textContent = [what, time(j.queuedAt), j.copy ? '副本 COPY' : ''].filter(Boolean).join(' · ') + ' — ';
    const label = document.createElement('span');
    both(label, JOBS[j.state] ?? [j.state, j.state]);
    li.append(label);
    if (j.state === 'failed') li.className = 'error';
    list.append(li);
  }
}

async function start() {
  // Wait, quietly, for the page to be paired (counter.js does the pairing): then follow the stream.
  for (;;) {
    const answer = await api('GET', '/api/v1/status');
    if (answer.status === 200) {
      renderPrinter(answer.body.printer ?? null);
      if (!answer.body.printer) return; // no printer in the config: nothing will change until the daemon restarts
      break;
    }
    await new Promise((r) => setTimeout(r, 3000));
  }
  connectEvents({ status: (s) => renderPrinter(s.printer ?? null), printer: (p) => renderPrinter(p) }, () => undefined);
}

if (typeof document !== 'undefined') void start();
