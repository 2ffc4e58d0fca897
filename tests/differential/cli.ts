/**
 * Manual differential runs, outside the test runner:
 *   node dist/tests/differential/cli.js [--class dp-reg] [--insns 1000000] [--seed N] [--batch 4000] [--reports 20] [--coverage]
 * Without --class, every class is run. Exit status 1 on any mismatch.
 */
import { GEN_CLASSES, GenClass } from './gen.js';
import { QemuHarness, findQemu } from './qemu.js';
import { runClass, summary } from './run.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const classes = (opt('class')?.split(',') ?? GEN_CLASSES) as GenClass[];
const insns = Number(opt('insns') ?? 100_000);
const seed = Number(opt('seed') ?? process.env.DIFF_SEED ?? (Date.now() % 1_000_000_007));
const qemuBin = findQemu();
if (qemuBin === null) {
  console.error('qemu-aarch64 not found (set QEMU_AARCH64 or install qemu-user)');
  process.exit(2);
}
const qemu = new QemuHarness(qemuBin);
await qemu.init();
let bad = 0;
for (const cls of classes) {
  const st = await runClass(cls, qemu, { seed, minInsns: insns, batchCases: Number(opt('batch') ?? 4000), maxReports: Number(opt('reports') ?? 10), log: (s) => console.log(s + '\n') });
  console.log(summary(st));
  if (args.includes('--coverage')) console.log('  ' + [...st.perDef].sort().map(([k, v]) => `${k}:${v}`).join(' '));
  const missing = st.defs.filter((d) => !st.perDef.has(d));
  if (missing.length) console.log(`  never generated: ${missing.join(' ')}`);
  bad += st.mismatches;
}
process.exit(bad ? 1 : 0);
