/* A GICv3 driver in miniature: the distributor (ARE, Group 1 enable), the
   redistributor wake-up (GICR_WAKER), the SGI frame (groups, priorities,
   enables of PPI 27 and SGI 3), the CPU interface through its system
   registers (ICC_SRE_EL1, PMR, BPR1, CTLR, IGRPEN1), then interrupts:
   five EL1 virtual timer interrupts (PPI 27) with EOImode 0, three with
   EOImode 1 (EOIR then DIR), two more while spinning instead of sleeping,
   a self-targeted SGI through ICC_SGI1R_EL1, and the priority mask holding
   one back.
   Under a hypervisor the same code runs on the virtual CPU interface
   (ICV_*) with a virtual distributor. Only values that an architecturally
   correct GICv3 must give are printed. */
#include "guest.h"
#include "systest.h"

#define GICD 0x08000000UL
#define GICR 0x080A0000UL
#define GICR_SGI (GICR + 0x10000UL)
#define R32(a) (*(volatile uint32_t *)(a))
#define R64(a) (*(volatile uint64_t *)(a))

#define PERIOD 62500UL /* 1 ms at 62.5 MHz */

static volatile unsigned ticks, sgis, spurious, bad;
static volatile uint64_t rpr_in_handler, hppir_in_handler;
static volatile int eoimode1;

static void arm_timer(void) { write_sysreg(cntv_tval_el0, PERIOD); write_sysreg(cntv_ctl_el0, 1); isb(); }

void guest_exception(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far, uint64_t *frame)
{
    (void)frame;
    if (kind == 5) { /* IRQ, current EL with SP_ELx */
        uint64_t intid = read_sysreg(icc_iar1_el1);
        if (intid == 1023) { spurious++; return; }
        rpr_in_handler = read_sysreg(icc_rpr_el1);
        hppir_in_handler = read_sysreg(icc_hppir1_el1);
        if (intid == 27) {
            if (!(read_sysreg(cntv_ctl_el0) & 4)) bad++; /* ISTATUS must be set */
            ticks++;
            write_sysreg(cntv_ctl_el0, 2); /* masked until the main loop re-arms it */
            isb();
        } else if (intid == 3) {
            sgis++;
        } else {
            bad++;
        }
        write_sysreg(icc_eoir1_el1, intid);
        if (eoimode1) write_sysreg(icc_dir_el1, intid);
        isb();
        return;
    }
    printf_uart("unexpected exception kind=%lu EC=0x%lx ISS=0x%lx ELR=%lx FAR=%lx\n", kind, EC(esr), ISS(esr), elr, far);
    guest_poweroff();
}

/* Waits for timer interrupts sleeping in WFI, or (busy) spinning. */
static void wait_ticks(unsigned n, int busy)
{
    while (ticks < n) {
        unsigned t = ticks;
        arm_timer();
        while (ticks == t) {
            if (busy)
                __asm__ volatile("nop");
            else
                __asm__ volatile("wfi");
        }
    }
}

