/* MRS/MSR of the EL1 registers, the PSTATE registers (DAIF, SPSel, SP_EL0,
   PAN, UAO, NZCV, CurrentEL) and MSR (immediate), ID register facts that
   hold on any ARMv8.2 PE with these features, the RAZ ID space, DC ZVA,
   cache maintenance by VA, and self-modifying code made visible with
   DC CVAU / IC IVAU. Prints only values the architecture fixes. DC ZVA runs
   with the identity MMU (mmu.h) on, on Normal memory; with the MMU off it is
   an access to Device-nGnRnE memory and takes an Alignment fault. */
#include "guest.h"
#include "mmu.h"
#include "systest.h"

/* Set around an instruction that is expected to take a data abort at EL1: the handler records it and skips the instruction. */
static volatile int expect_dabt, dabt_taken;
static volatile uint64_t dabt_esr, dabt_far;

void guest_exception(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far, uint64_t *frame)
{
    if (expect_dabt && kind == 4 && EC(esr) == 0x25) {
        dabt_taken++;
        dabt_esr = esr;
        dabt_far = far;
        frame[31] = elr + 4;
        return;
    }
    printf_uart("unexpected exception kind=%lu EC=0x%lx ISS=0x%lx ELR=%lx FAR=%lx\n", kind, EC(esr), ISS(esr), elr, far);
    guest_poweroff();
}

#define ROUND_TRIP(reg, val) do { \
    write_sysreg(reg, (val)); \
    uint64_t __r = read_sysreg(reg); \
    printf_uart("%s wrote %016lx read %016lx\n", #reg, (uint64_t)(val), __r); \
} while (0)

static void round_trips(void)
{
    puts_uart("== EL1 register round trips ==\n");
    ROUND_TRIP(tpidr_el1, 0x1122334455667788UL);
    ROUND_TRIP(tpidr_el0, 0x8877665544332211UL);
    ROUND_TRIP(tpidrro_el0, 0x0123456789abcdefUL);
    ROUND_TRIP(elr_el1, 0xffff000012345678UL);
    ROUND_TRIP(spsr_el1, 0xf00003c5UL);
    ROUND_TRIP(far_el1, 0xfedcba9876543210UL);
    ROUND_TRIP(esr_el1, 0x96000045UL);
    ROUND_TRIP(mair_el1, 0x000000ff440c0400UL);
    ROUND_TRIP(par_el1, 0x0000000040001f00UL);
    ROUND_TRIP(contextidr_el1, 0x12345678UL);
    ROUND_TRIP(cntkctl_el1, 0x3UL);
    uint64_t vbar = read_sysreg(vbar_el1);
    ROUND_TRIP(vbar_el1, 0x40200800UL);
    write_sysreg(vbar_el1, vbar);
    isb();
    /* Translation registers while the MMU is off. */
    ROUND_TRIP(ttbr0_el1, 0x0001000040100000UL);
    ROUND_TRIP(ttbr1_el1, 0x0002000040200000UL);
    ROUND_TRIP(tcr_el1, 0x00000000b5193519UL);
    write_sysreg(ttbr0_el1, 0);
    write_sysreg(ttbr1_el1, 0);
    write_sysreg(tcr_el1, 0);
    /* SCTLR_EL1: the controls written come back (RES0/RES1 bits are machine-specific, so only they are shown). */
    uint64_t ctl = SCTLR_UCT | SCTLR_DZE | SCTLR_UMA | SCTLR_NTWI | SCTLR_UCI | (1UL << 12) /* I */ | (1UL << 2) /* C */;
    write_sysreg(sctlr_el1, SCTLR_KNOWN | ctl);
    isb();
    uint64_t mask = ctl | 1 | SCTLR_SA | SCTLR_SA0 | (1UL << 1) | (1UL << 19) | (1UL << 18);
    printf_uart("sctlr_el1 controls %lx (RES1 EOS/EIS/TSCXT/nTLSMD/LSMAOE %s)\n", read_sysreg(sctlr_el1) & mask,
                (read_sysreg(sctlr_el1) & 0x30500800UL) == 0x30500800UL ? "set" : "clear");
    write_sysreg(sctlr_el1, SCTLR_KNOWN);
    isb();
}

