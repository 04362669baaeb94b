// The counter page's PIN service panel (issue 14): activate a new card, change a PIN, or unblock it
// with the PUK. The cashier only starts, watches and cancels: the customer types every digit on the
// customer display (or a terminal's keypad), so this page shows the step, the tries left and the
// outcome with what to do, and never a digit typed. Follows the `pinService` events and, on load,
// GET /api/v1/pin-services/current (counter.js calls onPinService / loadPinService).
import { api, errorOf, refusalText, show } from './common.js';

const $ = (id) => document.getElementById(id);
const FINAL = new Set(['done', 'failed', 'cancelled', 'timed_out']);

let view = null; // the PinServiceView shown
const activations = new Set(); // services the cashier started with "Activate new card"
let starting = false;

const STATE = {
  idle: { zh: '没有进行中的密码服务', en: 'No PIN service running' },
  waiting_card: { zh: '请把卡插入读卡器', en: 'Insert the card in the reader' },
  reading: { zh: '正在读卡', en: 'Reading the card' },
  display: { zh: '顾客正在客显上输入密码', en: 'Customer is entering the PIN on the customer display' },
  device: { zh: '顾客正在终端密码键盘上输入密码', en: "Customer is entering the PIN on the terminal's keypad" },
  working: { zh: '正在写入卡片，请勿拔卡', en: 'Writing to the card — do not remove it' },
  done: { zh: '完成：新密码已设置', en: 'Done: the new PIN is set' },
  cancelled: { zh: '已取消，密码没有改变', en: 'Cancelled — the PIN was not changed' },
  timed_out: {
    zh: '超时：顾客没有及时输入，密码没有改变',
    en: 'Timed out: the customer did not type in time — the PIN was not changed',
  },
  failed: { zh: '没有完成', en: 'Not finished' },
};

const KIND = {
  activation: { zh: '激活新卡', en: 'Activating a new card' },
  change: { zh: '修改密码', en: 'Changing the PIN' },
  unblock: { zh: '解锁密码', en: 'Unblocking the PIN' },
};

function stepText(v) {
  switch (v.step) {
    case 'current':
      return v.activation
        ? { zh: '第 1 步（共 3 步）：发卡机构来信中的密码', en: "Step 1 of 3: the PIN from the issuer's letter" }
        : { zh: '第 1 步（共 3 步）：现在的密码', en: 'Step 1 of 3: the current PIN' };
    case 'puk':
      return { zh: '第 1 步（共 3 步）：PUK 解锁码', en: 'Step 1 of 3: the PUK code' };
    case 'new':
      return { zh: '第 2 步（共 3 步）：新密码', en: 'Step 2 of 3: the new PIN' };
    case 'confirm':
      return { zh: '第 3 步（共 3 步）：再次输入新密码', en: 'Step 3 of 3: the new PIN again' };
    default:
      return null;
  }
}

const NOTICE = {
  PIN_WRONG: { zh: '顾客输入的密码不对，请顾客重新输入', en: 'The customer typed a wrong PIN and types it again' },
  PUK_WRONG: {
    zh: '顾客输入的 PUK 解锁码不对，请顾客重新输入',
    en: 'The customer typed a wrong PUK and types it again',
  },
  PIN_MISMATCH: { zh: '两次新密码不一致，顾客重新设置', en: 'The two new PINs differed: the customer chooses again' },
  PIN_TOO_WEAK: {
    zh: '新密码太容易猜到，顾客重新设置',
    en: 'The new PIN was too easy to guess: the customer chooses another',
  },
};

/** [what happened, what to do] for a failed service, by error code. */
function failed(e) {
  switch (e.code) {
    case 'CARD_PIN_BLOCKED':
      return [
        { zh: '卡片密码已锁定', en: "The card's PIN is blocked" },
        {
          zh: '可用“解锁密码”（顾客需要 PUK 解锁码），或请顾客到发卡机构办理',
          en: 'Use "Unblock PIN" (the customer needs the PUK code), or send the customer to the card issuer',
        },
      ];
    case 'CARD_PUK_BLOCKED':
    case 'CARD_TERMINATED':
      return [
        { zh: '卡片已停用（PUK 错误次数过多）', en: 'The card is terminated (too many wrong PUKs)' },
        { zh: '请顾客到发卡机构换新卡', en: 'The customer needs a new card from the card issuer' },
      ];
    case 'CARD_REMOVED':
      return [
        { zh: '卡片被拔出', en: 'The card was removed' },
        { zh: '把卡片插回读卡器，再重新开始', en: 'Put the card back in the reader and start again' },
      ];
    case 'CARD_REVOKED':
    case 'CARD_BLOCKED':
      return [
        { zh: '此卡已被发卡机构注销', en: 'The card was revoked by the card issuer' },
        {
          zh: '这里无法处理，请顾客联系发卡机构',
          en: 'Nothing can be done here: the customer contacts the card issuer',
        },
      ];
    case 'PIN_UNBLOCK_NOT_ALLOWED':
      return [
        { zh: '本收银台不允许解锁密码', en: 'Unblocking a PIN is not allowed at this counter' },
        {
          zh: '请顾客带卡和 PUK 信件到发卡机构',
          en: 'The customer takes the card and the PUK letter to the card issuer',
        },
      ];
    default:
      return [
        { zh: '没有完成（' + e.code + '）', en: 'Not finished: ' + e.message },
        { zh: '请按以下说明处理', en: e.hint },
      ];
  }
}

