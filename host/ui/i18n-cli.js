// What the CLI says to a merchant (host/cli/*.ts through cli-lang.ts `words`): the counter's commands
// (sale, sales, close, receipt, void, refund, card info/statement/top-up/PIN service, readers, queue,
// settle, reconcile) and the errors they raise. Part of the catalogue (i18n.js). The English is the
// CLI's wording as it was, so scripts that read it keep working; `cardpost … --json` is never translated.
// Errors: `cli.err.<CODE>` (what happened) with `.todo` (what to do) for codes the CLI meets; a code
// without them uses the page's `err.<CODE>` (i18n-errors.js), else its kind's lead and the English words.
export const TEXTS = {
  'cli.colon': { zh: '：', en: ': ' },
  'cli.semi': { zh: '；', en: '; ' },
  'cli.comma': { zh: '，', en: ', ' },
  'cli.unexpected': { zh: '意外错误：{message}', en: 'unexpected error: {message}' },
  'cli.age.s': { zh: '{n} 秒', en: '{n}s' },
  'cli.age.min': { zh: '{n} 分钟', en: '{n}min' },
  'cli.age.h': { zh: '{n} 小时', en: '{n}h' },
  'cli.age.d': { zh: '{n} 天', en: '{n}d' },
  'cli.lang.bad': { zh: '“{lang}”不是 cardpost 会说的语言', en: '"{lang}" is not a language cardpost speaks' },
  'cli.lang.bad.todo': {
    zh: '请从这些里选一个：{langs}（--lang 或 CARDPOST_LANG）',
    en: 'choose one of: {langs} (--lang or CARDPOST_LANG)',
  },

  // ---- errors the CLI raises or meets, in words a shopkeeper reads
  'cli.err.DAEMON_NOT_RUNNING': { zh: '收银服务没有在运行', en: 'no cardpost daemon is running' },
  'cli.err.DAEMON_NOT_RUNNING.todo': {
    zh: '请先启动收银服务（cardpost daemon，演示用 npm start），或用 --data-dir 指明它的数据目录',
    en: 'start one with `cardpost daemon` or `npm start` (the demo), or pass --data-dir',
  },
  'cli.err.DAEMON_UNREACHABLE': { zh: '收银服务没有响应', en: 'the daemon did not answer' },
  'cli.err.DAEMON_UNREACHABLE.todo': {
    zh: '请检查收银服务是否还在运行（cardpost daemon）',
    en: 'check that it is still running (cardpost daemon)',
  },
  'cli.err.API_TOKEN_UNREADABLE': { zh: '读不到收银服务的配对密钥', en: 'cannot read the API token' },
  'cli.err.API_TOKEN_UNREADABLE.todo': {
    zh: '请用运行收银服务的同一个系统用户来运行这个命令',
    en: "run the CLI as the daemon's user",
  },
  'cli.err.CLI_AMOUNT': { zh: '金额写得不对', en: 'that is not an amount' },
  'cli.err.CLI_AMOUNT.todo': {
    zh: '请写成 12.50 这样（最多两位小数，大于 0）',
    en: 'write it like 12.50 (at most two decimals, more than 0)',
  },
  'cli.err.CLI_CURRENCY': { zh: '不认识这种货币', en: 'unknown currency' },
  'cli.err.CLI_CURRENCY.todo': { zh: '请写货币代码，例如 CNY', en: 'use an ISO 4217 code such as CNY' },
  'cli.err.PIN_FORMAT': { zh: '密码的格式不对', en: 'the PIN is not 4 to 12 digits' },
  'cli.err.PIN_FORMAT.todo': { zh: '请重新输入：4 到 12 位数字', en: 'type the PIN again: 4 to 12 digits' },
  'cli.err.CLI_INPUT_ENDED': { zh: '没有输入：输入在要求的那一行之前就结束了', en: 'nothing was entered' },
  'cli.err.CLI_INPUT_ENDED.todo': {
    zh: '请在终端里输入，或从标准输入给一行',
    en: 'type it at a terminal, or give it as one line on stdin',
  },
  'cli.reader.none': { zh: '没有连接读卡器', en: 'no card reader is connected' },
  'cli.reader.none.todo': { zh: '请插上读卡器（或启动 pcscd 读卡服务）', en: 'plug in a reader (or start pcscd)' },
  'cli.reader.many': { zh: '有 {n} 个读卡器里有卡', en: '{n} readers hold a card' },
  'cli.reader.many.todo': { zh: '请用 --reader 选一个：{names}', en: 'choose one with --reader: {names}' },
  'cli.date.bad': { zh: '“{date}”不是日期', en: '"{date}" is not a date' },
  'cli.date.bad.todo': {
    zh: '请按 年-月-日 写，例如 --date 2026-12-05',
    en: 'give the day as YYYY-MM-DD, e.g. --date 2026-12-05',
  },
  'cli.rerun': { zh: ' — 请带上 --key {key} 再运行一次同样的命令', en: ' — run the same command with --key {key}' },
  'cli.rerunTopup': {
    zh: ' — 要完成它，请带上 --key {key} 再运行一次同样的命令',
    en: ' — to finish it, run the same command with --key {key}',
  },

  // ---- readers, queue, settle, reconcile (counter-commands.ts)
  'cli.readers.none': { zh: '没有连接读卡器', en: 'no readers connected' },
  'cli.readers.card': { zh: '有卡', en: 'card present' },
  'cli.readers.noCard': { zh: '无卡', en: 'no card' },
  'cli.readers.pinPad': { zh: '，带密码键盘', en: ', PIN pad' },
  'cli.readers.busy': { zh: '，忙', en: ', busy' },
  'cli.unsettled.none': { zh: '没有等待结算的交易', en: 'nothing waiting to settle' },
  'cli.unsettled.some': {
    zh: '{n} 笔等待结算（{amounts}），最早的已等 {age}',
    en: '{n} records waiting to settle ({amounts}), oldest {age}',
    en1: '1 record waiting to settle ({amounts}), oldest {age}',
  },
  'cli.record.pending': { zh: '待结算', en: 'pending' },
  'cli.record.sending': { zh: '发送中', en: 'sending' },
  'cli.record.settled': { zh: '已结算', en: 'settled' },
  'cli.record.duplicate': { zh: '重复', en: 'duplicate' },
  'cli.record.rejected': { zh: '银行拒收', en: 'rejected' },
  'cli.record.held': { zh: '暂扣', en: 'held' },
  'cli.record.recovered': { zh: '（从卡内找回）', en: ' (recovered)' },
  'cli.settle.bar': {
    zh: '结算中 [{bar}] {value}/{total} 笔 | {state}',
    en: 'settling [{bar}] {value}/{total} records | {state}',
  },
  'cli.settle.progress': { zh: '已结算 {done}/{total}（{state}{why}）', en: 'settled {done}/{total} ({state}{why})' },
  'cli.settle.state.offline': { zh: '银行离线', en: 'offline' },
  'cli.settle.state.idle': { zh: '空闲', en: 'idle' },
  'cli.settle.state.sending': { zh: '正在发送', en: 'sending' },
  'cli.settle.state.backing_off': { zh: '稍后重试', en: 'backing_off' },
  'cli.settle.state.blocked': { zh: '受阻', en: 'blocked' },
  'cli.settle.state.stopped': { zh: '已停止', en: 'stopped' },
  'cli.settle.rejected': {
    zh: '{n} 笔被银行拒收：请看 cardpost queue --status rejected',
    en: '{n} records refused by the bank: see cardpost queue --status rejected',
    en1: '1 record refused by the bank: see cardpost queue --status rejected',
  },
  'cli.settle.held': {
    zh: '{n} 笔暂扣，没有结算（卡片确认的不是要求的那笔）：请看 cardpost queue --status held，并把这张卡报告给发卡机构',
    en: '{n} records held, not settled (the card signed another sale than asked): see cardpost queue --status held, and report the card to its issuer',
    en1: '1 record held, not settled (the card signed another sale than asked): see cardpost queue --status held, and report the card to its issuer',
  },
  'cli.settle.notFinished': { zh: '没有结算完：{message}。{hint}', en: 'not finished: {message}. {hint}' },
  'cli.settle.late': {
    zh: '规定时间内没有结算完；收银服务会继续结算',
    en: 'not finished in time; settlement goes on in the daemon',
  },
  'cli.settle.offline': {
    zh: '银行连不上；恢复后会自动继续结算',
    en: 'the bank is unreachable; settlement resumes by itself when it is back',
  },
  'cli.reconcile.none': {
    zh: '{date}：没有已结算的交易，本机与银行一致',
    en: '{date}: nothing settled, host and bank agree',
  },
  'cli.reconcile.line': {
    zh: '{date} {currency}：本机 {hostCount} 笔 / {hostAmount}，银行 {bankCount} 笔 / {bankAmount}，{verdict}',
    en: '{date} {currency}: host {hostCount} / {hostAmount}, bank {bankCount} / {bankAmount} {verdict}',
  },
  'cli.match': { zh: '一致', en: 'match' },
  'cli.different': { zh: '不一致', en: 'DIFFERENT' },
  'cli.notChecked': { zh: '没有核对', en: 'not checked' },

  // ---- card info (counter-commands.ts)
  'cli.card.blank': {
    zh: '状态：空白卡，还没有发卡：发卡机构处理之前不能付款',
    en: 'state: blank, not personalised: it cannot pay until its issuer personalises it',
  },
  'cli.card.personalised': {
    zh: '状态：需要改密码：卡里还是发卡机构的初始密码；持卡人付款前要先设一个新密码（cardpost card change-pin）',
    en: "state: PIN change required: the card still has the issuer's transport PIN; the holder chooses a new PIN before paying (cardpost card change-pin)",
  },
  'cli.card.active': { zh: '状态：正常', en: 'state: active' },
  'cli.card.pinBlocked': {
    zh: '状态：密码已锁定：持卡人要用 PUK 解锁（发卡机构或银行网点；发卡机构允许时可在柜台用 cardpost card unblock）',
    en: 'state: PIN blocked: the holder must unblock it with the PUK (issuer or bank branch) (cardpost card unblock where the issuer allows it)',
  },
  'cli.card.terminated': {
    zh: '状态：已停用：这张卡不能再付款；请持卡人向发卡机构换一张新卡',
    en: 'state: TERMINATED: the card can no longer pay; the holder must ask the issuer for a new card',
  },
  'cli.card.blocked': {
    zh: '状态：已被发卡机构冻结：这张卡已挂失。不要用它收款，请留下卡，让持卡人找发卡机构，余额会退还或转到新卡',
    en: 'state: BLOCKED by its issuer: the card was reported lost or stolen: take no payment with it, keep it and send the holder to the issuer, who keeps the balance for a refund or a new card',
  },
  'cli.card.unknown': {
    zh: '状态：不认识的卡片状态 {lifecycle}：请更新收银软件',
    en: 'state: unknown life cycle {lifecycle}: update the host software',
  },
  'cli.card.in': { zh: '卡 {card}（读卡器 {reader}）', en: 'card {card} in {reader}' },
  'cli.card.balance': {
    zh: '余额 {balance}，交易计数 {counter}，密码还可试 {tries} 次',
    en: 'balance {balance}, counter {counter}, PIN tries left {tries}',
  },
  'cli.card.limits': {
    zh: '限额：每笔 {perPayment}，免密 {noPin}，离线已用 {offline}（上限 {offlineMax}）',
    en: 'limits: per payment {perPayment}, without PIN {noPin}, offline {offline} of {offlineMax}',
  },
  'cli.card.validUntil': { zh: '有效期至 {date}', en: 'valid until {date}' },
  'cli.card.recovered': { zh: '从卡内记录找回：{ids}', en: "recovered from the card's journal: {ids}" },

  // ---- sale (sale-command.ts)
  'cli.sale.state.waiting_card': { zh: '等待刷卡 — 请插卡或贴卡', en: 'waiting for the card — insert or tap it' },
  'cli.sale.state.reading_card': { zh: '正在读卡', en: 'reading the card' },
  'cli.sale.state.pin': { zh: '等待输入密码', en: 'waiting for the PIN' },
  'cli.sale.state.signing': { zh: '卡片正在确认付款 — 请勿拔卡', en: 'the card is signing' },
  'cli.sale.state.stored': { zh: '已安全保存', en: 'stored' },
  'cli.sale.state.done': { zh: '已付款', en: 'paid' },
  'cli.sale.state.cancelled': { zh: '已取消', en: 'cancelled' },
  'cli.sale.state.timed_out': { zh: '超时', en: 'timed out' },
  'cli.sale.state.failed': { zh: '没有成功', en: 'failed' },
  'cli.sale.state.unconfirmed': {
    zh: '未确认 — 卡片可能已经付款：请把同一张卡再插一次核对，不要再收一次钱',
    en: 'NOT CONFIRMED — the card may have paid: insert the same card again to check, do not charge again',
  },
  'cli.triesLeft': { zh: '还可试 {n} 次', en: '{n} tries left', en1: '1 try left' },
  'cli.sale.tries': { zh: '（{tries}）', en: ' ({tries})' },
  'cli.sale.line': { zh: '收款 {id}：{line}', en: 'sale {id}: {line}' },
  'cli.sale.zero': { zh: '金额必须大于 0，例如 12.50', en: 'the amount must be more than 0, e.g. 12.50' },
  'cli.sale.zero.todo': { zh: '请用 --amount 12.50 给出金额', en: 'give it with --amount 12.50' },
  'cli.sale.noAmount': { zh: '收款需要金额', en: 'the sale needs an amount' },
  'cli.sale.noAmount.todo': {
    zh: '请用 --amount 给出金额，例如 cardpost sale --amount 12.50',
    en: 'give it with --amount, e.g. cardpost sale --amount 12.50',
  },
  'cli.sale.onDisplay': {
    zh: '请顾客在顾客屏上输入密码（不要在这里输入）',
    en: 'the customer types the PIN on the customer display (never here)',
  },
  'cli.sale.pinPrompt': { zh: '付款 {amount}，请输入密码：', en: 'PIN for {amount}: ' },
  'cli.sale.noPin': {
    zh: '没有输入密码（输入已结束）：本次收款已取消，没有扣款',
    en: 'no PIN was entered (the input ended): the sale is cancelled, no card was charged',
  },
  'cli.sale.receipt': {
    zh: '小票：卡 {card} 已付 {amount}，交易编号 {record}，余额 {balance}',
    en: 'receipt: {amount} paid by card {card}, record {record}, balance left {balance}',
  },
  'cli.sale.error': { zh: '{code}：{message}。{hint}', en: '{code}: {message}. {hint}' },
  'cli.sale.online': { zh: '稍后与银行结算', en: 'settles with the bank shortly' },
  'cli.sale.offline': {
    zh: '离线：已安全保存，网络恢复后结算',
    en: 'offline: stored safely, settles when the network is back',
  },
  'cli.cancel.none': { zh: '没有正在进行的收款', en: 'no sale is in progress' },
  'cli.cancel.noId': { zh: '没有编号为 {id} 的进行中收款', en: 'no sale in progress has the id {id}' },
  'cli.cancel.many': { zh: '有 {n} 笔收款正在进行', en: '{n} sales are in progress' },
  'cli.cancel.nothing': { zh: '没有可取消的', en: 'nothing to cancel' },
  'cli.cancel.which': { zh: '请给出其中一笔的编号：{which}', en: 'give the id of one: {which}' },
  'cli.cancel.item': { zh: '{id}（{amount}，{state}）', en: '{id} ({amount}, {state})' },
};
