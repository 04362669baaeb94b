import { CLASS_FAMILIES, ERROR_GROUPS, EXIT, KIND_MEANINGS, exitCodeOf, type ErrorEntry } from './registry.js';
import { UNKNOWN } from './codes.js';

/** `npm run docs:errors` writes this to docs/errors.md; test/unit/error-registry.test.ts checks the file equals it. */
export const ERRORS_DOC_PATH = 'docs/errors.md';

const cell = (s: string): string => s.replace(/\|/g, '\\|');
const codeCell = (e: ErrorEntry): string => (e.family === 'class' ? `any \`${e.code}\`` : `\`${e.code}\``);
const row = (e: ErrorEntry): string =>
  `| ${codeCell(e)} | ${e.status ?? '—'} | ${e.kind} | ${exitCodeOf(e)} | ${cell(e.advice)} |`;
const HEAD = '| code | HTTP | kind | CLI exit | what to do |\n|---|---|---|---|---|';

/** docs/errors.md, generated from the error registry (host/errors/codes.ts). */
export function renderErrorsDoc(): string {
  const out: string[] = [
    '# Error codes',
    '',
    '<!-- Generated from host/errors/codes.ts by `npm run docs:errors`; do not edit by hand (test/unit/error-registry.test.ts checks it). -->',
    '',
    "Every error code the host gives a person or a client: the local API's answers (`docs/host-api.md` §11), a sale's",
    "`error` and `notice`, the settlement status's `lastError`, and the `cardpost` command's messages. One registry",
    "(`host/errors/registry.ts`) decides, for each code, the HTTP status the API answers with, its kind, and the CLI's",
    'exit code; the settlement worker re-sends a batch after a `retry` failure and stops on anything else, a sale waits for',
    'the card again after a reader `retry` failure, and a serial terminal shows "declined" for a `decline`.',
    'Codes are stable; messages and hints are for people and may change.',
    '',
    '## Kinds',
    '',
    '| kind | meaning |',
    '|---|---|',
    ...Object.entries(KIND_MEANINGS).map(([k, m]) => `| ${k} | ${m} |`),
    '',
    '## Exit codes of `cardpost`',
    '',
    `| exit | when |`,
    '|---|---|',
    `| ${EXIT.OK} | done |`,
    `| ${EXIT.NEGATIVE} | the answer is "no": a check failed, or the daemon refused (any 4xx but 400 and 401) |`,
    `| ${EXIT.USAGE} | bad input: a \`bad-input\` error of the command itself, or the daemon's 400 |`,
    `| ${EXIT.UNAVAILABLE} | a device, file or service was unavailable or failed: the daemon's 401 and 5xx, any other error of the command itself |`,
    '',
    'The "CLI exit" column gives the code a command exits with when the daemon answers with that code (by its HTTP',
    'status), or, for a code that is never an HTTP answer, when the command itself raises it.',
    '',
  ];
  for (const g of ERROR_GROUPS) {
    out.push(
      `## ${g.title}`,
      '',
      `From ${g.source}.`,
      '',
      HEAD,
      ...[...g.entries].sort((a, b) => a.code.localeCompare(b.code)).map(row),
      '',
    );
  }
  out.push(
    '## Families',
    '',
    "A code ending in `*` above stands for every code that starts so. An error of one of the protocol's classes below",
    "has its class's row unless its code has a row of its own; a code no row names is a fault answered with",
    `HTTP ${UNKNOWN.status}.`,
    '',
    HEAD,
    ...CLASS_FAMILIES.map(row),
    '',
  );
  return out.join('\n');
}