const START_REFUSED = {
  PIN_SERVICE_READER_REQUIRED: {
    zh: '有几个读卡器，请先在上面选择插着卡的读卡器',
    en: 'Several readers: choose the one with the card above first',
  },
  READER_BUSY: {
    zh: '读卡器正忙（有交易或其他服务），请等它结束',
    en: 'The reader is busy (a sale or another service): wait for it to end',
  },
  READER_NOT_FOUND: { zh: '找不到读卡器，请接好读卡器', en: 'No such reader: connect the reader' },
  PIN_UNBLOCK_NOT_ALLOWED: {
    zh: '本收银台不允许解锁密码，请顾客到发卡机构',
    en: 'Unblocking a PIN is not allowed at this counter: send the customer to the card issuer',
  },
};

/** "中文 / English" into `el`: the Chinese marked as such (the page is in English). */
function bi(el, pair) {
  if (!pair) {
    el.replaceChildren();
    return;
  }
  const zh = document.createElement('span');
  zh.lang = 'zh-CN';
  zh.textContent = pair.zh;
  el.replaceChildren(zh, document.createTextNode(' / ' + pair.en));
}

function triesText(v) {
  if (v.state !== 'entry' || typeof v.triesLeft !== 'number') return null;
  const puk = v.step === 'puk' || (v.kind === 'unblock' && !v.step && !v.notice);
  const n = v.triesLeft;
  const what = puk ? { zh: 'PUK ', en: ' (PUK)' } : { zh: '密码', en: ' (PIN)' };
  if (n === 1)
    return {
      zh: what.zh + '只剩 1 次 — 再错' + (puk ? '卡片将停用' : '将锁卡'),
      en: '1 try left' + what.en + ' — one more wrong ' + (puk ? 'PUK terminates the card' : 'PIN blocks the card'),
    };
  return { zh: what.zh + '剩余 ' + n + ' 次', en: n + ' tries left' + what.en };
}

function render() {
  const v = view;
  const running = !!v && !FINAL.has(v.state);
  for (const b of $('ps-start').querySelectorAll('button')) b.disabled = running || starting;
  show($('ps-cancel'), running && v.state !== 'working');
  const stateEl = $('ps-state');
  if (!v) {
    stateEl.dataset.state = 'idle';
    bi(stateEl, STATE.idle);
    $('ps-detail').replaceChildren();
    bi($('ps-tries'), null);
    show($('ps-outcome'), false);
    return;
  }
  stateEl.dataset.state = v.state;
  const kind = v.activation ? KIND.activation : KIND[v.kind];
  const key = v.state === 'entry' ? (v.entryOnDevice ? 'device' : 'display') : v.state;
  const head = STATE[key] || STATE.failed;
  bi(stateEl, { zh: kind.zh + '：' + head.zh, en: kind.en + ': ' + head.en });

  const detail = [];
  if (v.state === 'waiting_card' && v.reader) detail.push({ zh: '读卡器：' + v.reader, en: 'Reader: ' + v.reader });
  if (v.cardLast4) detail.push({ zh: '卡号末四位 ' + v.cardLast4, en: 'card …' + v.cardLast4 });
  if (v.state === 'entry' && v.step) detail.push(stepText(v));
  if (v.state === 'entry' && v.notice)
    detail.push(NOTICE[v.notice.code] || { zh: '请顾客重新输入', en: v.notice.message });
  if (
    activations.has(v.serviceId) &&
    !v.activation &&
    v.kind === 'change' &&
    !FINAL.has(v.state) &&
    v.state !== 'waiting_card'
  )
    detail.push({
      zh: '此卡已经激活过：顾客输入现在的密码即可修改',
      en: 'This card is already active: the customer types the current PIN to change it',
    });
  $('ps-detail').replaceChildren(
    ...detail.map((d) => {
      const line = document.createElement('span');
      line.className = 'ps-line';
      bi(line, d);
      return line;
    }),
  );
  const tries = triesText(v);
  bi($('ps-tries'), tries);
  $('ps-tries').dataset.last = tries && v.triesLeft === 1 ? 'true' : 'false';

  const outcome = $('ps-outcome');
  let out = null;
  if (v.state === 'done')
    out = [
      { zh: '新密码已设置', en: 'The new PIN is set' },
      { zh: '请把卡片交还顾客', en: 'Give the card back to the customer' },
    ];
  else if (v.state === 'failed') out = failed(v.error || { code: 'UNKNOWN', message: 'unknown', hint: '' });
  else if (v.state === 'timed_out')
    out = [STATE.timed_out, { zh: '如顾客需要，请重新开始', en: 'Start again if the customer wishes' }];
  else if (v.state === 'cancelled')
    out = [STATE.cancelled, { zh: '如顾客需要，请重新开始', en: 'Start again if the customer wishes' }];
  show(outcome, !!out);
  outcome.dataset.kind = v.state === 'done' ? 'ok' : v.state === 'cancelled' ? 'calm' : 'error';
  if (out) {
    bi($('ps-outcome-what'), out[0]);
    bi($('ps-outcome-todo'), out[1]);
  }
}

