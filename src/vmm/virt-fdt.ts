/**
 * The device tree of a QEMU-virt-compatible machine: the nodes a Linux
 * arm64 kernel built for QEMU's `virt` board expects, with the structure and
 * property values of the DTB that `qemu-system-aarch64 -M virt,gic-version=3`
 * dumps (checked against QEMU 7.2's), restricted to the devices nestvisor
 * emulates. Bindings: Devicetree Specification (memory, cpus, chosen), and
 * Linux's arm/cpus, arm/psci, interrupt-controller/arm,gic-v3,
 * timer/arm,arch_timer, serial/pl011, rtc/arm,pl031, virtio/mmio bindings.
 *
 * Interrupt specifiers use the GICv3 binding's three cells: type (0 SPI,
 * 1 PPI), number (INTID - 32 for SPIs, INTID - 16 for PPIs), flags
 * (1 edge rising, 4 level high).
 */
import { buildDtb, node, prop, type FdtNode } from './fdt.js';

export const VIRT = {
  GIC_DIST: 0x0800_0000,
  GIC_DIST_SIZE: 0x1_0000,
  GIC_REDIST: 0x080a_0000,
  /** Redistributor frames (RD + SGI) per CPU. */
  GIC_REDIST_STRIDE: 0x2_0000,
  UART: 0x0900_0000,
  UART_INTID: 33,
  RTC: 0x0901_0000,
  RTC_INTID: 34,
  VIRTIO_MMIO: 0x0a00_0000,
  VIRTIO_MMIO_STRIDE: 0x200,
  VIRTIO_MMIO_COUNT: 32,
  VIRTIO_MMIO_INTID: 48,
  RAM: 0x4000_0000,
  /** PPIs as INTIDs. */
  TIMER_SEC_PHYS_INTID: 29,
  TIMER_PHYS_INTID: 30,
  TIMER_VIRT_INTID: 27,
  TIMER_HYP_PHYS_INTID: 26,
  TIMER_HYP_VIRT_INTID: 28,
  GIC_MAINT_INTID: 25,
  PMU_INTID: 23,
} as const;

export interface MmioRange {
  base: number;
  size: number;
}

export interface VirtioMmioDesc extends MmioRange {
  /** The SPI's INTID (48 + n on the virt board). */
  intid: number;
}

export interface TimerIntids {
  secPhys: number;
  phys: number;
  virt: number;
  hypPhys: number;
  /** The EL2 virtual timer (FEAT_VHE); listed with interrupt-names when present. */
  hypVirt?: number;
}

export interface VirtMachineDesc {
  memory: MmioRange;
  cpus: number;
  /** MPIDR affinity (Aff2:Aff1:Aff0) of each CPU; default `virtMpidr(i)`. */
  mpidrs?: number[];
  gic: { dist: number; distSize?: number; redist: number; redistSize: number };
  uart: MmioRange & { intid: number };
  rtc?: MmioRange & { intid: number };
  virtio: VirtioMmioDesc[];
  psciMethod: 'hvc' | 'smc';
  bootargs?: string;
  initrd?: { start: number; end: number };
  timer: TimerIntids;
  /** GIC maintenance interrupt, given when the guest runs at (virtual) EL2. */
  maintenanceIntid?: number;
  /** PMU interrupt, given when the CPU has a PMU. */
  pmuIntid?: number;
  /** Bytes for /chosen/rng-seed (Linux seeds its RNG with them early). */
  rngSeed?: Uint8Array;
  /** 64-bit /chosen/kaslr-seed. */
  kaslrSeed?: bigint;
}

/** MPIDR affinity of CPU `i` as QEMU's virt board assigns it with GICv3: 16 CPUs per Aff1 cluster. */
export function virtMpidr(i: number): number {
  return ((i >> 4) << 8) | (i & 15);
}

