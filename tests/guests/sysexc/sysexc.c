/* Exceptions into EL1 and back: undefined instructions, BRK, SVC (at EL1 and
   as a syscall from EL0), PC alignment, an illegal exception return, an
   external abort, ERET to EL0, and the EL0 access rules of system registers
   and instructions (UNDEFINED, or trapped to EL1 with EC 0x18 or 0x01).
   Prints what the handler saw; addresses are printed relative to the
   faulting instruction so that the output is the same on every machine.
   DC ZVA at EL0 runs with the identity MMU (mmu.h) on, on Normal memory;
   with the MMU off it is an access to Device-nGnRnE memory, which takes an
   Alignment fault. */
#include "guest.h"
#include "el0.h"
#include "mmu.h"
#include "systest.h"

static volatile uint64_t last_esr, last_elr, last_far, last_spsr, last_kind;
static volatile int taken;
/* Where a faulting EL1 test continues (0: after the faulting instruction). */
static volatile uint64_t recover;

void guest_exception(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far, uint64_t *frame)
{
    if ((kind & 3) != 0) {
        printf_uart("unexpected asynchronous exception kind=%lu\n", kind);
        guest_poweroff();
    }
    uint64_t ec = EC(esr);
    if (kind == 8 && ec == 0x15 && frame[8] == SYS_EXIT) {
        el0_exit_frame(frame, frame[0]);
        return;
    }
    if (kind == 8 && ec == 0x15 && frame[8] == 1) {
        /* The "add" syscall: x0 = x0 + x1, returning after the SVC. */
        frame[0] = frame[0] + frame[1];
        last_esr = esr;
        taken++;
        return;
    }
    last_kind = kind;
    last_esr = esr;
    last_elr = elr;
    last_far = far;
    last_spsr = frame[32];
    taken++;
    if (ec == 0x0e)
        frame[32] &= ~(1UL << 20); /* return without PSTATE.IL */
    if (recover) {
        frame[31] = recover;
        recover = 0;
    } else if (ec != 0x15 && ec != 0x16 && ec != 0x17) {
        frame[31] = elr + 4;
    }
}

static void reset_record(void)
{
    taken = 0;
    last_esr = last_elr = last_far = last_spsr = last_kind = 0;
}

static void report(const char *what)
{
    if (!taken) {
        printf_uart("%s: no exception\n", what);
        return;
    }
    printf_uart("%s: EC=0x%lx IL=%lu ISS=0x%lx\n", what, EC(last_esr), IL(last_esr), ISS(last_esr));
    reset_record();
}

static void print_rel(const char *name, uint64_t v, uint64_t base)
{
    if (v == base)
        printf_uart(" %s=insn", name);
    else if (v == base + 4)
        printf_uart(" %s=insn+4", name);
    else
        printf_uart(" %s=insn?(0x%lx)", name, v - base);
}

/* ---- EL1 ------------------------------------------------------------------- */

