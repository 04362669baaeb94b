// How a refusal or a failed sale reads for a merchant, in both languages (part of the catalogue,
// i18n.js): the lead for each kind of the error registry (host/errors/codes.ts, docs/errors.md), and
// plain words — what happened (`err.<CODE>`) and what to do (`err.<CODE>.todo`) — for the codes a
// counter meets. A code without its own words is shown by its kind's lead and the registry's hint
// (common.js `refusalText`, counter.js), never by protocol words such as "SIGN_TXN: card answered …".
export const TEXTS = {
  'kind.decline': { zh: '拒绝：', en: 'Declined: ' },
  'kind.unavailable': { zh: '暂时不行：', en: 'Not possible just now: ' },
  'kind.conflict': { zh: '正忙：', en: 'Busy: ' },
  'kind.bad-input': { zh: '请检查输入：', en: 'Please check what was entered: ' },
  'kind.refused': { zh: '这里不允许：', en: 'Not allowed here: ' },
  'kind.not-found': { zh: '找不到：', en: 'Not found: ' },
  'kind.retry': { zh: '请再试一次：', en: 'Try again: ' },
  'kind.fault': { zh: '出了问题：', en: 'Something went wrong: ' },

  'err.failed': { zh: '付款没有成功', en: 'The payment did not go through' },
  'err.failed.todo': {
    zh: '没有扣款。请顾客换一种方式付款，或询问发卡机构。',
    en: 'Nothing was charged. The customer pays another way, or asks the card issuer.',
  },
  'err.DAEMON_UNREACHABLE': { zh: '收银服务没有响应', en: 'The counter service does not answer' },
  'err.DAEMON_UNREACHABLE.todo': {
    zh: '请检查收银服务是否在运行，然后刷新本页',
    en: 'Check that it is running, then reload this page',
  },

  'err.BANK_UNREACHABLE': { zh: '银行连不上', en: 'The bank cannot be reached' },
  'err.BANK_UNREACHABLE.todo': {
    zh: '收款照常（离线），银行恢复后自动结算。一直这样的话，请检查网络和银行地址设置。',
    en: "Sales go on offline and settle when it is back. If it lasts, check the network and the bank's address in the settings.",
  },
  'err.BANK_UNAVAILABLE': { zh: '银行暂时忙或停机', en: 'The bank is busy or down' },
  'err.BANK_UNAVAILABLE.todo': {
    zh: '结算会自动重试，收款照常。',
    en: 'Settlement retries by itself; sales go on.',
  },
  'err.BANK_ANSWER_INVALID': { zh: '银行的回答看不懂', en: "The bank's answer could not be read" },
  'err.BANK_ANSWER_INVALID.todo': {
    zh: '这批交易会原样重发。一直这样的话，请告诉银行。',
    en: 'The batch is sent again unchanged. If it lasts, tell the bank.',
  },
  'err.CARD_OVER_TRANSACTION_LIMIT': {
    zh: '超出卡片每笔付款的限额',
    en: "The amount is over the card's limit for one payment",
  },
  'err.CARD_OVER_TRANSACTION_LIMIT.todo': {
    zh: '没有扣款。请收较小的金额，或让顾客换一种方式付款。',
    en: 'Nothing was charged. Take a smaller amount, or the customer pays another way.',
  },
  'err.CARD_INSUFFICIENT_FUNDS': { zh: '卡内余额不足', en: 'Not enough money on the card' },
  'err.CARD_INSUFFICIENT_FUNDS.todo': {
    zh: '没有扣款。请先给卡充值，或让顾客换一种方式付款。',
    en: 'Nothing was charged. Top up the card first, or the customer pays another way.',
  },
  'err.CARD_OFFLINE_AMOUNT_LIMIT': {
    zh: '卡片离线可付的金额已用完',
    en: 'The card has used up what it may pay offline',
  },
  'err.CARD_OFFLINE_AMOUNT_LIMIT.todo': {
    zh: '没有扣款。银行在线时给卡“同步”（或充值）后再付款。',
    en: 'Nothing was charged. Sync (or top up) the card while the bank is online, then pay.',
  },
  'err.CARD_OFFLINE_COUNT_LIMIT': {
    zh: '卡片离线可付的次数已用完',
    en: 'The card has used up how many payments it may make offline',
  },
  'err.CARD_OFFLINE_COUNT_LIMIT.todo': {
    zh: '没有扣款。银行在线时给卡“同步”（或充值）后再付款。',
    en: 'Nothing was charged. Sync (or top up) the card while the bank is online, then pay.',
  },
  'err.CARD_PIN_BLOCKED': { zh: '卡片密码已锁定', en: "The card's PIN is blocked" },
  'err.CARD_PIN_BLOCKED.todo': {
    zh: '没有扣款。可用“解锁密码”（顾客需要 PUK 解锁码），或请顾客到发卡机构。',
    en: 'Nothing was charged. Use "Unblock PIN" (the customer needs the PUK code), or send the customer to the card issuer.',
  },
  'err.CARD_PIN_CHANGE_REQUIRED': { zh: '新卡还没有激活', en: 'The new card is not activated yet' },
  'err.CARD_PIN_CHANGE_REQUIRED.todo': {
    zh: '没有扣款。先用“激活新卡”让顾客设置自己的密码。',
    en: 'Nothing was charged. Use "Activate new card" so the customer sets their own PIN first.',
  },
  'err.CARD_REVOKED': {
    zh: '此卡已被停用（挂失或发卡机构收回）',
    en: 'This card is blocked (reported lost, or withdrawn)',
  },
  'err.CARD_REVOKED.todo': {
    zh: '不要用这张卡收款。请顾客联系发卡机构，余额可以退回或转到新卡。',
    en: 'Take no payment with it. The customer contacts the card issuer, who keeps the balance for a refund or a new card.',
  },
  'err.CARD_BLOCKED': { zh: '此卡已被停用', en: 'This card is blocked' },
  'err.CARD_BLOCKED.todo': {
    zh: '不要用这张卡收款。请顾客联系发卡机构。',
    en: 'Take no payment with it. The customer contacts the card issuer.',
  },
  'err.CARD_TERMINATED': { zh: '此卡已停用', en: 'This card is terminated' },
  'err.CARD_TERMINATED.todo': {
    zh: '不要用这张卡收款。请顾客到发卡机构换新卡。',
    en: 'Take no payment with it. The customer gets a new card from the card issuer.',
  },
  'err.CARD_EXPIRED': { zh: '此卡已过期', en: 'This card has expired' },
  'err.CARD_EXPIRED.todo': {
    zh: '没有扣款。请顾客到发卡机构换新卡。',
    en: 'Nothing was charged. The customer asks the card issuer for a new card.',
  },
  'err.CARD_BLANK': { zh: '这是一张还没有开通的空白卡', en: 'This is a blank card, not issued yet' },
  'err.CARD_BLANK.todo': {
    zh: '没有扣款。卡片要先由发卡机构开通。',
    en: 'Nothing was charged. The card issuer must issue the card first.',
  },
  'err.CARD_UNKNOWN_ISSUER': {
    zh: '本收银台不认识这张卡的发卡机构',
    en: "This counter does not know the card's issuer",
  },
  'err.CARD_UNKNOWN_ISSUER.todo': {
    zh: '没有扣款。请顾客换一种方式付款。',
    en: 'Nothing was charged. The customer pays another way.',
  },
  'err.CARD_CURRENCY_MISMATCH': { zh: '这张卡用的是别的币种', en: 'This card holds another currency' },
  'err.CARD_CURRENCY_MISMATCH.todo': {
    zh: '没有扣款。请顾客换一种方式付款。',
    en: 'Nothing was charged. The customer pays another way.',
  },
  'err.CARD_REMOVED': { zh: '卡片被拔出', en: 'The card was removed' },
  'err.CARD_REMOVED.todo': {
    zh: '把卡插回读卡器，收款完成前不要拔卡。',
    en: 'Put the card back in the reader and keep it there until the sale is done.',
  },
  'err.SALE_ABANDONED': { zh: '这笔收款没有人在看，已自动结束', en: 'Nobody followed this sale, so it ended' },
  'err.SALE_ABANDONED.todo': { zh: '没有扣款。请重新开始收款。', en: 'Nothing was charged. Start the sale again.' },
  'err.OFFLINE_LIMIT_PER_SALE': {
    zh: '金额超过本收银台单笔收款的限额',
    en: "The amount is over this counter's limit for one sale",
  },
  'err.OFFLINE_LIMIT_PER_SALE.todo': { zh: '请收较小的金额。', en: 'Take a smaller amount.' },
  'err.CLOCK_WRONG': { zh: '本机时钟不对', en: "This computer's clock is wrong" },
  'err.CLOCK_WRONG.todo': {
    zh: '请把电脑时间调对，收款会自动恢复。',
    en: "Set the computer's clock right; sales resume by themselves.",
  },
  'err.SALE_IN_PROGRESS': { zh: '已经有一笔收款在进行', en: 'A sale is already running' },
  'err.SALE_IN_PROGRESS.todo': {
    zh: '请先完成或取消那笔收款。',
    en: 'Finish or cancel that sale first.',
  },
  'err.SALE_CANNOT_CANCEL': {
    zh: '卡片正在确认付款，现在不能取消',
    en: 'The card is confirming the payment: it cannot be cancelled now',
  },
  'err.SALE_CANNOT_CANCEL.todo': { zh: '请等一下结果。', en: 'Wait a moment for the result.' },
};
