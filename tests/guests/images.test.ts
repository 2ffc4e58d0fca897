/**
 * The committed guest images match their sources (tests/guests/MANIFEST,
 * written by tests/guests/build.sh):
 * - every recorded source file still hashes to its recorded SHA-256, and every
 *   source file of a guest is recorded (a source edited or added without
 *   rebuilding fails);
 * - every recorded image exists and hashes as recorded;
 * - when aarch64-linux-gnu-gcc is installed and its `--version` first line is
 *   the manifest's compiler line, a copy of tests/guests rebuilt in a
 *   temporary directory yields byte-identical images. Without the compiler
 *   this part fails with CI=true and is skipped otherwise; with another
 *   compiler version it is skipped (the images would legitimately differ).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const GUESTS = fileURLToPath(new URL('../../../tests/guests/', import.meta.url));
const CROSS = process.env.CROSS ?? 'aarch64-linux-gnu-';
const CI = process.env.CI === 'true';

interface Manifest {
  compiler: string;
  sources: Map<string, string>;
  images: Map<string, string>;
}

function parseManifest(): Manifest {
  const text = readFileSync(join(GUESTS, 'MANIFEST'), 'utf8');
  const m: Manifest = { compiler: '', sources: new Map(), images: new Map() };
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const c = /^compiler (.*)$/.exec(line);
    if (c) {
      m.compiler = c[1];
      continue;
    }
    const f = /^(source|image) ([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!f) throw new Error(`MANIFEST line ${i + 1} not understood: ${line}`);
    (f[1] === 'source' ? m.sources : m.images).set(f[3], f[2]);
  }
  return m;
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const isImage = (name: string): boolean => name.endsWith('.elf') || name.endsWith('.bin');

/** Files under tests/guests/<dir> (relative to tests/guests), recursively. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(GUESTS, rel))) {
      const r = `${rel}/${name}`;
      if (statSync(join(GUESTS, r)).isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk(dir);
  return out;
}

/** Guest directories as build.sh sees them: those with an executable `build`, plus lib/. */
function guestDirs(): string[] {
  return readdirSync(GUESTS).filter((d) => {
    const p = join(GUESTS, d);
    if (!statSync(p).isDirectory()) return false;
    if (d === 'lib') return true;
    try {
      return (statSync(join(p, 'build')).mode & 0o111) !== 0;
    } catch {
      return false;
    }
  });
}

test('guest sources match MANIFEST (rebuild with tests/guests/build.sh after editing them)', () => {
  const m = parseManifest();
  assert.ok(m.compiler !== '', 'MANIFEST has no compiler line');
  const problems: string[] = [];
  for (const [path, hash] of m.sources) {
    const p = join(GUESTS, path);
    if (!existsSync(p)) problems.push(`${path}: recorded but missing`);
    else if (sha256(p) !== hash) problems.push(`${path}: changed since the images were built`);
  }
  for (const dir of guestDirs()) {
    for (const f of filesUnder(dir)) {
      if (isImage(f) || f.endsWith('.o')) continue;
      if (!m.sources.has(f)) problems.push(`${f}: not in MANIFEST`);
    }
  }
  assert.deepEqual(problems, [], `guest sources and MANIFEST disagree:\n  ${problems.join('\n  ')}`);
});

test('guest images exist and match MANIFEST', () => {
  const m = parseManifest();
  const problems: string[] = [];
  for (const [path, hash] of m.images) {
    const p = join(GUESTS, path);
    if (!existsSync(p)) problems.push(`${path}: missing`);
    else if (sha256(p) !== hash) problems.push(`${path}: hash differs from MANIFEST`);
  }
  for (const dir of guestDirs()) for (const f of filesUnder(dir)) if (isImage(f) && !m.images.has(f)) problems.push(`${f}: image not in MANIFEST`);
  assert.deepEqual(problems, [], `guest images and MANIFEST disagree:\n  ${problems.join('\n  ')}`);
});

test('guest images rebuild byte-identically with the recorded compiler', (t) => {
  const m = parseManifest();
  const v = spawnSync(`${CROSS}gcc`, ['--version'], { encoding: 'utf8' });
  if (v.error !== undefined || v.status !== 0) {
    const msg = `${CROSS}gcc not found: guest images not rebuilt (apt-get install gcc-aarch64-linux-gnu)`;
    if (CI) assert.fail(`${msg}; CI=true requires it`);
    console.log(`SKIPPED: ${msg}`);
    t.skip(msg);
    return;
  }
  const have = v.stdout.split('\n')[0];
  if (have !== m.compiler) {
    const msg = `installed compiler "${have}" is not the recorded "${m.compiler}": images not rebuilt`;
    console.log(`SKIPPED: ${msg}`);
    t.skip(msg);
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'nestvisor-guests-'));
  try {
    const copy = join(tmp, 'guests');
    cpSync(GUESTS, copy, { recursive: true });
    // Remove the copied images so that a guest whose build does not write its image fails.
    for (const img of m.images.keys()) rmSync(join(copy, img), { force: true });
    const r = spawnSync('bash', [join(copy, 'build.sh')], { cwd: copy, encoding: 'utf8', env: { ...process.env, CROSS } });
    assert.equal(r.status, 0, `build.sh failed in ${copy}:\n${r.stderr}`);
    const problems: string[] = [];
    for (const img of m.images.keys()) {
      const p = join(copy, img);
      if (!existsSync(p)) problems.push(`${img}: not rebuilt`);
      else if (!readFileSync(p).equals(readFileSync(join(GUESTS, img)))) problems.push(`${img}: rebuilt image differs from the committed one`);
    }
    assert.deepEqual(problems, [], `rebuilding the guests:\n  ${problems.join('\n  ')}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