static void el1_tests(void)
{
    uint64_t at;
    puts_uart("== synchronous exceptions at EL1 ==\n");

    reset_record();
    __asm__ volatile("adr %0, 1f\n1: .inst 0x00000000" : "=r"(at) :: "memory");
    printf_uart("udf #0: EC=0x%lx IL=%lu ISS=0x%lx", EC(last_esr), IL(last_esr), ISS(last_esr));
    print_rel("elr", last_elr, at);
    printf_uart(" from=kind%lu\n", last_kind);

    reset_record();
    __asm__ volatile("adr %0, 1f\n1: brk #0x123" : "=r"(at) :: "memory");
    printf_uart("brk #0x123: EC=0x%lx ISS=0x%lx", EC(last_esr), ISS(last_esr));
    print_rel("elr", last_elr, at);
    puts_uart("\n");

    reset_record();
    __asm__ volatile("adr %0, 1f\n1: svc #0x7" : "=r"(at) :: "x8", "memory");
    printf_uart("svc #7 at EL1: EC=0x%lx ISS=0x%lx", EC(last_esr), ISS(last_esr));
    print_rel("elr", last_elr, at);
    printf_uart(" spsr.M=0x%lx\n", last_spsr & 0x1f);

    reset_record();
    __asm__ volatile("adr %0, 1f\n1: hlt #0x5" : "=r"(at) :: "memory");
    printf_uart("hlt #5 (no halting debug): EC=0x%lx ISS=0x%lx", EC(last_esr), ISS(last_esr));
    print_rel("elr", last_elr, at);
    puts_uart("\n");

    /* A branch to an address with bits [1:0] set: PC alignment fault, ELR = FAR = the target. */
    reset_record();
    __asm__ volatile(
        "adr x9, 3f\n"
        "str x9, %[rec]\n"
        "adr %[t], 2f\n"
        "add %[t], %[t], #2\n"
        "br %[t]\n"
        "2: nop\n"
        "nop\n"
        "3:\n"
        : [t] "=&r"(at), [rec] "=m"(recover)
        :
        : "x9", "memory");
    printf_uart("br to an unaligned address: EC=0x%lx IL=%lu ISS=0x%lx", EC(last_esr), IL(last_esr), ISS(last_esr));
    print_rel("elr", last_elr, at);
    print_rel("far", last_far, at);
    puts_uart("\n");

    /* ERET with SPSR_EL1 naming EL2h: an illegal exception return. PSTATE.EL stays EL1, PSTATE.IL is set,
       and the instruction at the return address takes an Illegal Execution state exception. */
    reset_record();
    __asm__ volatile(
        "adr x9, 3f\n"
        "str x9, %[rec]\n"
        "adr %[t], 2f\n"
        "msr elr_el1, %[t]\n"
        "mov x9, #0x3c9\n"
        "movk x9, #0x6000, lsl #16\n" /* Z and C set, DAIF masked, M = EL2h */
        "msr spsr_el1, x9\n"
        "eret\n"
        "2: nop\n"
        "3:\n"
        : [t] "=&r"(at), [rec] "=m"(recover)
        :
        : "x9", "memory");
    printf_uart("illegal eret to EL2h: EC=0x%lx IL=%lu ISS=0x%lx", EC(last_esr), IL(last_esr), ISS(last_esr));
    print_rel("elr", last_elr, at);
    printf_uart(" spsr=0x%lx\n", last_spsr & 0xf01003dfUL);

    /* The same with the reserved mode EL0h (M = 0b0001: EL0 has no SP_EL0 selection). */
    reset_record();
    __asm__ volatile(
        "adr x9, 3f\n"
        "str x9, %[rec]\n"
        "adr %[t], 2f\n"
        "msr elr_el1, %[t]\n"
        "mov x9, #0x3c1\n"
        "msr spsr_el1, x9\n"
        "eret\n"
        "2: nop\n"
        "3:\n"
        : [t] "=&r"(at), [rec] "=m"(recover)
        :
        : "x9", "memory");
    printf_uart("illegal eret to M=0x1: EC=0x%lx", EC(last_esr));
    print_rel("elr", last_elr, at);
    printf_uart(" spsr=0x%lx\n", last_spsr & 0xf01003dfUL);

    /* A load from a physical address with nothing there (RAM is 128 MiB from 0x40000000): external abort. */
    reset_record();
    volatile uint32_t *nowhere = (volatile uint32_t *)0x50000000UL;
    (void)*nowhere;
    printf_uart("load from unbacked PA: EC=0x%lx DFSC=0x%lx WnR=%lu far=%s\n", EC(last_esr), last_esr & 0x3f, (last_esr >> 6) & 1,
                last_far == 0x50000000UL ? "va" : "?");
    reset_record();
    *nowhere = 1;
    printf_uart("store to unbacked PA: EC=0x%lx DFSC=0x%lx WnR=%lu\n", EC(last_esr), last_esr & 0x3f, (last_esr >> 6) & 1);
}

/* ---- EL0 ------------------------------------------------------------------------ */

static uint64_t el0_stack[512] __attribute__((aligned(16)));
#define EL0_SP ((uint64_t)&el0_stack[512])