static void pstate_regs(void)
{
    puts_uart("== PSTATE ==\n");
    printf_uart("CurrentEL %lx\n", read_sysreg(CurrentEL));
    printf_uart("DAIF at entry %lx\n", read_sysreg(daif));
    __asm__ volatile("msr daifclr, #0xf" ::: "memory");
    printf_uart("after daifclr #0xf: %lx\n", read_sysreg(daif));
    __asm__ volatile("msr daifset, #0x5" ::: "memory");
    printf_uart("after daifset #0x5: %lx\n", read_sysreg(daif));
    write_sysreg(daif, 0x280);
    printf_uart("after msr daif, 0x280: %lx\n", read_sysreg(daif));
    write_sysreg(daif, 0x3c0);
    printf_uart("after msr daif, 0x3c0: %lx\n", read_sysreg(daif));

    uint64_t nzcv;
    __asm__ volatile("cmp %1, %1\nmrs %0, nzcv" : "=r"(nzcv) : "r"(1UL) : "cc");
    printf_uart("nzcv after cmp x, x: %lx\n", nzcv);
    __asm__ volatile("msr nzcv, %1\nmrs %0, nzcv" : "=r"(nzcv) : "r"(0x9fffffffUL) : "cc");
    printf_uart("nzcv after msr 0x9fffffff: %lx\n", nzcv);
    uint64_t cs;
    __asm__ volatile("msr nzcv, %1\ncset %0, cs" : "=r"(cs) : "r"(0x20000000UL) : "cc");
    printf_uart("cset cs after msr nzcv C: %lu\n", cs);

    /* SPSel and SP_EL0: switch the stack pointer without touching the stack in between. */
    uint64_t sp1, sp0, spsel0, spsel1, back, spel0_read;
    __asm__ volatile(
        "mov %[sp1], sp\n"
        "ldr x9, =0x40123450\n"
        "msr sp_el0, x9\n"
        "mrs %[r], sp_el0\n"
        "msr spsel, #0\n"
        "mrs %[s0], spsel\n"
        "mov %[sp0], sp\n"
        "msr spsel, #1\n"
        "mrs %[s1], spsel\n"
        "mov %[back], sp\n"
        : [sp1] "=&r"(sp1), [sp0] "=&r"(sp0), [s0] "=&r"(spsel0), [s1] "=&r"(spsel1), [back] "=&r"(back), [r] "=&r"(spel0_read)
        :
        : "x9", "memory");
    printf_uart("sp_el0 read back %lx; spsel 0 -> sp %lx (spsel reads %lu); spsel 1 -> sp restored: %s (spsel reads %lu)\n", spel0_read, sp0, spsel0,
                back == sp1 ? "yes" : "no", spsel1);
    /* msr spsel with a register; the current SP of EL1t is SP_EL0. */
    __asm__ volatile(
        "mov x10, #0\n"
        "msr spsel, x10\n"
        "mov %[sp0], sp\n"
        "mov x10, #1\n"
        "msr spsel, x10\n"
        : [sp0] "=&r"(sp0)
        :
        : "x10", "memory");
    printf_uart("msr spsel, x(0) -> sp %lx\n", sp0);

    /* PAN and UAO (FEAT_PAN, FEAT_UAO), immediate and register forms. Encoded by hand: the assembler's default
       architecture level lacks them. */
    uint64_t pan1, pan0, uao1, uao0;
    __asm__ volatile(".inst 0xd500419f\n" /* msr pan, #1 */
                     "mrs %0, s3_0_c4_c2_3\n"
                     ".inst 0xd500409f\n" /* msr pan, #0 */
                     "mrs %1, s3_0_c4_c2_3\n"
                     : "=r"(pan1), "=r"(pan0));
    printf_uart("pan: after #1 %lx, after #0 %lx\n", pan1, pan0);
    write_sysreg(s3_0_c4_c2_3, 1UL << 22);
    printf_uart("pan: after msr pan, x(bit 22) %lx\n", read_sysreg(s3_0_c4_c2_3));
    write_sysreg(s3_0_c4_c2_3, 0);
    __asm__ volatile(".inst 0xd500417f\n" /* msr uao, #1 */
                     "mrs %0, s3_0_c4_c2_4\n"
                     ".inst 0xd500407f\n" /* msr uao, #0 */
                     "mrs %1, s3_0_c4_c2_4\n"
                     : "=r"(uao1), "=r"(uao0));
    printf_uart("uao: after #1 %lx, after #0 %lx\n", uao1, uao0);
}

