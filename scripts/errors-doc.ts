/**
 * Writes docs/errors.md from the error registry (host/errors): `npm run docs:errors`.
 * With --check, writes nothing and exits 1 if the file is not what the registry gives.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERRORS_DOC_PATH, renderErrorsDoc } from '../host/errors/errors-doc.js';

const path = fileURLToPath(new URL(`../${ERRORS_DOC_PATH}`, import.meta.url));
const text = renderErrorsDoc();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    /* missing: not current */
  }
  if (current !== text) {
    process.stderr.write(`${ERRORS_DOC_PATH} is out of date: run npm run docs:errors\n`);
    process.exit(1);
  }
} else {
  writeFileSync(path, text);
  process.stdout.write(`wrote ${ERRORS_DOC_PATH}\n`);
}