static uint64_t el0_add(void) { return el0_syscall(0x42, 1, 40, 2); }
static uint64_t el0_exit_value(void) { __asm__ volatile("mov x0, #0x1234\nmov x8, #0\nsvc #0"); return 0; }
static uint64_t el0_current(void) { return 0; }
#define EL0_INSN(fn, insn) static uint64_t fn(void) { uint64_t v = 0x5a5a; __asm__ volatile(insn : "+r"(v) :: "memory"); return v; }
EL0_INSN(el0_mrs_sctlr, "mrs %0, sctlr_el1")
EL0_INSN(el0_msr_ttbr0, "msr ttbr0_el1, %0")
EL0_INSN(el0_mrs_spsel, "mrs %0, spsel")
EL0_INSN(el0_mrs_currentel, "mrs %0, CurrentEL")
EL0_INSN(el0_msr_tpidrro, "msr tpidrro_el0, %0")
EL0_INSN(el0_mrs_vbar, "mrs %0, vbar_el1")
EL0_INSN(el0_eret, "eret")
EL0_INSN(el0_tlbi, "tlbi vmalle1")
EL0_INSN(el0_ic_iallu, "ic iallu")
EL0_INSN(el0_dc_isw, "dc isw, %0")
EL0_INSN(el0_msr_spsel, "msr spsel, #1")
EL0_INSN(el0_msr_pan, ".inst 0xd500419f") /* msr pan, #1 */
EL0_INSN(el0_udf, ".inst 0x00000000")
EL0_INSN(el0_brk, "brk #0x77")
EL0_INSN(el0_wfi, "wfi")
EL0_INSN(el0_ctr, "mrs %0, ctr_el0")
EL0_INSN(el0_mrs_daif, "mrs %0, daif")
EL0_INSN(el0_msr_daifset, "msr daifset, #2")
EL0_INSN(el0_cntvct, "mrs %0, cntvct_el0")
EL0_INSN(el0_cntv_ctl, "mrs %0, cntv_ctl_el0")
EL0_INSN(el0_cntfrq, "mrs %0, cntfrq_el0")
EL0_INSN(el0_cntpct, "mrs %0, cntpct_el0")
EL0_INSN(el0_tpidr, "msr tpidr_el0, %0\nmrs %0, tpidr_el0\nadd %0, %0, #1")
EL0_INSN(el0_nzcv, "msr nzcv, %0\nmrs %0, nzcv")

static uint64_t el0_buf[64] __attribute__((aligned(64)));
static uint64_t el0_zva(void)
{
    __asm__ volatile("dc zva, %0" :: "r"(el0_buf) : "memory");
    return el0_buf[0];
}
/* DC ZVA of the first block of the identity map's EL0 window (Normal memory; the guest's own data is EL1-only there). */
#define EL0_WINDOW ((volatile uint64_t *)MMU_EL0_BASE)
static uint64_t el0_zva_window(void)
{
    __asm__ volatile("dc zva, %0" :: "r"(EL0_WINDOW) : "memory");
    return EL0_WINDOW[0];
}
static uint64_t el0_cvac(void)
{
    __asm__ volatile("dc cvac, %0" :: "r"(el0_buf) : "memory");
    return 0;
}

static void el0_run_sp(const char *what, uint64_t (*fn)(void), uint64_t sp)
{
    reset_record();
    uint64_t r = run_el0(fn, sp);
    if (!taken) {
        printf_uart("%s: no exception, returned 0x%lx\n", what, r);
        return;
    }
    printf_uart("%s: EC=0x%lx IL=%lu ISS=0x%lx from=kind%lu\n", what, EC(last_esr), IL(last_esr), ISS(last_esr), last_kind);
    reset_record();
}

static void el0_run(const char *what, uint64_t (*fn)(void))
{
    el0_run_sp(what, fn, EL0_SP);
}

