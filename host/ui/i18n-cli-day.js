// What the CLI says to a merchant about the shop's day and the card services: the Z report (`close`),
// the day's sales, receipt copies, voids and refunds, top-ups, the holder's statement, the PIN service
// and a lost card (day-commands.ts, money-back-commands.ts, card-*.ts). Part of the catalogue (i18n.js),
// with i18n-cli.js. The Z report's labels (`cli.z.*`) print as "中文 English" in English, as the
// printed receipt does, so a report kept for the books reads for both; in zh-CN they print alone.
export const TEXTS = {
  // ---- the Z report (day-commands.ts reportLines)
  'cli.z.title': { zh: '日结报告', en: 'Z report' },
  'cli.z.closed': { zh: '已日结', en: 'CLOSED' },
  'cli.z.at': { zh: '（{time}）', en: ' at {time}' },
  'cli.z.open': { zh: '未日结', en: 'OPEN' },
  'cli.z.moving': { zh: '，数字还会变', en: ', figures still moving' },
  'cli.z.sales': { zh: '销售', en: 'Sales' },
  'cli.z.done': { zh: '成功', en: 'done' },
  'cli.z.cancelled': { zh: '取消', en: 'cancelled' },
  'cli.z.unconfirmed': { zh: '未确认', en: 'unconfirmed' },
  'cli.z.failed': { zh: '失败', en: 'failed' },
  'cli.z.topups': { zh: '充值', en: 'Top-ups' },
  'cli.z.loaded': { zh: '已充入', en: 'loaded' },
  'cli.z.cash': { zh: '现金', en: 'cash' },
  'cli.z.account': { zh: '账户', en: 'account' },
  'cli.z.sync': { zh: '同步', en: 'sync' },
  'cli.z.unfinished': { zh: '未完成', en: 'unfinished' },
  'cli.z.byMethod': { zh: '（{list}）', en: ' ({list})' },
  'cli.z.records': { zh: '记录', en: 'Records' },
  'cli.z.pending': { zh: '待结算', en: 'pending' },
  'cli.z.settled': { zh: '已结算', en: 'settled' },
  'cli.z.rejected': { zh: '被拒', en: 'rejected' },
  'cli.z.held': { zh: '暂扣', en: 'held' },
  'cli.z.voids': { zh: '撤销', en: 'Voids' },
  'cli.z.voided': { zh: '已撤销', en: 'voided' },
  'cli.z.signing': { zh: '未完成', en: 'signing' },
  'cli.z.refunds': { zh: '退款', en: 'Refunds' },
  'cli.z.credited': { zh: '已退到卡上', en: 'credited' },
  'cli.z.refundPending': { zh: '待退', en: 'pending' },
  'cli.z.bank': { zh: '银行对账', en: 'Bank' },
  'cli.z.match': { zh: '一致', en: 'match' },
  'cli.z.different': { zh: '不一致', en: 'DIFFERENT' },
  'cli.z.bankNone': { zh: '当天没有已结算的交易，本机与银行一致', en: 'nothing settled that day, host and bank agree' },
  'cli.z.bankLine': {
    zh: '本机 {hostCount} 笔 / {hostAmount}，银行 {bankCount} 笔 / {bankAmount}',
    en: 'host {hostCount} / {hostAmount}, bank {bankCount} / {bankAmount}',
  },
  'cli.z.notChecked': { zh: '没有核对 — {message}。{hint}', en: 'not checked — {message}. {hint}' },
  'cli.z.late': { zh: '迟到', en: 'late' },
  'cli.z.lateFrom': { zh: '（来自 {from}）', en: ' from {from}' },
  'cli.z.notCounted': { zh: '没有计入', en: 'not counted' },
  'cli.close.none': { zh: '还没有日结过', en: 'no day is closed yet' },
  'cli.close.item': {
    zh: '{date}（{zone}）日结于 {time}：已付款 {totals}，银行{verdict}',
    en: '{date} ({zone}) closed {time}: {totals} paid, bank {verdict}',
  },
  'cli.close.already': {
    zh: '{date} 已经日结过：这是保存的报告，没有变',
    en: '{date} was closed already: its stored report, unchanged',
  },

  // ---- the day's sales and receipt copies (day-commands.ts)
  'cli.sales.head': {
    zh: '{date}（{zone}）：{n} 笔收款',
    en: '{date} ({zone}): {n} sales',
    en1: '{date} ({zone}): 1 sale',
  },
  'cli.sales.card': { zh: '卡 …{last4}', en: 'card …{last4}' },
  'cli.outcome.done': { zh: '已付款', en: 'done' },
  'cli.outcome.cancelled': { zh: '已取消', en: 'cancelled' },
  'cli.outcome.unconfirmed': { zh: '未确认', en: 'unconfirmed' },
  'cli.outcome.failed': { zh: '没有成功', en: 'failed' },
  'cli.receipt.printing': {
    zh: '副本已送到小票打印机（收银页面会显示何时打印好）',
    en: 'the copy is queued on the receipt printer (the counter page shows when it is printed)',
  },

  // ---- voids and refunds (money-back-commands.ts)
  'cli.refund.queued': {
    zh: '已排队：银行有回应后，顾客下次刷卡时退到卡上',
    en: 'queued: it is given back at the card’s next tap while the bank answers',
  },
  'cli.refund.requested': {
    zh: '已向银行申请；顾客下次刷卡时完成',
    en: 'asked of the bank; finished at the card’s next tap',
  },
  'cli.refund.authorised': {
    zh: '银行已批准；顾客下次刷卡时退到卡上',
    en: 'authorised by the bank; loaded at the card’s next tap',
  },
  'cli.refund.credited': { zh: '已退到卡上', en: 'given back to the card' },
  'cli.refund.failed': { zh: '没有退成', en: 'not given back' },
  'cli.refund.balance': { zh: '（余额 {balance}）', en: ' (balance {balance})' },
  'cli.refund.line': {
    zh: '退款 {amount}（收款 {sale}，卡 {card}）：{state}{balance}{why} [{id}]',
    en: 'refund {amount} of sale {sale} to card {card}: {state}{balance}{why} [{id}]',
  },
  'cli.void.done': {
    zh: '收款 {sale} 已撤销：{amount} 已退回卡 {card} [{id}]',
    en: 'sale {sale} voided: {amount} back on card {card} [{id}]',
  },
  'cli.void.signing': { zh: '未完成，请把卡放回读卡器再撤销一次', en: 'signing' },
  'cli.void.failed': { zh: '没有成功', en: 'failed' },
  'cli.void.line': { zh: '收款 {sale}：撤销{state}{why}', en: 'sale {sale}: void {state}{why}' },
  'cli.refunds.head': { zh: '{date}（{zone}）的撤销和退款', en: 'voids and refunds on {date} ({zone})' },
  'cli.refunds.voided': { zh: '  已撤销：{amount}，共 {n} 笔', en: '  voided:   {amount} in {n}' },
  'cli.refunds.credited': { zh: '  已退款：{amount}，共 {n} 笔', en: '  refunded: {amount} in {n}' },

  // ---- top-up and sync (card-topup.ts)
  'cli.topup.synced': { zh: '已同步', en: 'synced' },
  'cli.topup.done': { zh: '已充值 {amount}（{method}）', en: 'topped up {amount} ({method})' },
  'cli.topup.method.cash': { zh: '现金', en: 'cash' },
  'cli.topup.method.account': { zh: '账户', en: 'account' },
  'cli.topup.method.sync': { zh: '同步', en: 'sync' },
  'cli.topup.method.refund': { zh: '退款', en: 'refund' },
  'cli.topup.balance': { zh: '：余额 {balance}', en: ': balance {balance}' },
  'cli.topup.offline': {
    zh: '；银行最后结算以来离线付了 {n} 笔，共 {amount}',
    en: "; offline since the bank's last settled payment: {n} payments, {amount}",
    en1: "; offline since the bank's last settled payment: 1 payment, {amount}",
  },
  'cli.topup.line': {
    zh: '卡 {card} {what}{balance}{offline} [{id}]',
    en: 'card {card} {what}{balance}{offline} [{id}]',
  },
  'cli.topup.zero': { zh: '充值 0 就是同步', en: 'a top-up of 0 is a sync' },
  'cli.topup.zero.todo': { zh: '请改用 cardpost card sync', en: 'use `cardpost card sync` instead' },
  'cli.topups.head': { zh: '{date}（{zone}）的充值：{n} 笔', en: 'top-ups on {date} ({zone}): {n}' },
  'cli.topups.cash': {
    zh: '  收到现金：{amount}，共 {n} 笔充值',
    en: '  cash taken: {amount} in {n} top-ups',
    en1: '  cash taken: {amount} in 1 top-up',
  },
  'cli.topup.state.requested': { zh: '已申请', en: 'requested' },
  'cli.topup.state.token_stored': { zh: '待写卡', en: 'token_stored' },
  'cli.topup.state.loaded': { zh: '已充入', en: 'loaded' },
  'cli.topup.state.failed': { zh: '没有成功', en: 'failed' },

  // ---- the holder's statement (card-statement.ts)
  'cli.statement.head': {
    zh: '卡 {card}（读卡器 {reader}）：余额 {balance}',
    en: 'card {card} in {reader}: balance {balance}',
  },
  'cli.statement.empty': { zh: '卡上还没有付款记录', en: 'no payments on the card yet (its journal is empty)' },
  'cli.statement.last': {
    zh: '最近 {n} 笔付款，最新的在前：',
    en: 'last {n} payments, newest first:',
    en1: 'last 1 payment, newest first:',
  },
  'cli.statement.badLimit': {
    zh: '--limit 要写 1 到 {max} 的整数，不是“{limit}”',
    en: '--limit must be a whole number from 1 to {max}, not "{limit}"',
  },
  'cli.statement.badLimit.todo': { zh: '例如 --limit {n}', en: 'e.g. --limit {n}' },
  'cli.badReader': { zh: '--reader 要写读卡器的名字', en: '--reader must name a reader' },
  'cli.badReader.todo': { zh: '用 cardpost readers 列出读卡器', en: 'list them with `cardpost readers`' },
  'cli.statement.line': {
    zh: '  {time}  {amount}  商户 {merchant}（终端 {terminal}）  付后余额 {balance}  #{counter}',
    en: '  {time}  {amount}  merchant {merchant} (terminal {terminal})  balance after {balance}  #{counter}',
  },

  // ---- the PIN service (card-pin.ts): the customer types, the merchant reads
  'cli.pin.step.current': {
    zh: '顾客输入现在的密码（新卡：发卡机构信里的密码）',
    en: 'the customer types the current PIN (for a new card: the PIN in the issuer’s letter)',
  },
  'cli.pin.step.puk': { zh: '顾客输入发卡机构信里的 PUK', en: 'the customer types the PUK from the issuer’s letter' },
  'cli.pin.step.new': { zh: '顾客设一个新密码', en: 'the customer chooses a new PIN' },
  'cli.pin.step.confirm': { zh: '顾客再输一次新密码', en: 'the customer types the new PIN again' },
  'cli.pin.card': { zh: '卡 ••{last4}：', en: 'card ••{last4}: ' },
  'cli.pin.insert': { zh: '请在 {reader} 插卡或贴卡', en: 'insert or tap the card in {reader}' },
  'cli.pin.theReader': { zh: '读卡器', en: 'the reader' },
  'cli.pin.onDevice': { zh: '（在终端的键盘上）', en: "on the terminal's keypad" },
  'cli.pin.onDisplay': { zh: '（在顾客屏上）', en: 'on the customer display' },
  'cli.pin.follow': { zh: '顾客按终端的提示操作', en: 'the customer follows the terminal’s prompts' },
  'cli.pin.notice': { zh: '{message}（{hint}）— ', en: '{message} ({hint}) — ' },
  'cli.pin.working': { zh: '卡片正在设置新密码…', en: 'the card is setting the new PIN…' },
  'cli.pin.unblocked': { zh: '密码已解锁：新密码已设好', en: 'PIN unblocked: the new PIN is set' },
  'cli.pin.activated': { zh: '卡已启用：新密码已设好', en: 'card activated: the new PIN is set' },
  'cli.pin.changed': { zh: '密码已修改', en: 'PIN changed' },
  'cli.pin.failed': { zh: '没有成功', en: 'failed' },
  'cli.pin.cancelledBy.merchant': {
    zh: '收银员取消了；卡上什么都没改',
    en: 'cancelled by the merchant; nothing was changed',
  },
  'cli.pin.cancelledBy.customer': {
    zh: '顾客取消了；卡上什么都没改',
    en: 'cancelled by the customer; nothing was changed',
  },
  'cli.pin.timedOut': { zh: '没有按时输入密码；卡上什么都没改', en: 'no PIN was typed in time; nothing was changed' },
  'cli.pin.never': {
    zh: '所有密码都由顾客在顾客屏（或终端键盘）上输入，不要在这里输入',
    en: "the customer types every PIN on the customer display (or the terminal's keypad), never here",
  },
  'cli.err.PIN_SERVICE_TIMED_OUT': { zh: '没有按时输入密码', en: 'no PIN was typed in time' },
  'cli.err.PIN_SERVICE_TIMED_OUT.todo': {
    zh: '卡上什么都没改：顾客准备好后再开始',
    en: 'nothing was changed on the card: start again when the customer is ready',
  },
  'cli.err.PIN_SERVICE_CANCELLED': { zh: '改密码已取消', en: 'the PIN service was cancelled' },
  'cli.err.PIN_SERVICE_CANCELLED.todo': {
    zh: '卡上什么都没改：顾客准备好后再开始',
    en: 'nothing was changed on the card: start again when the customer is ready',
  },

  // ---- a lost card (card-command.ts report-lost)
  'cli.lost.already': {
    zh: '卡 {card} 已经报告过{reason}（{when}）；它仍然冻结',
    en: 'card {card} was already reported {reason} ({when}); it stays blocked',
  },
  'cli.lost.done': {
    zh: '卡 {card} 已于 {when} 报告{reason}：银行已冻结这张卡',
    en: 'card {card} reported {reason} at {when}: the bank has blocked it',
  },
  'cli.lost.badReason': {
    zh: '--reason 只能是 lost（丢失）或 stolen（被盗），不是 {reason}',
    en: '--reason must be lost or stolen, not {reason}',
  },
  'cli.lost.badReason.todo': { zh: '例如 --reason stolen', en: 'e.g. --reason stolen' },
  'cli.lost.idOrReader': { zh: '请给出卡号或 --reader，二选一', en: 'give the card id or --reader, one of the two' },
  'cli.lost.idOrReader.todo': {
    zh: '例如 cardpost card report-lost 8f2a0c11d3e45b70',
    en: 'e.g. cardpost card report-lost 8f2a0c11d3e45b70',
  },
  'cli.lost.badId': { zh: '卡号必须是 16 位十六进制数字', en: 'the card id must be 16 hex digits' },
  'cli.lost.badId.todo': { zh: '照卡上或发卡信上印的写', en: 'as printed on the card or its letter' },
  'cli.lost.reason.lost': { zh: '丢失', en: 'lost' },
  'cli.lost.reason.stolen': { zh: '被盗', en: 'stolen' },
  'cli.lost.balanceUnknown': {
    zh: '为持卡人保留的余额：还不知道（这张卡的付款还没有到过银行）',
    en: 'balance kept for the holder: not known yet (no payment of the card has reached the bank)',
  },
  'cli.lost.balance': {
    zh: '为持卡人保留的余额：{balance}（第 {counter} 笔付款之后；报告前付过、还没发给银行的付款也算）',
    en: 'balance kept for the holder: {balance} (after payment {counter}; payments made before the report and not yet sent still count)',
  },
  'cli.lost.refusedHere': {
    zh: '本柜台从现在起拒收这张卡；其他柜台下次连上银行后也会拒收',
    en: 'this counter refuses the card from now on; other counters refuse it once they next reach the bank',
  },
  'cli.lost.notYet': {
    zh: '本柜台还没拿到新的挂失名单；拿到后就会拒收这张卡',
    en: 'this counter could not fetch the new revocation list yet; it refuses the card once it does',
  },
};
