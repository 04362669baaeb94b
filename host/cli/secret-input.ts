import { readFileSync, statSync } from 'node:fs';
import { CardpostError } from '../../protocol/errors.js';
import type { SecretPrompt } from './prompt.js';

/**
 * PINs and PUKs for the issuer tools come from a file, from stdin or from a prompt without echo,
 * never from the command line: argv is readable by every local user (ps, /proc/PID/cmdline) and
 * lands in shell history.
 */

/** Where one secret comes from, as the options gave it. */
export interface SecretSource {
  /** `--pin-file PATH`: the first line of the file. */
  file?: string;
  /** `--pin-stdin`: a prompt without echo on a terminal, else the next line of stdin. */
  stdin?: boolean;
  /** `--pin DIGITS`: refused; here only to say what to use instead. */
  argv?: string;
}

/** The refusal of a secret given on the command line. */
export function secretOnCommandLine(option: string): CardpostError {
  return new CardpostError(
    'CLI_SECRET_ON_COMMAND_LINE',
    `${option} on the command line is refused: any local user can read it (ps, /proc) and it stays in the shell history`,
    `give it with ${option}-file FILE (mode 0600) or ${option}-stdin (typed without echo on a terminal, or piped in); treat the value you typed as known and choose another`,
  );
}

/** The first line of a secret file: a regular file must not be readable by group or others. */
export function readSecretFile(path: string, option: string): string {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new CardpostError(
      'CLI_SECRET_FILE',
      `${option}-file ${path} cannot be read: ${(e as Error).message}`,
      'give the path of a file that holds the digits on its first line',
    );
  }
  // Pipes and /dev/fd/N (process substitution) have no meaningful mode; a regular file must be private.
  if (st.isFile() && (st.mode & 0o077) !== 0) {
    throw new CardpostError(
      'CLI_SECRET_FILE_MODE',
      `${option}-file ${path} is readable by other users (mode ${(st.mode & 0o777).toString(8)})`,
      `chmod 600 ${path}, then run the command again`,
    );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CardpostError(
      'CLI_SECRET_FILE',
      `${option}-file ${path} cannot be read: ${(e as Error).message}`,
      'give the path of a file that holds the digits on its first line',
    );
  }
  return (text.split(/\r?\n/)[0] ?? '').trim();
}

/**
 * The secret from its source, or undefined when none was given (the caller then makes a random one).
 * On a terminal a new secret is asked twice, so a typo cannot lock the holder out.
 */
export async function readSecret(
  src: SecretSource,
  option: string,
  prompt: () => SecretPrompt,
  label: string,
): Promise<string | undefined> {
  if (src.argv !== undefined) throw secretOnCommandLine(option);
  if (src.file !== undefined && src.stdin) {
    throw new CardpostError('CLI_USAGE', `${option}-file and ${option}-stdin both given`, 'give one of them');
  }
  if (src.file !== undefined) return readSecretFile(src.file, option);
  if (!src.stdin) return undefined;
  const p = prompt();
  const ask = async (q: string) => {
    try {
      return await p.ask(q);
    } catch {
      throw new CardpostError(
        'CLI_SECRET_MISSING',
        `${option}-stdin: no ${label} was given (end of input)`,
        `type it when asked, or pipe it in: one line per secret (${label} first)`,
      );
    }
  };
  const first = await ask(`${label}: `);
  if (p.interactive && (await ask(`${label} again: `)) !== first) {
    throw new CardpostError(
      'CLI_SECRET_MISMATCH',
      `the two ${label} entries differ`,
      'run the command again and type the same digits twice',
    );
  }
  return first;
}