static void el0_tests(void)
{
    puts_uart("== EL0 ==\n");
    write_sysreg(tpidrro_el0, 0x77);
    reset_record();
    uint64_t r = run_el0(el0_add, EL0_SP);
    printf_uart("syscall add(40, 2) from EL0 = %lu (svc EC=0x%lx ISS=0x%lx)\n", r, EC(last_esr), ISS(last_esr));
    printf_uart("exit syscall value = 0x%lx\n", run_el0(el0_exit_value, EL0_SP));
    printf_uart("return from an EL0 function = 0x%lx, back at EL%lu\n", run_el0(el0_current, EL0_SP), read_sysreg(CurrentEL) >> 2);

    el0_run("EL0 mrs sctlr_el1", el0_mrs_sctlr);
    el0_run("EL0 msr ttbr0_el1", el0_msr_ttbr0);
    el0_run("EL0 mrs spsel", el0_mrs_spsel);
    el0_run("EL0 mrs currentel", el0_mrs_currentel);
    el0_run("EL0 msr tpidrro_el0", el0_msr_tpidrro);
    el0_run("EL0 mrs vbar_el1", el0_mrs_vbar);
    el0_run("EL0 eret", el0_eret);
    el0_run("EL0 tlbi vmalle1", el0_tlbi);
    el0_run("EL0 ic iallu", el0_ic_iallu);
    el0_run("EL0 dc isw", el0_dc_isw);
    el0_run("EL0 msr spsel, #1", el0_msr_spsel);
    el0_run("EL0 msr pan, #1", el0_msr_pan);
    el0_run("EL0 udf", el0_udf);
    el0_run("EL0 brk #0x77", el0_brk);
    el0_run("EL0 tpidr_el0 round trip", el0_tpidr);
    el0_run("EL0 nzcv round trip", el0_nzcv);

    puts_uart("-- EL0 controls clear --\n");
    write_sysreg(sctlr_el1, SCTLR_KNOWN);
    write_sysreg(cntkctl_el1, 0);
    isb();
    el0_run("EL0 wfi (nTWI=0)", el0_wfi);
    el0_run("EL0 mrs ctr_el0 (UCT=0)", el0_ctr);
    el0_run("EL0 mrs daif (UMA=0)", el0_mrs_daif);
    el0_run("EL0 msr daifset (UMA=0)", el0_msr_daifset);
    el0_run("EL0 dc zva (DZE=0)", el0_zva);
    el0_run("EL0 dc cvac (UCI=0)", el0_cvac);
    el0_run("EL0 mrs cntvct_el0 (EL0VCTEN=0)", el0_cntvct);
    el0_run("EL0 mrs cntpct_el0 (EL0PCTEN=0)", el0_cntpct);
    el0_run("EL0 mrs cntfrq_el0 (EL0PCTEN=EL0VCTEN=0)", el0_cntfrq);
    el0_run("EL0 mrs cntv_ctl_el0 (EL0VTEN=0)", el0_cntv_ctl);

    puts_uart("-- EL0 controls set --\n");
    write_sysreg(sctlr_el1, SCTLR_KNOWN | SCTLR_UCT | SCTLR_UMA | SCTLR_DZE | SCTLR_UCI);
    write_sysreg(cntkctl_el1, (1 << 0) | (1 << 1) | (1 << 8));
    isb();
    for (int i = 0; i < 64; i++)
        el0_buf[i] = EL0_WINDOW[i] = ~0UL;
    el0_run("EL0 mrs daif (UMA=1)", el0_mrs_daif);
    mmu_identity_on();
    el0_run_sp("EL0 dc zva (DZE=1)", el0_zva_window, MMU_EL0_BASE + MMU_EL0_SIZE);
    mmu_off();
    /* With the MMU off the data access is Device-nGnRnE: an Alignment fault (the handler skips the DC ZVA). */
    el0_run("EL0 dc zva (DZE=1, MMU off)", el0_zva);
    el0_run("EL0 dc cvac (UCI=1)", el0_cvac);
    uint64_t ctr_el0 = read_sysreg(ctr_el0);
    reset_record();
    r = run_el0(el0_ctr, EL0_SP);
    printf_uart("EL0 mrs ctr_el0 (UCT=1): %s\n", !taken && r == ctr_el0 ? "reads CTR_EL0" : "wrong");
    reset_record();
    r = run_el0(el0_cntvct, EL0_SP);
    printf_uart("EL0 mrs cntvct_el0 (EL0VCTEN=1): %s\n", !taken && r != 0x5a5a ? "reads the count" : "wrong");
    reset_record();
    r = run_el0(el0_cntfrq, EL0_SP);
    printf_uart("EL0 mrs cntfrq_el0: %s\n", !taken && r == read_sysreg(cntfrq_el0) ? "reads CNTFRQ_EL0" : "wrong");
    reset_record();
    r = run_el0(el0_cntv_ctl, EL0_SP);
    printf_uart("EL0 mrs cntv_ctl_el0 (EL0VTEN=1): %s\n", !taken ? "allowed" : "trapped");
    write_sysreg(sctlr_el1, SCTLR_KNOWN);
    write_sysreg(cntkctl_el1, 0);
    isb();
}

int main(void)
{
    write_sysreg(sctlr_el1, SCTLR_KNOWN);
    write_sysreg(cntkctl_el1, 0);
    isb();
    puts_uart("sysexc: exceptions and EL0 access rules\n");
    el1_tests();
    el0_tests();
    puts_uart("sysexc: done\n");
    return 0;
}