/** A PinServiceView from the event stream or an API answer; an older one never replaces a newer. */
export function onPinService(v) {
  if (!v || typeof v.serviceId !== 'string') return;
  if (view && v.serviceId === view.serviceId && v.updatedAt < view.updatedAt) return;
  if (view && v.serviceId !== view.serviceId && v.createdAt < view.createdAt) return;
  view = v;
  render();
}

/**
 * The readers (from the status and the `readers` events): with two or more, the cashier picks the one
 * holding the card, as the daemon cannot tell which card is meant ("Automatic" lets it pick when it can).
 */
export function pinReaders(readers) {
  const select = $('ps-reader');
  if (!select || !Array.isArray(readers)) return;
  const names = readers.map((r) => r.name);
  const was = select.value;
  const auto = document.createElement('option');
  auto.value = '';
  auto.textContent = '自动（插着卡的读卡器） / Automatic (the reader with the card)';
  select.replaceChildren(
    auto,
    ...readers.map((r) => {
      const o = document.createElement('option');
      o.value = r.name;
      o.textContent = r.name + (r.cardPresent ? ' — 有卡 / card in' : ' — 无卡 / no card');
      return o;
    }),
  );
  select.value = names.includes(was) ? was : '';
  show($('ps-reader-row'), names.length >= 2);
}

/** The live (or just ended) service, on load and after a reconnect. */
export async function loadPinService() {
  const a = await api('GET', '/api/v1/pin-services/current');
  if (a.status === 200 && a.body) onPinService(a.body);
}

async function start(button) {
  if (starting || (view && !FINAL.has(view.state))) return;
  starting = true;
  render();
  const msg = $('ps-outcome');
  const reader = $('ps-reader-row').hidden ? '' : $('ps-reader').value;
  const answer = await api('POST', '/api/v1/pin-services', {
    kind: button.dataset.kind,
    ...(reader ? { reader } : {}),
  });
  starting = false;
  if (answer.status !== 201) {
    render();
    const e = errorOf(answer);
    bi($('ps-outcome-what'), START_REFUSED[e.code] || { zh: '无法开始', en: 'Could not start' });
    $('ps-outcome-todo').textContent = refusalText(e);
    msg.dataset.kind = 'error';
    show(msg, true);
    if (e.code === 'PIN_SERVICE_READER_REQUIRED' && !$('ps-reader-row').hidden) $('ps-reader').focus();
    return;
  }
  if (button.dataset.activate === 'true') activations.add(answer.body.serviceId);
  onPinService(answer.body);
  render();
  $('ps-status').focus({ preventScroll: true });
}

async function cancel() {
  if (!view || FINAL.has(view.state)) return;
  const answer = await api('POST', '/api/v1/pin-services/' + encodeURIComponent(view.serviceId) + '/cancel');
  if (answer.status === 200) onPinService(answer.body);
  else {
    const e = errorOf(answer);
    bi($('ps-outcome-what'), { zh: '无法取消', en: 'Could not cancel' });
    $('ps-outcome-todo').textContent = refusalText(e);
    show($('ps-outcome'), true);
  }
}

if ($('pin-service')) {
  for (const b of $('ps-start').querySelectorAll('button')) b.addEventListener('click', () => void start(b));
  $('ps-cancel').addEventListener('click', () => void cancel());
  $('ps-status').tabIndex = -1;
  render();
}