static const char *yes(int c) { return c ? "yes" : "no"; }

static void id_regs(void)
{
    puts_uart("== ID registers ==\n");
    uint64_t pfr0 = read_sysreg(id_aa64pfr0_el1);
    uint64_t isar0 = read_sysreg(id_aa64isar0_el1);
    uint64_t mmfr0 = read_sysreg(id_aa64mmfr0_el1);
    uint64_t mmfr1 = read_sysreg(id_aa64mmfr1_el1);
    uint64_t mmfr2 = read_sysreg(id_aa64mmfr2_el1);
    printf_uart("EL0 and EL1 run AArch64: %s\n", yes((pfr0 & 0xf) >= 1 && ((pfr0 >> 4) & 0xf) >= 1));
    printf_uart("LSE atomics: %s, CRC32: %s\n", yes(((isar0 >> 20) & 0xf) >= 2), yes(((isar0 >> 16) & 0xf) >= 1));
    printf_uart("PAN: %s, UAO: %s\n", yes(((mmfr1 >> 20) & 0xf) >= 1), yes(((mmfr2 >> 4) & 0xf) >= 1));
    printf_uart("4K granule: %s, 16-bit ASIDs: %s, PA bits >= 40: %s\n", yes(((mmfr0 >> 28) & 0xf) != 0xf), yes(((mmfr0 >> 4) & 0xf) == 2),
                yes((mmfr0 & 0xf) >= 2));
    printf_uart("MPIDR_EL1 bit 31 (RES1): %lu\n", (read_sysreg(mpidr_el1) >> 31) & 1);
    /* Unallocated encodings in the ID space read as zero. */
    printf_uart("RAZ s3_0_c0_c3_3 %lx s3_0_c0_c4_3 %lx s3_0_c0_c5_7 %lx s3_0_c0_c6_6 %lx s3_0_c0_c7_7 %lx\n",
                read_sysreg(s3_0_c0_c3_3), read_sysreg(s3_0_c0_c4_3), read_sysreg(s3_0_c0_c5_7), read_sysreg(s3_0_c0_c6_6),
                read_sysreg(s3_0_c0_c7_7));
    printf_uart("CNTFRQ_EL0 %lu\n", read_sysreg(cntfrq_el0));
    printf_uart("ISR_EL1 %lx\n", read_sysreg(isr_el1));
    uint64_t dczid = read_sysreg(dczid_el0);
    printf_uart("DCZID_EL0.DZP %lu, block of 4 << BS bytes with BS >= 2: %s\n", (dczid >> 4) & 1, yes((dczid & 0xf) >= 2));
    uint64_t ctr = read_sysreg(ctr_el0);
    printf_uart("CTR_EL0 bit 31 (RES1): %lu\n", (ctr >> 31) & 1);
}

static uint8_t zbuf[3 * 2048] __attribute__((aligned(2048)));

