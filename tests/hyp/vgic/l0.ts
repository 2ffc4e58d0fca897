/**
 * A minimal L0 for the vGIC end-to-end tests: one PE running a bare-metal
 * guest at EL1 with HCR_EL2 = RW | AMO | IMO | FMO (no stage 2: the guest's
 * physical addresses are the bus's), RAM at 0x4000_0000, a PL011, and the
 * VGicV3's distributor and redistributor frames on the bus. Around each
 * pe.run() it flushes and syncs the list registers; it handles physical IRQ
 * exits (timer, maintenance) by doing just that, traps of ICC_SGI1R_EL1
 * (sendSgi), PSCI SYSTEM_OFF over HVC, and WFI by letting time pass to the
 * next timer event, as the hypervisor core does.
 */
import { PhysicalBus, MmioDevice } from '../../../src/cpu/bus.js';
import { PE, RunExit } from '../../../src/cpu/pe.js';
import { VECTOR_IRQ, VECTOR_SYNC } from '../../../src/cpu/exceptions.js';
import { EC } from '../../../src/arch/esr.js';
import { PSCI } from '../../../src/arch/psci.js';
import { sysregKey, SYSREG_BY_NAME } from '../../../src/arch/sysregs.js';
import { loadElf, parseElf } from '../../../src/vmm/elf.js';
import { Pl011 } from '../../../src/vmm/pl011.js';
import { VGicV3, GICD_SIZE, GICR_STRIDE } from '../../../src/hyp/vgic/vgic.js';

export interface L0Result {
  exit: 'poweroff' | 'budget' | 'error';
  output: string;
  message?: string;
  /** Exits by cause. */
  irqExits: number;
  sgiTraps: number;
  wfiSleeps: number;
  insns: number;
}

function keyOf(name: string): number {
  const r = SYSREG_BY_NAME.get(name)!;
  return sysregKey(r.op0, r.op1, r.crn, r.crm, r.op2);
}
const KEY_SGI1R = keyOf('ICC_SGI1R_EL1');
const KEY_ASGI1R = keyOf('ICC_ASGI1R_EL1');
const KEY_SGI0R = keyOf('ICC_SGI0R_EL1');

/**
 * The vGIC as a bus device at `base` (vCPU 0's view). Under a real L0 a guest
 * access to the GIC's frames is a stage-2 fault, an exit: the list registers
 * are synced before it is emulated and flushed before the guest resumes.
 * Without stage 2 here, the device does the same around the access.
 */
function gicDevice(gic: VGicV3, base: number, pe: () => PE): MmioDevice {
  return {
    name: 'vgic',
    read(offset, size, hi) {
      gic.sync(0, pe());
      const [l, h] = gic.mmioRead(0, base + offset, size);
      gic.flush(0, pe());
      hi.value = h;
      return l;
    },
    write(offset, size, lo, hi) {
      gic.sync(0, pe());
      gic.mmioWrite(0, base + offset, size, lo, hi);
      gic.flush(0, pe());
    },
  };
}

export function runWithVgic(elf: Uint8Array, opts: { maxInsns?: number } = {}): L0Result {
  const bus = new PhysicalBus();
  bus.addRam(0x4000_0000, 64 * 1024 * 1024);
  let output = '';
  bus.addDevice(0x0900_0000, 0x1000, new Pl011((b) => { output += String.fromCharCode(b); }));
  const gic = new VGicV3({ vcpus: 1 });
  let thePe: PE | null = null;
  bus.addDevice(gic.distBase, GICD_SIZE, gicDevice(gic, gic.distBase, () => thePe!));
  bus.addDevice(gic.redistBase, GICR_STRIDE, gicDevice(gic, gic.redistBase, () => thePe!));
  const img = parseElf(elf);
  loadElf(bus, img);
  const pe = new PE(bus);
  thePe = pe;
  pe.pc = img.entry;
  pe.writeSysreg('HCR_EL2', (1n << 31n) | (1n << 5n) | (1n << 4n) | (1n << 3n));
  gic.attachVcpu(0, pe);
  const res: L0Result = { exit: 'budget', output: '', irqExits: 0, sgiTraps: 0, wfiSleeps: 0, insns: 0 };
  const done = (exit: L0Result['exit'], message?: string): L0Result => ({ ...res, exit, message, output, insns: pe.icount });
  const maxInsns = opts.maxInsns ?? 50_000_000;
  while (pe.icount < maxInsns) {
    gic.flush(0, pe);
    const r = pe.run(Math.min(1_000_000, maxInsns - pe.icount));
    gic.sync(0, pe);
    if (r === RunExit.Budget) continue;
    if (r === RunExit.Wfi) {
      res.wfiSleeps++;
      if (!gic.hasPending(0) && !pe.timer.skipToNextDeadline()) return done('error', 'WFI with nothing armed');
      pe.waiting = false;
      continue;
    }
    if (r !== RunExit.El2) return done('error', `run() returned ${r}`);
    if (pe.el2Vector === VECTOR_IRQ) {
      res.irqExits++;
      pe.eretFromEl2();
      continue;
    }
    if (pe.el2Vector !== VECTOR_SYNC) return done('error', `vector 0x${pe.el2Vector.toString(16)}`);
    const esr = Number(pe.readSysreg('ESR_EL2'));
    const ec = esr >>> 26;
    if (ec === EC.HVC64) {
      const fn = Number(pe.getX(0) & 0xffffffffn);
      if (fn === PSCI.SYSTEM_OFF) return done('poweroff');
      pe.setX(0, 0xffffffffn); // NOT_SUPPORTED
      pe.eretFromEl2();
      continue;
    }
    if (ec === EC.SYS64 && (esr & 1) === 0) {
      // ISS: Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10], Rt [9:5], CRm [4:1], Direction [0].
      const key = sysregKey((esr >>> 20) & 3, (esr >>> 14) & 7, (esr >>> 10) & 15, (esr >>> 1) & 15, (esr >>> 17) & 7);
      const rt = (esr >>> 5) & 31;
      if (key === KEY_SGI1R || key === KEY_ASGI1R || key === KEY_SGI0R) {
        res.sgiTraps++;
        gic.sendSgi(0, rt === 31 ? 0n : pe.getX(rt), key === KEY_SGI0R ? 0 : 1);
        pe.writeSysreg('ELR_EL2', pe.readSysreg('ELR_EL2') + 4n);
        pe.eretFromEl2();
        continue;
      }
    }
    return done('error', `unhandled exit: ESR_EL2 0x${esr.toString(16)} at 0x${pe.readSysreg('ELR_EL2').toString(16)}`);
  }
  return done('budget');
}
