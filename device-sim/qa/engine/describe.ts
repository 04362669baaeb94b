/** A step's short title for progress lines and failure messages: "sale r1 12.50", "insert alice into r1". */
export function describeStep(kind: string, p: Record<string, unknown>): string {
  const s = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  switch (kind) {
    case 'sale':
      return `sale ${s(p.reader) || 'any reader'} ${s(p.amount)}${p.as ? ` as ${s(p.as)}` : ''}${p.wait === false ? ' (not waited)' : ''}`;
    case 'finish':
    case 'cancel':
    case 'void':
      return `${kind} ${s(p.sale)}`;
    case 'refund':
      return `refund ${s(p.sale)}${p.amount ? ` ${s(p.amount)}` : ''}`;
    case 'insert':
      return `insert ${s(p.card)} into ${s(p.reader)}`;
    case 'remove':
      return `remove the card from ${s(p.reader)}`;
    case 'pullDuring':
    case 'stallDuring':
      return `${kind} ${s(p.reader)} ${s(p.command)}`;
    case 'lineNoise':
      return `lineNoise ${s(p.reader)}`;
    case 'bank':
      return `bank ${Object.entries(p)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ')}`;
    case 'daemon':
      return `daemon ${s(p.value)}`;
    case 'clock':
      return `clock ${s(p.jump)}`;
    case 'wait':
      return p.ms !== undefined ? `wait ${s(p.ms)} ms` : `wait for ${s(p.for)}${p.reader ? ` in ${s(p.reader)}` : ''}`;
    case 'topup':
      return `topup ${s(p.reader)} ${s(p.amount)}`;
    case 'reportLost':
      return `reportLost ${s(p.card)}`;
    case 'screenshot':
      return `screenshot "${s(p.label)}"`;
    default:
      return kind;
  }
}