int main(void)
{
    write_sysreg(sctlr_el1, SCTLR_KNOWN);
    isb();
    puts_uart("gic-timer: GICv3 and the virtual timer\n");

    /* Distributor: affinity routing, Group 1 enabled. */
    R32(GICD + 0x0) = 0;
    R32(GICD + 0x0) = (1 << 4) | (1 << 1);
    printf_uart("GICD_CTLR ARE %u EnableGrp1 %u\n", (R32(GICD) >> 4) & 1, (R32(GICD) >> 1) & 1);
    printf_uart("GICD_PIDR2.ArchRev %u\n", (R32(GICD + 0xffe8) >> 4) & 0xf);
    printf_uart("GICD_TYPER.ITLinesNumber >= 1: %s\n", (R32(GICD + 0x4) & 0x1f) >= 1 ? "yes" : "no");

    /* Redistributor 0: ours (one CPU), the last one; wake it up. */
    uint64_t typer = R64(GICR + 0x8);
    printf_uart("GICR_TYPER Last %lu Processor_Number %lu Affinity %lx\n", (typer >> 4) & 1, (typer >> 8) & 0xffff, typer >> 32);
    printf_uart("GICR_WAKER before: ProcessorSleep %u ChildrenAsleep %u\n", (R32(GICR + 0x14) >> 1) & 1, (R32(GICR + 0x14) >> 2) & 1);
    R32(GICR + 0x14) &= ~(1u << 1);
    while (R32(GICR + 0x14) & (1u << 2))
        ;
    printf_uart("GICR_WAKER after: %x\n", R32(GICR + 0x14) & 6);

    /* SGI frame: everything Group 1, disabled; PPI 27 and SGI 3 enabled with priorities. */
    R32(GICR_SGI + 0x80) = 0xffffffff;
    R32(GICR_SGI + 0x180) = 0xffffffff;
    R32(GICR_SGI + 0x280) = 0xffffffff;
    *(volatile uint8_t *)(GICR_SGI + 0x400 + 27) = 0xa0;
    *(volatile uint8_t *)(GICR_SGI + 0x400 + 3) = 0x80;
    R32(GICR_SGI + 0x100) = (1u << 27) | (1u << 3);
    printf_uart("GICR_ISENABLER0 %x IPRIORITYR6 %x ICFGR0 %x\n", R32(GICR_SGI + 0x100), R32(GICR_SGI + 0x418), R32(GICR_SGI + 0xc00));

    /* CPU interface. */
    write_sysreg(icc_sre_el1, read_sysreg(icc_sre_el1) | 1);
    isb();
    printf_uart("ICC_SRE_EL1.SRE %lu\n", read_sysreg(icc_sre_el1) & 1);
    write_sysreg(icc_pmr_el1, 0xf0);
    write_sysreg(icc_bpr1_el1, 0);
    write_sysreg(icc_ctlr_el1, 0);
    write_sysreg(icc_igrpen1_el1, 1);
    isb();
    printf_uart("ICC_PMR_EL1 %lx ICC_IGRPEN1_EL1 %lu ICC_RPR_EL1 %lx\n", read_sysreg(icc_pmr_el1), read_sysreg(icc_igrpen1_el1), read_sysreg(icc_rpr_el1));
    printf_uart("ICC_CTLR_EL1.EOImode %lu\n", (read_sysreg(icc_ctlr_el1) >> 1) & 1);

    __asm__ volatile("msr daifclr, #2");
    wait_ticks(5, 0);
    printf_uart("timer interrupts (EOImode 0): %u, running priority in the handler %lx, HPPIR1 %lu\n", ticks, rpr_in_handler, hppir_in_handler);

    write_sysreg(icc_ctlr_el1, 2);
    isb();
    eoimode1 = 1;
    printf_uart("ICC_CTLR_EL1.EOImode %lu\n", (read_sysreg(icc_ctlr_el1) >> 1) & 1);
    wait_ticks(8, 0);
    printf_uart("timer interrupts (EOImode 1): %u\n", ticks - 5);
    wait_ticks(10, 1);
    printf_uart("timer interrupts while spinning: %u\n", ticks - 8);

    /* An SGI to ourselves: INTID 3, TargetList bit 0 (Aff0 = 0), Aff1..3 = 0. */
    write_sysreg(icc_sgi1r_el1, (3UL << 24) | 1);
    isb();
    for (int i = 0; i < 1000 && sgis == 0; i++)
        __asm__ volatile("nop");
    printf_uart("SGI 3 taken: %u, running priority in the handler %lx\n", sgis, rpr_in_handler);

    /* Masked by the priority mask: an SGI below PMR stays pending. */
    write_sysreg(icc_pmr_el1, 0x80);
    isb();
    write_sysreg(icc_sgi1r_el1, (3UL << 24) | 1);
    isb();
    for (int i = 0; i < 1000; i++)
        __asm__ volatile("nop");
    printf_uart("SGI 3 with PMR 0x80: taken %u, pending in GICR_ISPENDR0 %u, HPPIR1 %lu\n", sgis - 1, (R32(GICR_SGI + 0x200) >> 3) & 1, read_sysreg(icc_hppir1_el1));
    write_sysreg(icc_pmr_el1, 0xf0);
    isb();
    for (int i = 0; i < 1000 && sgis == 1; i++)
        __asm__ volatile("nop");
    printf_uart("after PMR 0xf0: SGIs taken %u\n", sgis);

    __asm__ volatile("msr daifset, #2");
    write_sysreg(cntv_ctl_el0, 0);
    printf_uart("spurious %u, bad %u\n", spurious, bad);
    puts_uart("gic-timer: done\n");
    return 0;
}