static void dc_zva(void)
{
    puts_uart("== DC ZVA ==\n");
    unsigned bs = 4u << (read_sysreg(dczid_el0) & 0xf);
    for (unsigned i = 0; i < sizeof zbuf; i++)
        zbuf[i] = 0xa5;
    mmu_identity_on(); /* zbuf is Normal memory */
    __asm__ volatile("dc zva, %0" :: "r"(&zbuf[bs + 13]) : "memory");
    unsigned zeros = 0, first = ~0u, last = 0;
    for (unsigned i = 0; i < sizeof zbuf; i++) {
        if (zbuf[i] == 0) {
            zeros++;
            if (first == ~0u)
                first = i;
            last = i;
        }
    }
    mmu_off();
    printf_uart("zeroed exactly the aligned block holding the address: %s\n", yes(zeros == bs && first == bs && last == 2 * bs - 1));
    /* With the MMU off, data accesses are Device-nGnRnE: DC ZVA takes an Alignment fault (FAR: any address in the block). */
    for (unsigned i = 0; i < sizeof zbuf; i++)
        zbuf[i] = 0xa5;
    uint64_t za = (uint64_t)&zbuf[bs + 13];
    dabt_taken = 0;
    expect_dabt = 1;
    __asm__ volatile("dc zva, %0" :: "r"(za) : "memory");
    expect_dabt = 0;
    unsigned kept = 1;
    for (unsigned i = 0; i < sizeof zbuf; i++)
        kept &= zbuf[i] == 0xa5;
    if (dabt_taken)
        printf_uart("dc zva with the MMU off (Device-nGnRnE): EC=0x%lx ISS=0x%lx FAR %s, block %s\n", EC(dabt_esr), ISS(dabt_esr),
                    (dabt_far & ~(uint64_t)(bs - 1)) == (za & ~(uint64_t)(bs - 1)) ? "ok" : "wrong", kept ? "kept" : "changed");
    else
        printf_uart("dc zva with the MMU off (Device-nGnRnE): no exception, block %s\n", kept ? "kept" : "changed");
    /* Cache maintenance by VA is accepted at EL1 with the MMU off and changes nothing. */
    __asm__ volatile("dc civac, %0\ndc cvac, %0\ndc cvau, %0\ndc ivac, %0\ndsb sy" :: "r"(&zbuf[5]) : "memory");
    __asm__ volatile("dc isw, %0\ndc csw, %0\ndc cisw, %0\ndsb sy" :: "r"(0UL) : "memory");
    __asm__ volatile("tlbi vmalle1\ntlbi vmalle1is\ntlbi vae1, %0\ntlbi aside1is, %0\ndsb sy\nisb" :: "r"(0UL) : "memory");
    printf_uart("cache and TLB maintenance: ok, byte 5 still %x\n", zbuf[5]);
}

/* A function whose first instruction is rewritten: mov w0, #imm ; ret. */
static uint32_t smc_code[2] __attribute__((aligned(64))) = { 0x52800020 /* mov w0, #1 */, 0xd65f03c0 /* ret */ };

static void self_modifying(void)
{
    puts_uart("== self-modifying code ==\n");
    uint64_t (*fn)(void) = (uint64_t (*)(void))(uintptr_t)smc_code;
    __asm__ volatile("dc cvau, %0\ndsb ish\nic ivau, %0\ndsb ish\nisb" :: "r"(smc_code) : "memory");
    uint64_t a = fn();
    smc_code[0] = 0x52800040; /* mov w0, #2 */
    __asm__ volatile("dc cvau, %0\ndsb ish\nic ivau, %0\ndsb ish\nisb" :: "r"(smc_code) : "memory");
    uint64_t b = fn();
    smc_code[0] = 0x52800060; /* mov w0, #3 */
    __asm__ volatile("dsb ish\nic iallu\ndsb ish\nisb" ::: "memory");
    uint64_t c = fn();
    printf_uart("calls return %lu %lu %lu\n", a, b, c);
}

int main(void)
{
    write_sysreg(sctlr_el1, SCTLR_KNOWN);
    isb();
    puts_uart("sysregs: system registers and system instructions at EL1\n");
    round_trips();
    pstate_regs();
    id_regs();
    dc_zva();
    self_modifying();
    puts_uart("sysregs: done\n");
    return 0;
}
