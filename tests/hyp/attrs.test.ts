/** createVm attributes: defaults, validation, and what the guest's ID registers say. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor, HypError, VmAttr } from '../../src/hyp/index.js';
import { resolveAttrs } from '../../src/hyp/attrs.js';
import { defaultFeatures, cpuModel } from '../../src/cpu/features.js';

const host = defaultFeatures();

test('defaults: 40-bit IPA, one vCPU, the host CPU with EL2/EL3 hidden and PARange capped', () => {
  const c = resolveAttrs([], host);
  assert.equal(c.ipaBits, 40);
  assert.equal(c.vcpus, 1);
  assert.equal(c.irqchip, null);
  assert.equal(c.features.paBits, host.paBits);
  assert.equal(c.idRegs.ID_AA64MMFR0_EL1[0] & 0xf, 2, 'PARange 40 bits');
  assert.equal((c.idRegs.ID_AA64PFR0_EL1[0] >>> 8) & 0xf, 0, 'no EL2 for the guest');
  assert.equal((c.idRegs.ID_AA64PFR0_EL1[0] >>> 24) & 0xf, 0, 'no GIC system registers without an irqchip');
  assert.equal((c.idRegs.ID_AA64ISAR0_EL1[0] >>> 20) & 0xf, 2, 'LSE from the host');
});

test('valid attributes are taken', () => {
  const c = resolveAttrs([
    { kind: 'ipa-bits', bits: 48 },
    { kind: 'vcpus', count: 4 },
    { kind: 'cpu-features', model: 'cortex-a57', features: { crc32: false } },
    { kind: 'hypercalls', forward: [0xc6000000, [0x86000000, 0x8600ffff]] },
    { kind: 'quantum', insns: 5000 },
  ], host);
  assert.equal(c.ipaBits, 48);
  assert.equal(c.vcpus, 4);
  assert.equal(c.features.lse, false);
  assert.equal(c.features.crc32, false);
  assert.equal(c.idRegs.ID_AA64MMFR0_EL1[0] & 0xf, 5);
  assert.equal((c.idRegs.ID_AA64ISAR0_EL1[0] >>> 16) & 0xf, 0, 'CRC32 hidden');
  assert.deepEqual(c.forward, [[0xc6000000, 0xc6000000], [0x86000000, 0x8600ffff]]);
  assert.equal(c.quantum, 5000);
});

test('every IPA size 32..48 is accepted; others are refused with the reason', () => {
  for (let b = 32; b <= 48; b++) assert.equal(resolveAttrs([{ kind: 'ipa-bits', bits: b }], host).ipaBits, b);
  assert.throws(() => resolveAttrs([{ kind: 'ipa-bits', bits: 31 }], host), /ipa-bits: 31 is outside 32..48/);
  assert.throws(() => resolveAttrs([{ kind: 'ipa-bits', bits: 52 }], host), /outside 32..48/);
  assert.throws(() => resolveAttrs([{ kind: 'ipa-bits', bits: 40.5 }], host), /not an integer/);
  // A host with 44 bits of physical address cannot offer 48-bit IPAs.
  const a57 = cpuModel('cortex-a57');
  assert.throws(() => resolveAttrs([{ kind: 'ipa-bits', bits: 45 }], a57), /host's physical address size is 44 bits/);
  assert.equal(resolveAttrs([{ kind: 'ipa-bits', bits: 44 }], a57).ipaBits, 44);
});

test('invalid attribute lists are HypErrors naming the problem', () => {
  const bad: Array<[unknown, RegExp]> = [
    [[{ kind: 'vcpus', count: 0 }], /vcpus: 0/],
    [[{ kind: 'vcpus', count: 257 }], /vcpus/],
    [[{ kind: 'vcpus', count: 2 }, { kind: 'vcpus', count: 3 }], /given twice/],
    [[{ kind: 'colour', value: 'blue' }], /unknown kind 'colour'/],
    [[null], /not a \{ kind/],
    ['ipa-bits=40', /must be an array/],
    [[{ kind: 'cpu-features', model: 'pentium' }], /unknown CPU model/],
    [[{ kind: 'cpu-features', features: { fp: 'yes' } }], /fp must be a boolean/],
    [[{ kind: 'cpu-features', features: { sve: true } }], /unknown or fixed feature 'sve'/],
    [[{ kind: 'cpu-features', features: { paBits: 40 } }], /ipa-bits/],
    [[{ kind: 'cpu-features' }], /give a model/],
    [[{ kind: 'hypercalls', forward: [[5, 1]] }], /ordered/],
    [[{ kind: 'quantum', insns: 0 }], /quantum/],
    [[{ kind: 'irqchip', gic: 42 }], /irqchip/],
    [[{ kind: 'mmio-ranges', ranges: [{ gpa: -1, size: 4 }] }], /mmio-ranges/],
  ];
  for (const [attrs, re] of bad) assert.throws(() => resolveAttrs(attrs as VmAttr[], host), (e: unknown) => e instanceof HypError && re.test((e as Error).message), JSON.stringify(attrs));
  // A feature the host lacks cannot be given to a VM (cortex-a57 has no LSE).
  assert.throws(() => resolveAttrs([{ kind: 'cpu-features', features: { lse: true } }], cpuModel('cortex-a57')), (e: unknown) => e instanceof HypError && /'lse' is not available on this host/.test((e as Error).message));
});

test('Hypervisor.createVm validates and allocates distinct VMIDs', () => {
  const hv = new Hypervisor();
  const a = hv.createVm();
  const b = hv.createVm([{ kind: 'ipa-bits', bits: 32 }]);
  assert.notEqual(a.vmid, b.vmid);
  assert.equal(b.stage2.geom.startLevel, 2);
  assert.throws(() => hv.createVm([{ kind: 'ipa-bits', bits: 64 }]), HypError);
  assert.equal(hv.vmCount, 2);
  b.destroy();
  assert.equal(hv.vmCount, 1);
  assert.throws(() => b.createVcpu(), /destroyed/);
});

test('a host that is too small, or a bad pool, is refused', () => {
  assert.throws(() => new Hypervisor({ cpu: 'no-such-cpu' }), HypError);
  assert.throws(() => new Hypervisor({ poolSize: 1000 }), /poolSize/);
});
