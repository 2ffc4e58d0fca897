/** The console's batched output (cli/buffered-output.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferedOutput } from '../../src/cli/buffered-output.js';

const te = (s: string): Uint8Array => new TextEncoder().encode(s);

test('console output: bytes go out together at the next turn of the event loop, at 64 KiB, or on flush; a dead reader stops it once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nestvisor-out-'));
  try {
    const path = join(dir, 'out');
    const fd = openSync(path, 'w');
    let errors = 0;
    const out = new BufferedOutput(fd, () => errors++);
    for (const c of 'hello') out.write(te(c));
    assert.equal(readFileSync(path, 'utf8'), '', 'nothing written while the guest runs');
    await new Promise((r) => setImmediate(r));
    assert.equal(readFileSync(path, 'utf8'), 'hello');
    out.write(te('x'.repeat(70 * 1024)));
    assert.equal(readFileSync(path).length, 5 + 70 * 1024, 'a large burst goes out at once');
    out.write(te(' end'));
    out.flush();
    assert.ok(readFileSync(path, 'utf8').endsWith('x end'));
    closeSync(fd);
    out.write(te('after close'));
    out.flush();
    out.write(te('more'));
    out.flush();
    assert.equal(errors, 1, 'the error is reported once');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
