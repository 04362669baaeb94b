import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

/**
 * The code is formatted by Prettier (.prettierrc.json, .prettierignore): one style, applied once and
 * kept. `npm run format` fixes what this finds.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));

describe('formatting (Prettier)', function () {
  this.timeout(120_000);
  it('every tracked source file is formatted as .prettierrc.json says', async () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
      .split('\0')
      .filter((f) => /\.(ts|mts|mjs|js|css)$/.test(f));
    assert.ok(files.length > 200, `found ${files.length} source files to check`);
    const ignorePath = `${root}.prettierignore`;
    const unformatted: string[] = [];
    for (const file of files) {
      const path = root + file;
      const info = await prettier.getFileInfo(path, { ignorePath });
      if (info.ignored || !info.inferredParser) continue;
      const options = await prettier.resolveConfig(path);
      if (!(await prettier.check(readFileSync(path, 'utf8'), { ...options, filepath: path }))) unformatted.push(file);
    }
    assert.deepEqual(unformatted, [], 'run `npm run format` and commit the result');
  });
});
