import type { PathIssue } from './load-diagnose.js';
import type { Expectations, Scenario, Step } from './scenario-schema.js';

/**
 * What the schema alone cannot say: the names a scenario uses refer to things it declares, a step
 * fits its device (line noise only on a serial terminal), and the run stays bounded (scenario files
 * come from outside: a `repeat` inside a `repeat` must not unroll into millions of steps).
 */

/** Most steps a scenario may run once repeat and oneOf are unrolled. */
export const MAX_EXPANDED_STEPS = 100_000;
/** Deepest nesting of repeat/oneOf. */
export const MAX_STEP_DEPTH = 8;

interface Label {
  /** A sale started with wait: false (only those can be finished or cancelled). */
  background: boolean;
  kind: 'sale' | 'topup';
}

export function crossCheck(s: Scenario): PathIssue[] {
  const out: PathIssue[] = [];
  const cards = new Set<string>();
  const readers = new Map<string, Scenario['devices']['readers'][number]>();
  const holder = new Map<string, string>();
  s.devices.cards.forEach((c, i) => {
    if (cards.has(c.id)) out.push({ path: ['devices', 'cards', i, 'id'], message: `card "${c.id}" is declared twice` });
    cards.add(c.id);
  });
  s.devices.readers.forEach((r, i) => {
    const at = ['devices', 'readers', i];
    if (readers.has(r.id)) out.push({ path: [...at, 'id'], message: `reader "${r.id}" is declared twice` });
    readers.set(r.id, r);
    if (r.card !== undefined) {
      if (!cards.has(r.card)) out.push({ path: [...at, 'card'], message: unknownName('card', r.card, cards) });
      else if (holder.has(r.card))
        out.push({ path: [...at, 'card'], message: `card "${r.card}" is already in reader "${holder.get(r.card)}"` });
      else holder.set(r.card, r.id);
    }
    if (r.medium === 'hid' && r.card === undefined)
      out.push({ path: at, message: `reader "${r.id}" is a HID key, which is its card: give it one (card: NAME)` });
    if (r.medium === 'in-process' && r.card === undefined)
      out.push({
        path: at,
        message: `reader "${r.id}" is in-process: its card lives in the daemon with it, give it one (card: NAME)`,
      });
    if (r.lineFaults && r.medium !== 'serial')
      out.push({ path: [...at, 'lineFaults'], message: 'lineFaults apply to a serial terminal only (medium: serial)' });
  });

  // A card of an in-process reader is in the daemon's process: it never leaves that reader.
  const inProcessHome = new Map<string, string>();
  for (const r of s.devices.readers)
    if (r.medium === 'in-process' && r.card !== undefined) inProcessHome.set(r.card, r.id);

  const labels = new Map<string, Label>();
  const reader = (path: PropertyKey[], id: string, serialOnly = false): void => {
    const r = readers.get(id);
    if (!r) out.push({ path, message: unknownName('reader', id, readers.keys()) });
    else if (serialOnly && r.medium !== 'serial')
      out.push({ path, message: `reader "${id}" is ${r.medium}: only a serial terminal has a line to disturb` });
  };
  const card = (path: PropertyKey[], id: string): void => {
    if (!cards.has(id)) out.push({ path, message: unknownName('card', id, cards) });
  };
  const label = (path: PropertyKey[], id: string, need: 'sale' | 'background'): void => {
    const l = labels.get(id);
    if (!l || l.kind !== 'sale')
      out.push({ path, message: `no sale is labelled "${id}" before this step (label a sale with as: ${id})` });
    else if (need === 'background' && !l.background)
      out.push({
        path,
        message: `sale "${id}" waits for its end; start it with wait: false to finish or cancel it later`,
      });
  };

  const checkExpect = (path: PropertyKey[], e: Expectations): void => {
    for (const name of Object.keys(e.cards ?? {})) card([...path, 'cards', name], name);
    e.bank?.revoked?.forEach((name, i) => card([...path, 'bank', 'revoked', i], name));
    if (e.receipts && !s.devices.printer)
      out.push({
        path: [...path, 'receipts'],
        message: 'receipts are counted by the printer: set devices.printer: true',
      });
    for (const [which, list] of [
      ['seen', e.events?.seen],
      ['notSeen', e.events?.notSeen],
    ] as const)
      list?.forEach((ev, i) => {
        if (!/^[a-zA-Z]+(:[a-z_]+)?$/.test(ev))
          out.push({
            path: [...path, 'events', which, i],
            message: `"${ev}" is not an event: an event name (batch, sale, settlement, …) or "sale:STATE" (sale:done)`,
          });
      });
  };

  const walk = (steps: readonly Step[], base: PropertyKey[], depth: number): number =>
    steps.reduce((sum, step, i) => sum + walkOne(step, [...base, i], depth), 0);
  const walkOne = (step: Step, at: PropertyKey[], depth: number): number => {
    if (depth > MAX_STEP_DEPTH) {
      out.push({ path: at, message: `repeat/oneOf nested deeper than ${MAX_STEP_DEPTH}` });
      return 0;
    }
    if ('repeat' in step) return step.repeat.times * walk(step.repeat.steps, [...at, 'repeat', 'steps'], depth + 1);
    if ('oneOf' in step) return Math.max(...step.oneOf.map((o, j) => walkOne(o, [...at, 'oneOf', j], depth + 1)));
    checkLeaf(step, at);
    return 1;
  };

  const checkLeaf = (step: Step, at: PropertyKey[]): void => {
    if ('sale' in step) {
      const b = step.sale;
      if (b.reader !== undefined) reader([...at, 'sale', 'reader'], b.reader);
      if (b.as !== undefined) labels.set(b.as, { background: !b.wait, kind: 'sale' });
    } else if ('finish' in step) label([...at, 'finish', 'sale'], step.finish.sale, 'background');
    else if ('cancel' in step) label([...at, 'cancel', 'sale'], step.cancel.sale, 'background');
    else if ('void' in step) label([...at, 'void', 'sale'], step.void.sale, 'sale');
    else if ('refund' in step) label([...at, 'refund', 'sale'], step.refund.sale, 'sale');
    else if ('insert' in step) {
      reader([...at, 'insert', 'reader'], step.insert.reader);
      card([...at, 'insert', 'card'], step.insert.card);
      const r = readers.get(step.insert.reader);
      if (r?.medium === 'hid' && r.card !== undefined && r.card !== step.insert.card)
        out.push({
          path: [...at, 'insert', 'card'],
          message: `reader "${r.id}" is a HID key, which is card "${r.card}": only it can be inserted (plugged in again)`,
        });
      else if (r?.medium === 'in-process' && r.card !== undefined && r.card !== step.insert.card)
        out.push({
          path: [...at, 'insert', 'card'],
          message: `reader "${r.id}" is in-process and carries card "${r.card}" only: another card cannot go in`,
        });
      const home = inProcessHome.get(step.insert.card);
      if (home !== undefined && home !== step.insert.reader)
        out.push({
          path: [...at, 'insert', 'reader'],
          message: `card "${step.insert.card}" lives in the daemon with in-process reader "${home}": it cannot move to reader "${step.insert.reader}"`,
        });
    } else if ('remove' in step) reader([...at, 'remove', 'reader'], step.remove.reader);
    else if ('pullDuring' in step) reader([...at, 'pullDuring', 'reader'], step.pullDuring.reader);
    else if ('stallDuring' in step) reader([...at, 'stallDuring', 'reader'], step.stallDuring.reader);
    else if ('lineNoise' in step) reader([...at, 'lineNoise', 'reader'], step.lineNoise.reader, true);
    else if ('topup' in step) {
      reader([...at, 'topup', 'reader'], step.topup.reader);
      if (step.topup.as !== undefined) labels.set(step.topup.as, { background: false, kind: 'topup' });
    } else if ('reportLost' in step) card([...at, 'reportLost', 'card'], step.reportLost.card);
    else if ('screenshot' in step && !s.devices.display)
      out.push({
        path: [...at, 'screenshot'],
        message: 'a screenshot needs the customer display: set devices.display: true',
      });
    else if ('wait' in step) {
      const w = step.wait;
      if ((w.ms === undefined) === (w.for === undefined))
        out.push({
          path: [...at, 'wait'],
          message: 'give exactly one of ms (a pause) or for (online, offline, settled, card)',
        });
      if (w.for === 'card' && w.reader === undefined)
        out.push({ path: [...at, 'wait'], message: 'wait for: card needs the reader it waits on (reader: NAME)' });
      if (w.reader !== undefined) reader([...at, 'wait', 'reader'], w.reader);
    } else if ('check' in step) checkExpect([...at, 'check'], step.check);
  };

  const total = walk(s.steps, ['steps'], 1);
  if (total > MAX_EXPANDED_STEPS)
    out.push({
      path: ['steps'],
      message: `the steps unroll to ${total} steps (repeat × repeat); at most ${MAX_EXPANDED_STEPS} per scenario`,
    });
  if (s.expect) checkExpect(['expect'], s.expect);
  return out;
}

function unknownName(what: string, name: string, known: Iterable<string>): string {
  const list = [...known];
  return `no ${what} "${name}" in devices (${list.length ? `declared: ${list.join(', ')}` : 'none declared'})`;
}
