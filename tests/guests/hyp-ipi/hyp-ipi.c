/* An IPI between two CPUs through a GICv3: CPU 0 starts CPU 1 with PSCI
   CPU_ON; each finds its redistributor by affinity (GICR_TYPER), wakes it
   (GICR_WAKER), puts SGIs 5-7 in Group 1 with priority 0x80 and enables
   them, and sets up its CPU interface through the system registers
   (ICC_SRE_EL1, PMR, BPR1, CTLR, IGRPEN1). CPU 1 then sleeps in WFI.
   ROUNDS times, CPU 0 writes a sequence number to shared memory and sends
   SGI 5 to CPU 1 with ICC_SGI1R_EL1, targeted by CPU 1's affinity (as CPU 1
   recorded its MPIDR); CPU 1 takes it (ICC_IAR1_EL1), records the sequence
   number, EOIs it (ICC_EOIR1_EL1) and answers with SGI 6 to CPU 0, which
   waits for it in WFI. Then CPU 0 sends SGI 7 to "everyone but me"
   (ICC_SGI1R_EL1.IRM), which tells CPU 1 to power off (PSCI CPU_OFF), and
   checks with AFFINITY_INFO that it did. Only values that any correct GICv3
   system must give are printed, so the output is the same under QEMU.
   Under a hypervisor the ICC_* registers are the virtual CPU interface
   (ICV_*) and ICC_SGI1R_EL1 writes trap to it. */
#include "guest.h"
#include "systest.h"

#define GICD 0x08000000UL
#define GICR 0x080A0000UL
#define GICR_STRIDE 0x20000UL
#define R32(a) (*(volatile uint32_t *)(a))
#define R64(a) (*(volatile uint64_t *)(a))

#define PSCI_CPU_OFF 0x84000002UL
#define PSCI_CPU_ON 0xC4000003UL
#define PSCI_AFFINITY_INFO 0xC4000004UL

#define SGI_PING 5 /* CPU 0 -> CPU 1 */
#define SGI_PONG 6 /* CPU 1 -> CPU 0 */
#define SGI_STOP 7 /* CPU 0 -> all but itself (IRM) */
#define ROUNDS 100

extern void secondary_entry(void);

/* Shared between the CPUs (.bss, cleared by CPU 0 before CPU 1 starts). */
static volatile uint64_t mpidr_of[2];
static volatile unsigned ready1, stop1;
static volatile unsigned seq;                   /* written by CPU 0 before each ping */
static volatile unsigned pings, pongs, stops;   /* taken by CPU 1, CPU 0, CPU 1 */
static volatile unsigned ping_log[ROUNDS];      /* CPU 1: the sequence number seen by each ping */
static volatile unsigned out_of_order, bad, spurious, wrong_rpr;
static volatile unsigned rd_index[2], rd_last[2];

static long psci(unsigned long fn, unsigned long a1, unsigned long a2, unsigned long a3)
{
    register unsigned long x0 __asm__("x0") = fn;
    register unsigned long x1 __asm__("x1") = a1;
    register unsigned long x2 __asm__("x2") = a2;
    register unsigned long x3 __asm__("x3") = a3;
    __asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
    return (long)x0;
}

static unsigned this_cpu(void) { return read_sysreg(mpidr_el1) & 0xff; }

/* ICC_SGI1R_EL1 for SGI `intid` to the PE with affinity `mpidr`: Aff3 [55:48], Aff2 [39:32], Aff1 [23:16],
   RS [47:44] = Aff0 / 16, TargetList bit Aff0 % 16. */
static uint64_t sgi_to(uint64_t mpidr, unsigned intid)
{
    uint64_t aff0 = mpidr & 0xff, aff1 = (mpidr >> 8) & 0xff, aff2 = (mpidr >> 16) & 0xff, aff3 = (mpidr >> 32) & 0xff;
    return (aff3 << 48) | ((aff0 >> 4) << 44) | (aff2 << 32) | ((uint64_t)intid << 24) | (aff1 << 16) | (1UL << (aff0 & 15));
}

static void send_sgi(uint64_t v)
{
    __asm__ volatile("dsb ishst" ::: "memory"); /* the shared-memory writes before the IPI */
    write_sysreg(icc_sgi1r_el1, v);
    isb();
}

void guest_exception(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far, uint64_t *frame)
{
    (void)frame;
    if (kind == 5) { /* IRQ, current EL with SP_ELx */
        uint64_t intid = read_sysreg(icc_iar1_el1);
        if (intid >= 1020) { spurious++; return; }
        if (read_sysreg(icc_rpr_el1) != 0x80) wrong_rpr++;
        unsigned cpu = this_cpu();
        if (cpu == 1 && intid == SGI_PING) {
            unsigned n = pings;
            if (n < ROUNDS) ping_log[n] = seq;
            if (seq != n) out_of_order++;
            pings = n + 1;
            write_sysreg(icc_eoir1_el1, intid);
            send_sgi(sgi_to(mpidr_of[0], SGI_PONG));
            return;
        }
        if (cpu == 0 && intid == SGI_PONG)
            pongs++;
        else if (cpu == 1 && intid == SGI_STOP) {
            stops++;
            stop1 = 1;
        } else
            bad++;
        write_sysreg(icc_eoir1_el1, intid);
        isb();
        return;
    }
    printf_uart("cpu %u: unexpected exception kind=%lu EC=0x%lx ISS=0x%lx ELR=%lx FAR=%lx\n", this_cpu(), kind, EC(esr), ISS(esr), elr, far);
    guest_poweroff();
}

