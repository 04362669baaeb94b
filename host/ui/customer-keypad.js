// The customer display's PIN keypad (issues 14 and 15): big buttons for touch, and the number keys,
// Backspace and Enter of a keyboard or numeric keypad attached to this screen. The digits typed live
// only in this module's array until the owner sends them (one POST to the daemon), and are dropped
// at once after; the page shows one dot per digit and how many were typed, never a digit.
//
// One keypad, two possible owners: a sale's PIN (customer-sale-pin.js) or the PIN service
// (customer-pin-service.js). The PIN service has priority; when it lets go, the keypad sends
// `cardpost:keypad-free` on document so the sale can take it back.

const $ = (id) => document.getElementById(id);

/** {zh, en} texts of the keypad itself. */
const K = {
  clear: { zh: '清除', en: 'Clear' },
  ok: { zh: '确定', en: 'OK' },
  keys: { zh: '数字键盘', en: 'Number keypad' },
  count: (n) =>
    n === 0
      ? { zh: '还没有输入数字', en: 'No digits typed yet' }
      : { zh: '已输入 ' + n + ' 位', en: n + (n === 1 ? ' digit typed' : ' digits typed') },
  tooShort: (min) => ({
    zh: '至少要输入 ' + min + ' 位数字',
    en: 'Type at least ' + min + ' digits',
  }),
  tooLong: (max) => ({ zh: '最多 ' + max + ' 位数字', en: 'At most ' + max + ' digits' }),
  checking: { zh: '正在检查，请稍候…', en: 'Checking — please wait…' },
};

function displayLang() {
  const q = new URLSearchParams(location.search).get('lang');
  if (q) return q.toLowerCase().startsWith('en') ? 'en' : 'zh';
  return localStorage.getItem('cardpost.customer.lang') === 'en' ? 'en' : 'zh';
}

const langOf = (k) => (k === 'zh' ? 'zh-CN' : 'en');

/** Both languages of `pair` into `el` as two spans, the display's language first. */
export function bilingual(el, pair, secondClass) {
  const first = displayLang();
  const second = first === 'en' ? 'zh' : 'en';
  const a = document.createElement('span');
  a.textContent = pair[first];
  a.lang = langOf(first);
  const b = document.createElement('span');
  b.textContent = pair[second];
  b.lang = langOf(second);
  if (secondClass) b.className = secondClass;
  el.replaceChildren(a, b);
}

/** "中文 / English" (or the other way round) for an accessible name. */
export function both(pair) {
  return displayLang() === 'en' ? pair.en + ' / ' + pair.zh : pair.zh + ' / ' + pair.en;
}

class Keypad {
  constructor() {
    this.owner = null; // 'sale' | 'service' | null
    this.opts = null; // {min, max, label:{zh,en}, onSubmit}
    this.digits = []; // the digits typed: here only, never in the DOM
    this.busy = false;
    this.built = false;
  }

