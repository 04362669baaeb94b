// The counter page's voids and refunds (counter-money-back.js, counter.html #mb-panel and #mb-day): the
// buttons on each paid sale of the history, the void's confirmation, the refund form, the outcome in
// plain words with what to do, and the day's voids and refunds. Part of the catalogue (i18n.js).
export const TEXTS = {
  'mb.void': { zh: '撤销', en: 'Void' },
  'mb.refund': { zh: '退款', en: 'Refund' },
  'mb.voidLabel': { zh: '撤销：{time} 的付款 {amount}', en: 'Void the payment of {amount} at {time}' },
  'mb.refundLabel': { zh: '退款：{time} 的付款 {amount}', en: 'Refund the payment of {amount} at {time}' },
  'mb.rowVoided': { zh: '已撤销，{amount} 已退回卡上', en: 'Voided: {amount} back on the card' },
  'mb.rowVoiding': {
    zh: '撤销没有完成：请把卡放回读卡器再撤销',
    en: 'Void not finished: put the card back, void again',
  },
  'mb.rowRefunded': { zh: '已退 {done}，还可退 {left}', en: 'Refunded {done}, {left} left' },
  'mb.rowRefundedAll': { zh: '已全额退款 {done}', en: 'Refunded in full: {done}' },

  'mb.voidHeading': { zh: '撤销付款 {amount}（{time}）', en: 'Void the payment of {amount} ({time})' },
  'mb.voidWhat': {
    zh: '全部 {amount} 会退回付款的卡（…{card}），卡内余额马上恢复。不需要密码，也不需要银行。',
    en: 'The whole {amount} goes back onto the card that paid (…{card}) and its balance is restored at once. No PIN and no bank are needed.',
  },
  'mb.voidCard': {
    zh: '付款的卡必须现在就在读卡器里。只有这张卡在这之后还没有再付款或充值时才能撤销；否则请改用退款。',
    en: 'The card that paid must be in the reader now. A void works only while that card has not paid or been topped up since; otherwise refund instead.',
  },
  'mb.voidGo': { zh: '卡已放好，撤销', en: 'The card is in the reader: void' },
  'mb.voiding': { zh: '正在撤销 — 请不要拔卡…', en: 'Voiding — keep the card in the reader…' },
  'mb.back': { zh: '不做了', en: 'Go back' },

  'mb.refundHeading': { zh: '退款：付款 {amount}（{time}）', en: 'Refund: payment of {amount} ({time})' },
  'mb.refundAmount': { zh: '退款金额', en: 'Amount to refund' },
  'mb.refundLeft': {
    zh: '这笔付款还可以退 {left}（共 {amount}，已退 {done}）。可以只退一部分。',
    en: 'Left to refund of this payment: {left} (of {amount}, {done} refunded). A part may be refunded.',
  },
  'mb.refundHow': {
    zh: '钱退回付款的卡。卡在读卡器里且银行在线时马上到账；否则顾客下次刷卡时自动到账。',
    en: 'The money goes back onto the card that paid: at once if the card is in the reader and the bank answers, otherwise at its next tap.',
  },
  'mb.refundGo': { zh: '退款', en: 'Refund' },
  'mb.refunding': { zh: '正在退款 — 请不要拔卡…', en: 'Refunding — keep the card in the reader…' },
  'mb.badAmount': {
    zh: '请输入退款金额，例如 2.50，最多 {left}。',
    en: 'Type the amount to refund, such as 2.50, at most {left}.',
  },
  'mb.overLeft': {
    zh: '退款不能超过这笔付款还可退的金额：最多还能退 {left}。没有退任何钱。',
    en: 'A refund cannot be more than what is left of the payment: at most {left} can still be refunded. Nothing was refunded.',
  },
  'mb.nothingLeft': {
    zh: '这笔付款已经全额退款，不能再退。没有退任何钱。',
    en: 'This payment is refunded in full already: nothing more can be refunded. Nothing was refunded.',
  },

  'mb.voided': { zh: '已撤销：{amount} 已退回卡 {card}。', en: 'Voided: {amount} is back on card {card}.' },
  'mb.voided.todo': {
    zh: '请把卡还给顾客；顾客屏幕上显示新的余额。',
    en: "Give the card back to the customer; the customer's screen shows the new balance.",
  },
  'mb.credited': {
    zh: '已退款：{amount} 已退到卡 {card}，新余额 {balance}。',
    en: 'Refunded: {amount} is on card {card}, new balance {balance}.',
  },
  'mb.credited.todo': { zh: '请把卡还给顾客。', en: 'Give the card back to the customer.' },
  'mb.queued': {
    zh: '退款 {amount} 已记下，还没有退到卡上。',
    en: 'Refund of {amount} recorded, not on the card yet.',
  },
  'mb.queued.card': {
    zh: '卡不在读卡器里：顾客下次在本收银台刷卡时，会自动退到卡上。',
    en: "The card is not in the reader: it will be credited at the card's next tap at this counter.",
  },
  'mb.queued.bank': {
    zh: '银行暂时连不上：银行恢复后，顾客下次刷卡时会自动退到卡上。',
    en: "The bank cannot be reached: it will be credited at the card's next tap once the bank is back.",
  },
  'mb.queued.tap': {
    zh: '顾客下次在本收银台刷卡时，会自动退到卡上。',
    en: "It will be credited at the card's next tap at this counter.",
  },
  'mb.failed': { zh: '退款没有成功，没有退任何钱：', en: 'The refund did not go through and nothing was given back: ' },
  'mb.tooLate.offer': { zh: '改为退款', en: 'Refund instead' },

  'mb.dayHeading': { zh: '当天的撤销和退款', en: "The day's voids and refunds" },
  'mb.dayCaption': {
    zh: '这一天办理的撤销和退款，以及是否已经退到卡上',
    en: 'The voids and refunds asked for this day, and whether they are on the card',
  },
  'mb.dayTime': { zh: '时间', en: 'Time' },
  'mb.dayKind': { zh: '类型', en: 'Kind' },
  'mb.dayAmount': { zh: '金额', en: 'Amount' },
  'mb.dayCard': { zh: '卡号', en: 'Card' },
  'mb.dayState': { zh: '状态', en: 'State' },
  'mb.dayNone': { zh: '这一天没有撤销或退款。', en: 'No void or refund this day.' },
  'mb.kind.void': { zh: '撤销', en: 'Void' },
  'mb.kind.refund': { zh: '退款', en: 'Refund' },
  'mb.state.voided': { zh: '已撤销，已退回卡上', en: 'Voided, back on the card' },
  'mb.state.signing': { zh: '未完成：把卡放回读卡器再撤销', en: 'Not finished: put the card back and void again' },
  'mb.state.credited': { zh: '已退到卡上', en: 'Credited to the card' },
  'mb.state.pending': { zh: '等待中：顾客下次刷卡时退到卡上', en: "Pending: credited at the card's next tap" },
  'mb.state.failed': { zh: '没有成功，没有退钱', en: 'Failed, nothing given back' },

  'err.VOID_TOO_LATE': {
    zh: '这张卡在这笔付款之后又付过款或充过值，已经不能撤销',
    en: 'The card has paid or been topped up since this payment, so it can no longer be voided',
  },
  'err.VOID_TOO_LATE.todo': {
    zh: '没有退任何钱。请改用退款（下面的按钮）。',
    en: 'Nothing was given back. Refund it instead (the button below).',
  },
  'err.VOID_REFUSED': { zh: '卡片拒绝撤销这笔付款', en: 'The card refused to void this payment' },
  'err.VOID_REFUSED.todo': { zh: '没有退任何钱。请改用退款。', en: 'Nothing was given back. Refund it instead.' },
  'err.VOID_NO_CARD': { zh: '读卡器里没有卡', en: 'No card is in the reader' },
  'err.VOID_NO_CARD.todo': {
    zh: '请把付这笔款的卡放进读卡器，再按“撤销”。',
    en: 'Put the card that paid in the reader, then press Void again.',
  },
  'err.VOID_WRONG_CARD': { zh: '读卡器里是另一张卡', en: 'The reader holds another card' },
  'err.VOID_WRONG_CARD.todo': {
    zh: '请换上付这笔款的卡，再按“撤销”。',
    en: 'Put the card that paid this sale in the reader, then press Void again.',
  },
  'err.VOID_READER_REQUIRED': { zh: '有几个读卡器里都有卡', en: 'Several readers hold a card' },
  'err.VOID_READER_REQUIRED.todo': {
    zh: '只留下付这笔款的卡，取出其他卡后再撤销。',
    en: 'Leave only the card that paid in a reader, then void again.',
  },
  'err.VOID_INTERRUPTED': { zh: '撤销时卡被拿走了', en: 'The card left the reader during the void' },
  'err.VOID_INTERRUPTED.todo': {
    zh: '请把卡放回去再按“撤销”：钱只会退一次。',
    en: 'Put the card back and press Void again: the money goes back once, never twice.',
  },
  'err.VOID_REFUNDED': { zh: '这笔付款已经退过款', en: 'This payment was refunded already' },
  'err.VOID_REFUNDED.todo': { zh: '不能再撤销；剩下的请用退款。', en: 'It cannot be voided: refund the rest instead.' },
  'err.VOID_NOT_PAID': { zh: '这笔付款没有成功', en: 'This payment did not go through' },
  'err.VOID_NOT_PAID.todo': { zh: '没有钱要退。', en: 'There is nothing to give back.' },
  'err.REFUND_NOT_PAID': { zh: '这笔付款没有成功', en: 'This payment did not go through' },
  'err.REFUND_NOT_PAID.todo': { zh: '没有钱要退。', en: 'There is nothing to give back.' },
  'err.REFUND_SALE_VOIDED': { zh: '这笔付款已经撤销', en: 'This payment was voided' },
  'err.REFUND_SALE_VOIDED.todo': {
    zh: '全部金额已经退回卡上，不能再退款。',
    en: 'Its whole amount is already back on the card: nothing to refund.',
  },
};
