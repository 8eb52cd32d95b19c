// index.d.ts against openrpc.json, member for member, and an example app against index.d.ts, with
// Debian's tsc (node-typescript; scripts/setup.sh installs it). See types/check-types.js.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const checker = fileURLToPath(new URL('./types/check-types.js', import.meta.url));

describe('type declarations', () => {
  it('index.d.ts matches openrpc.json and example-app.ts compiles under tsc --strict', { timeout: 120_000 }, () => {
    const run = spawnSync(process.execPath, [checker], { encoding: 'utf8' });
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /index\.d\.ts matches openrpc\.json \(\d+ shapes, \d+ checks, \d+ methods\); example-app\.ts type-checks/);
  });
});
