// What the customer display says during a PIN service (activation, change, unblock): plain {zh, en}
// pairs for elderly card holders, one instruction at a time, always with what to do next.

export const TITLE = {
  activation: { zh: '激活新卡', en: 'Activate your new card' },
  change: { zh: '修改密码', en: 'Change your PIN' },
  unblock: { zh: '解锁密码', en: 'Unblock your PIN' },
};

/** The keypad's label for each step. */
export const KEY_LABEL = {
  current: { zh: '现在的密码', en: 'Current PIN' },
  activation: { zh: '来信中的密码', en: 'PIN from the letter' },
  puk: { zh: 'PUK 解锁码', en: 'PUK code' },
  new: { zh: '新密码', en: 'New PIN' },
  confirm: { zh: '再输一次新密码', en: 'New PIN again' },
};

/** What to do at each step: [instruction, hint|null]. */
export function stepText(step, activation) {
  switch (step) {
    case 'current':
      return activation
        ? [
            { zh: '请输入发卡机构来信中的密码', en: 'Enter the PIN in the letter from your card issuer' },
            { zh: '在键盘上输入，输完按“确定”', en: 'Type it on the keypad, then press OK' },
          ]
        : [
            { zh: '请输入您现在的密码', en: 'Enter your current PIN' },
            { zh: '在键盘上输入，输完按“确定”', en: 'Type it on the keypad, then press OK' },
          ];
    case 'puk':
      return [
        { zh: '请输入 PUK 解锁码', en: 'Enter your PUK unblocking code' },
        {
          zh: 'PUK 解锁码在发卡机构给您的信中（8 到 12 位数字）',
          en: 'The PUK is in the letter from your card issuer (8 to 12 digits)',
        },
      ];
    case 'new':
      return [
        { zh: '请设置新密码（4–12 位数字）', en: 'Choose a new PIN (4–12 digits)' },
        {
          zh: '不要全是同一个数字，不要连号（如 1234），不要和旧密码一样',
          en: 'Not all the same digit, not a run like 1234, not your old PIN',
        },
      ];
    case 'confirm':
      return [
        { zh: '请再输入一次新密码', en: 'Enter the new PIN again' },
        { zh: '和刚才输入的新密码一样', en: 'The same new PIN you just typed' },
      ];
    default:
      return [{ zh: '请稍候', en: 'Please wait' }, null];
  }
}

/** "Step 1 of 3". */
export function stepNumber(step) {
  const n = { current: 1, puk: 1, new: 2, confirm: 3 }[step];
  return n ? { zh: '第 ' + n + ' 步，共 3 步', en: 'Step ' + n + ' of 3' } : null;
}

export const STATE = {
  waiting_card: [{ zh: '请插入卡片', en: 'Please insert your card' }, null],
  reading: [{ zh: '正在读卡，请勿拔卡', en: 'Reading the card — do not remove it' }, null],
  onDevice: [
    { zh: '请在终端的密码键盘上输入', en: "Please type on the terminal's keypad" },
    { zh: '按终端屏幕上的提示输入密码', en: "Follow the terminal's screen to type the PIN" },
  ],
  working: [{ zh: '正在设置新密码，请勿拔卡', en: 'Setting your new PIN — do not remove the card' }, null],
  done: [
    { zh: '密码已设置，卡片可以使用了', en: 'Your new PIN is set — the card is ready' },
    { zh: '请取回卡片，并记住新密码', en: 'Please take your card, and remember the new PIN' },
  ],
  cancelled: [
    { zh: '已取消，密码没有改变', en: 'Cancelled — the PIN was not changed' },
    { zh: '如需修改，请询问收银员', en: 'To change it, please ask the cashier' },
  ],
  timed_out: [
    { zh: '等待超时，密码没有改变', en: 'Time ran out — the PIN was not changed' },
    { zh: '请收银员重新开始', en: 'Please ask the cashier to start again' },
  ],
};

