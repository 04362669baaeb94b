// The counter page's top-up and sync box (counter-topup.js, counter.html #topup). Part of the catalogue (i18n.js).
export const TEXTS = {
  'topup.heading': { zh: '充值或同步卡片', en: 'Top up or sync a card' },
  'topup.help': {
    zh: '只能在线时办理，卡要插在读卡器里，且读卡器上没有收款。同步不动钱：它让卡片可以再次离线付款。',
    en: 'Online only, with the card in the reader and no sale on it. A sync moves no money: it lets the card pay offline again.',
  },
  'topup.amount': { zh: '充值金额', en: 'Top-up amount' },
  'topup.paidBy': { zh: '付款方式', en: 'Paid by' },
  'topup.cash': { zh: '现金', en: 'Cash' },
  'topup.account': { zh: '账户', en: 'Account' },
  'topup.go': { zh: '充值', en: 'Top up' },
  'topup.sync': { zh: '同步卡片', en: 'Sync card' },
  'topup.syncing': { zh: '正在同步卡片 — 请不要拔卡…', en: 'Syncing the card — keep it in the reader…' },
  'topup.busy': { zh: '正在充值 — 请不要拔卡…', en: 'Topping up — keep the card in the reader…' },
  'topup.synced': { zh: '卡 {card} 已同步', en: 'Card {card} synced' },
  'topup.done': { zh: '已给卡 {card} 充值 {amount}（{method}）', en: 'Topped up {amount} ({method}) on card {card}' },
  'topup.method.cash': { zh: '现金', en: 'cash' },
  'topup.method.account': { zh: '账户', en: 'account' },
  'topup.newBalance': { zh: '。新余额：{balance}。', en: '. New balance: {balance}.' },
  'topup.again': { zh: '（再按一次同一个按钮即可完成）', en: ' (press the same button again to finish it)' },
  'topup.badAmount': {
    zh: '请输入充值金额，例如 200.00（不动钱请用“同步卡片”）。',
    en: 'Type the amount to top up, such as 200.00 (or use "Sync card" for no money).',
  },
};