  /** The keypad markup (once): a labelled section, the dots, the count, the keys. */
  build() {
    if (this.built) return;
    this.built = true;
    const root = $('keypad');
    root.addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-key]');
      if (!b || !this.owner) return;
      this.press(b.dataset.key);
      // A touch or mouse press leaves the focus on the keypad itself, so the Enter of an attached
      // keypad means OK (a keyboard user who tabbed to a key keeps it: ev.detail is 0 for Enter/Space).
      if (ev.detail > 0) root.focus({ preventScroll: true });
    });
    document.addEventListener('keydown', (ev) => this.onKey(ev));
  }

  /** Label texts and key names in the display's language order. */
  renderLabels() {
    const o = this.opts;
    if (!o) return;
    bilingual($('kp-label'), o.label, 'kp-second');
    const grid = $('kp-keys');
    grid.setAttribute('aria-label', both(K.keys));
    for (const b of grid.querySelectorAll('button[data-key]')) {
      const k = b.dataset.key;
      if (k === 'clear' || k === 'ok') {
        // The name is the visible words, both languages (WCAG 2.5.3 label in name).
        bilingual(b, K[k], 'kp-key-second');
        b.lang = langOf(displayLang());
      }
    }
  }

  renderDots() {
    const n = this.digits.length;
    const dots = $('kp-dots');
    dots.replaceChildren(
      ...Array.from({ length: n }, () => {
        const d = document.createElement('span');
        d.className = 'kp-dot';
        return d;
      }),
    );
    dots.dataset.count = String(n);
    bilingual($('kp-count'), K.count(n), 'kp-second');
  }

  say(pair, kind) {
    const m = $('kp-msg');
    if (!pair) {
      m.replaceChildren();
      delete m.dataset.kind;
      return;
    }
    bilingual(m, pair, 'kp-second');
    m.dataset.kind = kind;
  }

  /** Take the keypad for `owner`: fresh, empty, focused. `opts.onSubmit(pin)` sends the digits. */
  open(owner, opts) {
    this.build();
    const fresh = this.owner !== owner || this.opts !== opts;
    this.owner = owner;
    this.opts = opts;
    this.busy = false;
    this.wipe();
    this.renderLabels();
    this.renderDots();
    this.say(opts.message || null, 'info');
    const root = $('keypad');
    root.hidden = false;
    root.removeAttribute('aria-busy');
    $('display').dataset.keypad = 'on';
    if (fresh || !root.contains(document.activeElement)) root.focus({ preventScroll: true });
  }

  /** Let go of the keypad (only its owner can); the digits go with it. */
  close(owner) {
    if (this.owner !== owner) return;
    this.owner = null;
    this.opts = null;
    this.busy = false;
    this.wipe();
    if (!this.built) return;
    this.renderDots();
    this.say(null);
    const root = $('keypad');
    const hadFocus = root.contains(document.activeElement);
    root.hidden = true;
    delete $('display').dataset.keypad;
    if (hadFocus) document.activeElement.blur();
    document.dispatchEvent(new Event('cardpost:keypad-free'));
  }

  /** Re-label in the display's language (after the language button). */
  relabel() {
    if (!this.owner) return;
    this.renderLabels();
    this.renderDots();
  }

  wipe() {
    this.digits.fill('');
    this.digits.length = 0;
  }

  press(key) {
    if (!this.owner || this.busy) return;
    const o = this.opts;
    if (/^[0-9]$/.test(key)) {
      if (this.digits.length >= o.max) {
        this.say(K.tooLong(o.max), 'problem');
        return;
      }
      this.digits.push(key);
      this.say(null);
    } else if (key === 'del') this.digits.pop();
    else if (key === 'clear') {
      this.wipe();
      this.say(null);
    } else if (key === 'ok') return void this.submit();
    this.renderDots();
  }

  async submit() {
    const o = this.opts;
    if (this.digits.length < o.min) {
      this.say(K.tooShort(o.min), 'problem');
      return;
    }
    let pin = this.digits.join('');
    this.wipe();
    this.renderDots();
    this.busy = true;
    $('keypad').setAttribute('aria-busy', 'true');
    this.say(K.checking, 'info');
    try {
      await o.onSubmit(pin);
    } finally {
      pin = ''; // the only copy outside the request body
    }
    // Busy until the owner reopens the keypad (the next step, or the same one again) or refuses.
  }

  /** The owner's answer to a send that failed: show why, and let the customer type again. */
  refused(pair) {
    if (!this.owner) return;
    this.busy = false;
    $('keypad').removeAttribute('aria-busy');
    this.say(pair, 'problem');
    $('keypad').focus({ preventScroll: true });
  }

  onKey(ev) {
    if (!this.owner || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target;
    if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement) return;
    const onKeyButton = t instanceof HTMLButtonElement && $('keypad').contains(t);
    let key = null;
    if (/^[0-9]$/.test(ev.key)) key = ev.key;
    else if (ev.key === 'Backspace') key = 'del';
    else if (ev.key === 'Delete' || ev.key === 'Escape') key = 'clear';
    // Enter on a focused key presses that key (the button's own behaviour); anywhere else it is OK.
    else if (ev.key === 'Enter' && !onKeyButton) key = 'ok';
    if (key === null) return;
    ev.preventDefault();
    this.press(key);
  }
}

/** The one keypad of the customer display. */
export const keypad = new Keypad();