/** The outcome of a failed service, by error code: [what happened, what to do]. */
export function failedText(code) {
  switch (code) {
    case 'CARD_PIN_BLOCKED':
      return [
        { zh: '卡片密码已锁定', en: "The card's PIN is locked" },
        {
          zh: '请用 PUK 解锁码解锁（请收银员选“解锁密码”），或到发卡机构办理',
          en: 'Unblock it with your PUK code (ask the cashier for "Unblock PIN"), or go to your card issuer',
        },
      ];
    case 'CARD_PUK_BLOCKED':
    case 'CARD_TERMINATED':
      return [
        { zh: '此卡已停用', en: 'This card can no longer be used' },
        { zh: '请带上卡片到发卡机构换新卡', en: 'Please take the card to your card issuer for a new one' },
      ];
    case 'CARD_REVOKED':
    case 'CARD_BLOCKED':
      return [
        { zh: '此卡已被发卡机构注销', en: 'This card was cancelled by the card issuer' },
        { zh: '请联系发卡机构', en: 'Please contact your card issuer' },
      ];
    case 'CARD_REMOVED':
      return [
        { zh: '卡片被拔出了', en: 'The card was removed' },
        { zh: '请把卡片插回，请收银员重新开始', en: 'Put the card back, and ask the cashier to start again' },
      ];
    case 'PIN_UNBLOCK_NOT_ALLOWED':
      return [
        { zh: '这里不能解锁密码', en: 'The PIN cannot be unblocked here' },
        { zh: '请带上卡片和 PUK 信件到发卡机构', en: 'Please take the card and the PUK letter to your card issuer' },
      ];
    default:
      return [
        { zh: '没有完成，密码可能没有改变', en: 'This did not finish — the PIN may not have changed' },
        { zh: '请询问收银员', en: 'Please ask the cashier' },
      ];
  }
}

/** Why a step is asked again: [what, more]. */
export function noticeText(notice, triesLeft) {
  const tries = (n, lockZh, lockEn) =>
    n === 1
      ? { zh: '只剩 1 次机会 — ' + lockZh, en: 'Only 1 try left — ' + lockEn }
      : { zh: '还可以再试 ' + n + ' 次', en: n + ' tries left' };
  switch (notice.code) {
    case 'PIN_WRONG':
      return [
        { zh: '密码不对，请重新输入', en: 'Wrong PIN — please try again' },
        tries(triesLeft, '再错密码将锁定', 'one more wrong PIN locks it'),
      ];
    case 'PUK_WRONG':
      return [
        { zh: 'PUK 解锁码不对，请重新输入', en: 'Wrong PUK code — please try again' },
        tries(triesLeft, '再错卡片将停用', 'one more wrong PUK stops the card for good'),
      ];
    case 'PIN_MISMATCH':
      return [
        { zh: '两次输入的新密码不一样', en: 'The two new PINs were not the same' },
        { zh: '请重新设置新密码，再输入一次同样的', en: 'Please choose the new PIN again, then type it once more' },
      ];
    case 'PIN_TOO_WEAK':
      return [
        { zh: '这个新密码太容易被猜到，请换一个', en: 'That new PIN is too easy to guess — choose another' },
        weakWhy(notice),
      ];
    default:
      return [{ zh: '请重新输入', en: 'Please type it again' }, null];
  }
}

/** Why the new PIN was refused (the daemon's message says which rule). */
function weakWhy(notice) {
  const m = (notice.message || '').toLowerCase();
  if (m.includes('repeated')) return { zh: '不能全是同一个数字（如 1111）', en: 'Not all the same digit (like 1111)' };
  if (m.includes('run')) return { zh: '不能是连号（如 1234 或 4321）', en: 'Not a run of digits (like 1234 or 4321)' };
  if (m.includes('same as the old')) return { zh: '不能和旧密码一样', en: 'Not the same as your old PIN' };
  return {
    zh: '不能全是同一个数字，不能连号（如 1234），不能和旧密码一样',
    en: 'Not all the same digit, not a run like 1234, not your old PIN',
  };
}

/** The last-try warning when no notice says so (a card that already had wrong tries). */
export function lastTry(step) {
  return step === 'puk'
    ? { zh: '只剩 1 次机会 — 再错卡片将停用', en: 'Only 1 try left — one more wrong PUK stops the card for good' }
    : { zh: '只剩 1 次机会 — 再错密码将锁定', en: 'Only 1 try left — one more wrong PIN locks it' };
}

export const TIME = {
  say: { zh: '时间快到了，请在 20 秒内输完', en: 'Time is nearly up — please finish within 20 seconds' },
  left: (s) => ({ zh: '时间快到了：还剩 ' + s + ' 秒', en: 'Time is nearly up: ' + s + ' s left' }),
};

export const CLOSE = { zh: '关闭', en: 'Close' };
export const REFUSED = {
  format: { zh: '位数不对，请重新输入', en: 'Wrong number of digits — please type it again' },
  other: { zh: '没有发送成功，请重新输入', en: 'That did not go through — please type it again' },
  notHere: {
    zh: '此屏幕不能输入密码，请询问收银员',
    en: 'A PIN cannot be typed on this screen — please ask the cashier',
  },
};
