// The counter page's PIN service panel (counter-pin-service.js, counter.html #pin-service): the cashier
// starts, watches and cancels; the customer types every digit on the customer display. Part of the
// catalogue (i18n.js).
export const TEXTS = {
  'ps.heading': { zh: '密码服务', en: 'PIN service' },
  'ps.help': {
    zh: '顾客在客显（或终端密码键盘）上输入密码，本页看不到密码。',
    en: "The customer types every PIN on the customer display (or the terminal's keypad); this page never sees it.",
  },
  'ps.reader': { zh: '读卡器', en: 'Reader' },
  'ps.auto': { zh: '自动（插着卡的读卡器）', en: 'Automatic (the reader with the card)' },
  'ps.readerCardIn': { zh: '{reader} — 有卡', en: '{reader} — card in' },
  'ps.readerNoCard': { zh: '{reader} — 无卡', en: '{reader} — no card' },
  'ps.activate': { zh: '激活新卡', en: 'Activate new card' },
  'ps.change': { zh: '修改密码', en: 'Change PIN' },
  'ps.unblock': { zh: '解锁密码', en: 'Unblock PIN' },
  'ps.cancel': { zh: '取消密码服务', en: 'Cancel PIN service' },

  'ps.state.idle': { zh: '没有进行中的密码服务', en: 'No PIN service running' },
  'ps.state.waiting_card': { zh: '请把卡插入读卡器', en: 'Insert the card in the reader' },
  'ps.state.reading': { zh: '正在读卡', en: 'Reading the card' },
  'ps.state.display': { zh: '顾客正在客显上输入密码', en: 'Customer is entering the PIN on the customer display' },
  'ps.state.device': {
    zh: '顾客正在终端密码键盘上输入密码',
    en: "Customer is entering the PIN on the terminal's keypad",
  },
  'ps.state.working': { zh: '正在写入卡片，请勿拔卡', en: 'Writing to the card — do not remove it' },
  'ps.state.done': { zh: '完成：新密码已设置', en: 'Done: the new PIN is set' },
  'ps.state.cancelled': { zh: '已取消，密码没有改变', en: 'Cancelled — the PIN was not changed' },
  'ps.state.timed_out': {
    zh: '超时：顾客没有及时输入，密码没有改变',
    en: 'Timed out: the customer did not type in time — the PIN was not changed',
  },
  'ps.state.failed': { zh: '没有完成', en: 'Not finished' },
  'ps.head': { zh: '{kind}：{state}', en: '{kind}: {state}' },

  'ps.kind.activation': { zh: '激活新卡', en: 'Activating a new card' },
  'ps.kind.change': { zh: '修改密码', en: 'Changing the PIN' },
  'ps.kind.unblock': { zh: '解锁密码', en: 'Unblocking the PIN' },

  'ps.step.currentLetter': {
    zh: '第 1 步（共 3 步）：发卡机构来信中的密码',
    en: "Step 1 of 3: the PIN from the issuer's letter",
  },
  'ps.step.current': { zh: '第 1 步（共 3 步）：现在的密码', en: 'Step 1 of 3: the current PIN' },
  'ps.step.puk': { zh: '第 1 步（共 3 步）：PUK 解锁码', en: 'Step 1 of 3: the PUK code' },
  'ps.step.new': { zh: '第 2 步（共 3 步）：新密码', en: 'Step 2 of 3: the new PIN' },
  'ps.step.confirm': { zh: '第 3 步（共 3 步）：再次输入新密码', en: 'Step 3 of 3: the new PIN again' },
  'ps.readerIs': { zh: '读卡器：{reader}', en: 'Reader: {reader}' },
  'ps.cardLast4': { zh: '卡号末四位 {last4}', en: 'card …{last4}' },
  'ps.alreadyActive': {
    zh: '此卡已经激活过：顾客输入现在的密码即可修改',
    en: 'This card is already active: the customer types the current PIN to change it',
  },

  'ps.notice.PIN_WRONG': {
    zh: '顾客输入的密码不对，请顾客重新输入',
    en: 'The customer typed a wrong PIN and types it again',
  },
  'ps.notice.PUK_WRONG': {
    zh: '顾客输入的 PUK 解锁码不对，请顾客重新输入',
    en: 'The customer typed a wrong PUK and types it again',
  },
  'ps.notice.PIN_MISMATCH': {
    zh: '两次新密码不一致，顾客重新设置',
    en: 'The two new PINs differed: the customer chooses again',
  },
  'ps.notice.PIN_TOO_WEAK': {
    zh: '新密码太容易猜到，顾客重新设置',
    en: 'The new PIN was too easy to guess: the customer chooses another',
  },
  'ps.notice.other': { zh: '请顾客重新输入', en: 'The customer types it again' },

  'ps.tries': { zh: '密码剩余 {n} 次', en: '{n} tries left (PIN)' },
  'ps.triesPuk': { zh: 'PUK 剩余 {n} 次', en: '{n} tries left (PUK)' },
  'ps.lastTry': { zh: '密码只剩 1 次 — 再错将锁卡', en: '1 try left (PIN) — one more wrong PIN blocks the card' },
  'ps.lastTryPuk': {
    zh: 'PUK 只剩 1 次 — 再错卡片将停用',
    en: '1 try left (PUK) — one more wrong PUK terminates the card',
  },

  'ps.out.done': { zh: '新密码已设置', en: 'The new PIN is set' },
  'ps.out.done.todo': { zh: '请把卡片交还顾客', en: 'Give the card back to the customer' },
  'ps.out.again': { zh: '如顾客需要，请重新开始', en: 'Start again if the customer wishes' },
  'ps.out.CARD_PIN_BLOCKED': { zh: '卡片密码已锁定', en: "The card's PIN is blocked" },
  'ps.out.CARD_PIN_BLOCKED.todo': {
    zh: '可用“解锁密码”（顾客需要 PUK 解锁码），或请顾客到发卡机构办理',
    en: 'Use "Unblock PIN" (the customer needs the PUK code), or send the customer to the card issuer',
  },
  'ps.out.terminated': { zh: '卡片已停用（PUK 错误次数过多）', en: 'The card is terminated (too many wrong PUKs)' },
  'ps.out.terminated.todo': { zh: '请顾客到发卡机构换新卡', en: 'The customer needs a new card from the card issuer' },
  'ps.out.CARD_REMOVED': { zh: '卡片被拔出', en: 'The card was removed' },
  'ps.out.CARD_REMOVED.todo': {
    zh: '把卡片插回读卡器，再重新开始',
    en: 'Put the card back in the reader and start again',
  },
  'ps.out.revoked': { zh: '此卡已被发卡机构注销', en: 'The card was revoked by the card issuer' },
  'ps.out.revoked.todo': {
    zh: '这里无法处理，请顾客联系发卡机构',
    en: 'Nothing can be done here: the customer contacts the card issuer',
  },
  'ps.out.PIN_UNBLOCK_NOT_ALLOWED': {
    zh: '本收银台不允许解锁密码',
    en: 'Unblocking a PIN is not allowed at this counter',
  },
  'ps.out.PIN_UNBLOCK_NOT_ALLOWED.todo': {
    zh: '请顾客带卡和 PUK 信件到发卡机构',
    en: 'The customer takes the card and the PUK letter to the card issuer',
  },
  'ps.out.other': { zh: '没有完成', en: 'Not finished' },

  'ps.refused.PIN_SERVICE_READER_REQUIRED': {
    zh: '有几个读卡器，请先在上面选择插着卡的读卡器',
    en: 'Several readers: choose the one with the card above first',
  },
  'ps.refused.READER_BUSY': {
    zh: '读卡器正忙（有交易或其他服务），请等它结束',
    en: 'The reader is busy (a sale or another service): wait for it to end',
  },
  'ps.refused.READER_NOT_FOUND': { zh: '找不到读卡器，请接好读卡器', en: 'No such reader: connect the reader' },
  'ps.refused.PIN_UNBLOCK_NOT_ALLOWED': {
    zh: '本收银台不允许解锁密码，请顾客到发卡机构',
    en: 'Unblocking a PIN is not allowed at this counter: send the customer to the card issuer',
  },
  'ps.couldNotStart': { zh: '无法开始', en: 'Could not start' },
  'ps.couldNotCancel': { zh: '无法取消', en: 'Could not cancel' },
};
