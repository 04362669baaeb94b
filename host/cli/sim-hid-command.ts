import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { CardpostError } from '../../protocol/errors.js';
import { HID_ENDPOINT_MAX_DEVICES } from '../../protocol/framing/hid-endpoint-wire.js';
// Simulator wiring (as sim-command.ts): simulated HID card keys served to other processes, for QA.
import { openSimCard } from '../../device-sim/card/sim-card.js';
import { SimHidKey } from '../../device-sim/hid/sim-hid-key.js';
import { SimHidEndpoint, assertLoopbackHost } from '../../device-sim/hid/hid-endpoint.js';
import type { CliIo } from './crypto-command.js';
import { parseHostPort } from './parse.js';
import { personaliseFromOptions } from './sim-card-setup.js';

const COMMANDS = 'plug [n] | unplug [n] | status | quit';
const collect = (v: string, prev: string[]) => [...prev, v];

interface SimHidOpts {
  listen: string;
  state: string[];
  issuer?: string;
  pin: string;
  balance: string;
  currency: string;
  keys?: string;
  unplugged?: boolean;
}

/**
 * `cardpost sim hid`: simulated USB HID card keys, each holding a simulated card, served on a loopback
 * endpoint (docs/protocol.md §11.13) that the daemon reaches through `readers.hidEndpoint`. This machine
 * cannot create a virtual HID device (no /dev/uhid, no hidraw), so this is how a key outside the test
 * process is plugged and pulled: from stdin, or by the QA runner.
 */
export function simHidCommand(io: CliIo): Command {
  return (
    new Command('hid')
      .description(
        `simulated USB HID card keys on a loopback endpoint for the daemon's readers.hidEndpoint (QA); type ${COMMANDS} on stdin`,
      )
      .option('--listen <host:port>', 'loopback address to serve the keys on (port 0 picks a free one)', '127.0.0.1:0')
      .option('--state <file>', 'card NVM file, once per key (created blank if missing)', collect, [] as string[])
      .option('--issuer <dir>', 'personalise blank cards with this issuer (cardpost issuer init)')
      // A simulated card's test PIN (QA data, as for `sim card`): fine on argv; a real PIN never is.
      .option('--pin <digits>', 'holder PIN for simulated cards personalised here (QA test data, not a secret)', '1234')
      .option('--balance <amount>', 'top-up for cards personalised here', '500.00')
      .option('--currency <code>', 'purse currency', 'CNY')
      .option('--keys <n>', `how many keys (1–${HID_ENDPOINT_MAX_DEVICES}; default: one per --state, else 1)`)
      .option('--unplugged', 'start with the keys pulled out')
      .action(async (opts: SimHidOpts) => {
        const addr = parseHostPort(opts.listen, '--listen', { allowAnyPort: true });
        try {
          assertLoopbackHost(addr.host); // before any card is made
        } catch (e) {
          const why = e instanceof CardpostError ? e : undefined;
          throw new CardpostError(
            'CLI_ADDRESS',
            `--listen ${opts.listen}: ${why?.message ?? String(e)}`,
            why?.hint ?? '',
          );
        }
        const count = opts.keys === undefined ? Math.max(1, opts.state.length) : Number(opts.keys);
        if (!Number.isInteger(count) || count < 1 || count > HID_ENDPOINT_MAX_DEVICES)
          throw new CardpostError(
            'CLI_USAGE',
            `--keys must be a whole number from 1 to ${HID_ENDPOINT_MAX_DEVICES}, got "${opts.keys}"`,
            'for example --keys 2',
          );
        if (opts.state.length > 0 && opts.state.length !== count)
          throw new CardpostError(
            'CLI_USAGE',
            `${opts.state.length} --state file(s) for ${count} key(s)`,
            'give one --state per key, or none (cards in memory)',
          );
        const keys: SimHidKey[] = [];
        for (let i = 0; i < count; i++) {
          const applet = openSimCard(opts.state[i]);
          let label = 'blank card';
          if (opts.issuer)
            label = await personaliseFromOptions(applet, { ...opts, issuer: opts.issuer }, io.out, `key ${i}`);
          const key = new SimHidKey(applet, { plugged: !opts.unplugged });
          key.on('plugged', () => io.out(`key ${i}: plugged`));
          key.on('unplugged', () => io.out(`key ${i}: unplugged`));
          keys.push(key);
          io.out(
            `key ${i}: ${key.serialNumber}, ${label}${opts.state[i] ? `, state ${opts.state[i]}` : ', state in memory'}`,
          );
        }
        const endpoint = new SimHidEndpoint(keys, { log: (line) => io.out(line) });
        const bound = await endpoint.listen(addr);
        // One line a script parses: the address to put in the daemon's readers.hidEndpoint.
        io.out(`hid endpoint ${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`);
        io.out(`commands: ${COMMANDS}`);
        const pick = (arg: string | undefined): SimHidKey[] =>
          arg === undefined ? keys : [keys[Number(arg)]].filter((k): k is SimHidKey => k !== undefined);
        const rl = createInterface({ input: process.stdin });
        await new Promise<void>((resolve) => {
          let stopping = false;
          const stop = async () => {
            if (stopping) return;
            stopping = true;
            rl.close();
            await endpoint.close();
            for (const k of keys) k.unplug(); // powers the cards off: their state files are complete
            resolve();
          };
          process.once('SIGTERM', () => void stop());
          process.once('SIGINT', () => void stop());
          rl.on('close', () => void stop());
          rl.on('line', (line) => {
            const [cmd, arg] = line.trim().split(/\s+/);
            if ((cmd === 'plug' || cmd === 'unplug') && arg !== undefined && pick(arg).length === 0)
              io.out(`no key ${arg}; keys are 0 to ${keys.length - 1}`);
            else if (cmd === 'plug') pick(arg).forEach((k) => k.plug());
            else if (cmd === 'unplug') pick(arg).forEach((k) => k.unplug());
            else if (cmd === 'status') {
              keys.forEach((k, i) => io.out(`key ${i}: ${k.plugged ? 'plugged' : 'unplugged'} (${k.serialNumber})`));
              io.out(`clients connected: ${endpoint.clients}`);
            } else if (cmd === 'quit') void stop();
            else if (cmd) io.out(`unknown command "${cmd}"; use ${COMMANDS}`);
          });
        });
      })
  );
}