/** The virt board's description for `memSize` bytes of RAM and `cpus` CPUs, with `nVirtio` transports. */
export function virtDefaults(memSize: number, cpus = 1, nVirtio = 0): VirtMachineDesc {
  if (nVirtio > VIRT.VIRTIO_MMIO_COUNT) throw new RangeError(`virt: at most ${VIRT.VIRTIO_MMIO_COUNT} virtio-mmio transports`);
  return {
    memory: { base: VIRT.RAM, size: memSize },
    cpus,
    gic: { dist: VIRT.GIC_DIST, distSize: VIRT.GIC_DIST_SIZE, redist: VIRT.GIC_REDIST, redistSize: VIRT.GIC_REDIST_STRIDE * cpus },
    uart: { base: VIRT.UART, size: 0x1000, intid: VIRT.UART_INTID },
    rtc: { base: VIRT.RTC, size: 0x1000, intid: VIRT.RTC_INTID },
    virtio: Array.from({ length: nVirtio }, (_, n) => ({ base: VIRT.VIRTIO_MMIO + VIRT.VIRTIO_MMIO_STRIDE * n, size: VIRT.VIRTIO_MMIO_STRIDE, intid: VIRT.VIRTIO_MMIO_INTID + n })),
    psciMethod: 'hvc',
    timer: { secPhys: VIRT.TIMER_SEC_PHYS_INTID, phys: VIRT.TIMER_PHYS_INTID, virt: VIRT.TIMER_VIRT_INTID, hypPhys: VIRT.TIMER_HYP_PHYS_INTID, hypVirt: VIRT.TIMER_HYP_VIRT_INTID },
  };
}

const IRQ_EDGE_RISING = 1;
const IRQ_LEVEL_HIGH = 4;
const GIC_SPI = 0;
const GIC_PPI = 1;

function spi(intid: number, flags: number): number[] {
  if (intid < 32 || intid > 1019) throw new RangeError(`virt-fdt: INTID ${intid} is not an SPI (32..1019)`);
  return [GIC_SPI, intid - 32, flags];
}

function ppi(intid: number, flags = IRQ_LEVEL_HIGH): number[] {
  if (intid < 16 || intid > 31) throw new RangeError(`virt-fdt: INTID ${intid} is not a PPI (16..31)`);
  return [GIC_PPI, intid - 16, flags];
}

const hex = (v: number): string => v.toString(16);
const reg = (base: number, size: number): Uint8Array => prop.reg(2, 2, [base, size]);

