import { z } from 'zod';

/** Baud rates a serial receipt printer is set to (its DIP switches or utility): 9600 is the usual factory setting. */
const BAUD_RATES = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] as const;

/**
 * The receipt printer of the counter (`printer` in the daemon config; null: none). An ESC/POS printer on a
 * serial line (an RS-232 port, a USB-serial adapter /dev/ttyUSB0, a USB printer that shows itself as a CDC
 * serial device /dev/ttyACM0), or a USB printer-class printer through the kernel's usblp driver
 * (/dev/usb/lp0, `connection: usb`). docs/daemon.md §3 gives each field.
 */
export const printerConfigSchema = z.strictObject({
  /** The printer's device: a serial port, or with `connection: usb` the usblp device. */
  path: z.string().min(1),
  /** `serial` (default): a serial line at `baudRate`; `usb`: a USB printer-class device (no line settings). */
  connection: z.enum(['serial', 'usb']).default('serial'),
  baudRate: z
    .number()
    .int()
    .refine((n) => (BAUD_RATES as readonly number[]).includes(n), {
      message: `must be one of ${BAUD_RATES.join(', ')}`,
    })
    .default(9600),
  /**
   * How text is sent: `gb18030` (default) or `gbk` in the printer's Chinese mode (FS &), for printers
   * with a Chinese font; `cp437` for a printer without one (English-only receipts).
   */
  codepage: z.enum(['gb18030', 'gbk', 'cp437']).default('gb18030'),
  /** Characters per line: 48 on 80 mm paper, 32 on 58 mm paper (Font A). */
  width: z.number().int().min(24).max(64).default(48),
  /** The shop's name at the top of each receipt (optional). */
  header: z
    .string()
    .min(1)
    .max(48)
    .regex(/^[^\p{Cc}]+$/u, { message: 'must not hold control characters' })
    .optional(),
  /** How often the printer's state is read while it is idle (paper, cover, answering). */
  statusIntervalMs: z.number().int().min(100).max(60_000).default(2000),
  /** How long a status request may go unanswered before the printer counts as offline. */
  answerTimeoutMs: z.number().int().min(50).max(10_000).default(1000),
  /** How long a receipt waits for a printer that is not ready before it is given up ("not printed — reprint"). */
  holdMinutes: z.number().int().min(1).max(1440).default(30),
});

export type PrinterConfig = z.output<typeof printerConfigSchema>;
export type PrinterCodepage = PrinterConfig['codepage'];