/* Per-CPU GIC set-up: find and wake this CPU's redistributor, configure SGIs 5-7, enable the CPU interface. */
static void gic_cpu_init(unsigned cpu)
{
    uint64_t mpidr = read_sysreg(mpidr_el1);
    uint64_t aff = (mpidr & 0xffffff) | ((mpidr >> 8) & 0xff000000); /* Aff3.Aff2.Aff1.Aff0 as GICR_TYPER[63:32] */
    uint64_t rd = GICR;
    unsigned i = 0;
    for (;;) {
        uint64_t typer = R64(rd + 0x8);
        if ((typer >> 32) == aff)
            break;
        if ((typer >> 4) & 1) { /* Last */
            printf_uart("cpu %u: no redistributor\n", cpu);
            guest_poweroff();
        }
        rd += GICR_STRIDE;
        i++;
    }
    rd_index[cpu] = i;
    rd_last[cpu] = (R64(rd + 0x8) >> 4) & 1;
    R32(rd + 0x14) &= ~(1u << 1); /* GICR_WAKER.ProcessorSleep = 0 */
    while (R32(rd + 0x14) & (1u << 2)) /* ChildrenAsleep */
        ;
    uint64_t sgi = rd + 0x10000;
    R32(sgi + 0x180) = 0xffffffff; /* GICR_ICENABLER0: all off */
    R32(sgi + 0x280) = 0xffffffff; /* GICR_ICPENDR0 */
    R32(sgi + 0x80) = 0xffffffff;  /* GICR_IGROUPR0: Group 1 */
    for (unsigned n = SGI_PING; n <= SGI_STOP; n++)
        *(volatile uint8_t *)(sgi + 0x400 + n) = 0x80;
    R32(sgi + 0x100) = (1u << SGI_PING) | (1u << SGI_PONG) | (1u << SGI_STOP); /* GICR_ISENABLER0 */

    write_sysreg(icc_sre_el1, read_sysreg(icc_sre_el1) | 1);
    isb();
    write_sysreg(icc_pmr_el1, 0xf0);
    write_sysreg(icc_bpr1_el1, 0);
    write_sysreg(icc_ctlr_el1, 0);
    write_sysreg(icc_igrpen1_el1, 1);
    isb();
    mpidr_of[cpu] = mpidr;
}

/* Sleeps in WFI until *flag == want, without losing a wake-up: the check and the WFI run with IRQs masked
   (a pending interrupt still ends WFI), and the interrupt is taken when they are unmasked. */
static void wait_for(volatile unsigned *flag, unsigned want)
{
    while (*flag != want) {
        __asm__ volatile("msr daifset, #2" ::: "memory");
        if (*flag != want)
            __asm__ volatile("wfi");
        __asm__ volatile("msr daifclr, #2\n isb" ::: "memory");
    }
}

void secondary_main(unsigned long cpu)
{
    gic_cpu_init((unsigned)cpu);
    __asm__ volatile("msr daifclr, #2" ::: "memory");
    __atomic_store_n(&ready1, 1, __ATOMIC_SEQ_CST);
    __asm__ volatile("sev");
    wait_for(&stop1, 1);
    __asm__ volatile("msr daifset, #2" ::: "memory");
    psci(PSCI_CPU_OFF, 0, 0, 0);
    bad++; /* CPU_OFF returned */
}

int main(void)
{
    write_sysreg(sctlr_el1, SCTLR_KNOWN);
    isb();
    puts_uart("hyp-ipi: SGIs between two CPUs\n");
    R32(GICD + 0x0) = 0;
    R32(GICD + 0x0) = (1 << 4) | (1 << 1); /* ARE, EnableGrp1 */
    gic_cpu_init(0);
    __asm__ volatile("msr daifclr, #2" ::: "memory");

    long r = psci(PSCI_CPU_ON, 1, (unsigned long)secondary_entry, 1);
    printf_uart("CPU_ON(1) = %ld\n", r);
    while (!__atomic_load_n(&ready1, __ATOMIC_SEQ_CST))
        __asm__ volatile("wfe");
    printf_uart("cpu 0: redistributor %u last %u; cpu 1: mpidr %lx redistributor %u last %u\n",
                rd_index[0], rd_last[0], mpidr_of[1], rd_index[1], rd_last[1]);

    uint64_t ping = sgi_to(mpidr_of[1], SGI_PING);
    printf_uart("ICC_SGI1R_EL1 for SGI %u to cpu 1: %lx\n", SGI_PING, ping);
    for (unsigned i = 0; i < ROUNDS; i++) {
        seq = i;
        send_sgi(ping);
        wait_for(&pongs, i + 1);
    }
    unsigned logged_ok = 0;
    for (unsigned i = 0; i < ROUNDS; i++)
        logged_ok += ping_log[i] == i;
    printf_uart("round trips %u: cpu 1 took %u pings (%u in order, %u out of order), cpu 0 took %u pongs\n",
                ROUNDS, pings, logged_ok, out_of_order, pongs);

    /* IRM = 1: every PE but this one. */
    send_sgi((1UL << 40) | ((uint64_t)SGI_STOP << 24));
    for (int tries = 0; psci(PSCI_AFFINITY_INFO, 1, 0, 0) != 1; tries++) {
        if (tries > 1000000) {
            puts_uart("cpu 1 did not power off\n");
            break;
        }
        __asm__ volatile("yield");
    }
    printf_uart("broadcast SGI %u taken by cpu 1: %u; AFFINITY_INFO(1) = %ld (off)\n", SGI_STOP, stops, psci(PSCI_AFFINITY_INFO, 1, 0, 0));
    printf_uart("spurious %u, bad %u, wrong running priority %u\n", spurious, bad, wrong_rpr);
    puts_uart("hyp-ipi: done\n");
    return 0;
}