/** The device tree as a node tree (to inspect or patch before `buildDtb`). */
export function virtTree(d: VirtMachineDesc): FdtNode {
  if (d.cpus < 1) throw new RangeError('virt-fdt: at least one CPU');
  const PH_CLK = 1;
  const PH_GIC = 2;
  const root: FdtNode = node('', [
    ['interrupt-parent', prop.u32(PH_GIC)],
    ['model', prop.string('linux,dummy-virt')],
    ['#size-cells', prop.u32(2)],
    ['#address-cells', prop.u32(2)],
    ['compatible', prop.string('linux,dummy-virt')],
  ]);
  const add = (n: FdtNode): void => {
    root.children.push(n);
  };

  add(node('psci', [
    ['compatible', prop.strings('arm,psci-1.0', 'arm,psci-0.2')],
    ['method', prop.string(d.psciMethod)],
  ]));

  add(node(`memory@${hex(d.memory.base)}`, [
    ['device_type', prop.string('memory')],
    ['reg', reg(d.memory.base, d.memory.size)],
  ]));

  const mpidrs = d.mpidrs ?? Array.from({ length: d.cpus }, (_, i) => virtMpidr(i));
  if (mpidrs.length !== d.cpus) throw new RangeError(`virt-fdt: ${mpidrs.length} MPIDRs for ${d.cpus} CPUs`);
  add(node('cpus', [['#address-cells', prop.u32(1)], ['#size-cells', prop.u32(0)]],
    mpidrs.map((m) => node(`cpu@${hex(m)}`, [
      ['device_type', prop.string('cpu')],
      ['compatible', prop.string('arm,armv8')],
      ['reg', prop.u32(m)],
      ['enable-method', prop.string('psci')],
    ]))));

  // Redistributors: one contiguous region (#redistributor-regions = 1).
  const gicProps: Array<[string, Uint8Array]> = [
    ['compatible', prop.string('arm,gic-v3')],
    ['#interrupt-cells', prop.u32(3)],
    ['interrupt-controller', prop.empty()],
    // Address cells and an empty ranges as QEMU gives them (room for an ITS child);
    // dtc wants #address-cells in every interrupt provider.
    ['#address-cells', prop.u32(2)],
    ['#size-cells', prop.u32(2)],
    ['ranges', prop.empty()],
    ['reg', prop.reg(2, 2, [d.gic.dist, d.gic.distSize ?? VIRT.GIC_DIST_SIZE], [d.gic.redist, d.gic.redistSize])],
    ['#redistributor-regions', prop.u32(1)],
  ];
  if (d.maintenanceIntid !== undefined) gicProps.push(['interrupts', prop.cells(...ppi(d.maintenanceIntid))]);
  gicProps.push(['phandle', prop.u32(PH_GIC)]);
  add(node(`intc@${hex(d.gic.dist)}`, gicProps));

  const t = d.timer;
  const timerIds = [t.secPhys, t.phys, t.virt, t.hypPhys, ...(t.hypVirt !== undefined ? [t.hypVirt] : [])];
  const timerProps: Array<[string, Uint8Array]> = [
    ['compatible', prop.strings('arm,armv8-timer', 'arm,armv7-timer')],
    ['always-on', prop.empty()],
    ['interrupts', prop.cells(...timerIds.flatMap((id) => ppi(id)))],
  ];
  // With a fifth (EL2 virtual) timer the binding asks for interrupt-names.
  if (t.hypVirt !== undefined) timerProps.push(['interrupt-names', prop.strings('sec-phys', 'phys', 'virt', 'hyp-phys', 'hyp-virt')]);
  add(node('timer', timerProps));

  if (d.pmuIntid !== undefined) {
    add(node('pmu', [['compatible', prop.string('arm,armv8-pmuv3')], ['interrupts', prop.cells(...ppi(d.pmuIntid))]]));
  }

  add(node('apb-pclk', [
    ['compatible', prop.string('fixed-clock')],
    ['#clock-cells', prop.u32(0)],
    ['clock-frequency', prop.u32(24_000_000)],
    ['clock-output-names', prop.string('clk24mhz')],
    ['phandle', prop.u32(PH_CLK)],
  ]));

  const uartName = `pl011@${hex(d.uart.base)}`;
  add(node(uartName, [
    ['compatible', prop.strings('arm,pl011', 'arm,primecell')],
    ['reg', reg(d.uart.base, d.uart.size)],
    ['interrupts', prop.cells(...spi(d.uart.intid, IRQ_LEVEL_HIGH))],
    ['clocks', prop.cells(PH_CLK, PH_CLK)],
    ['clock-names', prop.strings('uartclk', 'apb_pclk')],
  ]));

  if (d.rtc) {
    add(node(`pl031@${hex(d.rtc.base)}`, [
      ['compatible', prop.strings('arm,pl031', 'arm,primecell')],
      ['reg', reg(d.rtc.base, d.rtc.size)],
      ['interrupts', prop.cells(...spi(d.rtc.intid, IRQ_LEVEL_HIGH))],
      ['clocks', prop.cells(PH_CLK)],
      ['clock-names', prop.string('apb_pclk')],
    ]));
  }

  // QEMU creates the transports from the highest address down, so that Linux,
  // which probes nodes in order, numbers /dev/vda from the lowest transport.
  for (const v of [...d.virtio].sort((a, b) => b.base - a.base)) {
    add(node(`virtio_mmio@${hex(v.base)}`, [
      ['compatible', prop.string('virtio,mmio')],
      ['reg', reg(v.base, v.size)],
      ['interrupts', prop.cells(...spi(v.intid, IRQ_EDGE_RISING))],
      ['dma-coherent', prop.empty()],
    ]));
  }

  const chosen: Array<[string, Uint8Array]> = [];
  if (d.bootargs !== undefined) chosen.push(['bootargs', prop.string(d.bootargs)]);
  chosen.push(['stdout-path', prop.string(`/${uartName}`)]);
  if (d.initrd) {
    if (d.initrd.end < d.initrd.start) throw new RangeError('virt-fdt: initrd ends before it starts');
    chosen.push(['linux,initrd-start', prop.u64(d.initrd.start)], ['linux,initrd-end', prop.u64(d.initrd.end)]);
  }
  if (d.rngSeed) chosen.push(['rng-seed', d.rngSeed.slice()]);
  if (d.kaslrSeed !== undefined) chosen.push(['kaslr-seed', prop.u64(d.kaslrSeed)]);
  add(node('chosen', chosen));
  return root;
}

/** The DTB for a machine description. */
export function virtDtb(d: VirtMachineDesc): Uint8Array {
  return buildDtb(virtTree(d), { bootCpuid: (d.mpidrs ?? [virtMpidr(0)])[0] });
}
