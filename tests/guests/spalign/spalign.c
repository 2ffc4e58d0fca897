/* Stack pointer alignment checking (SCTLR_EL1.SA for EL1, SA0 for EL0): a
   load or store with SP as the base register faults with EC 0x26 when SP is
   not 16-byte aligned, whatever the final address; other base registers and
   SP arithmetic are not checked. The EL1 cases run with SPSel = 0 so that
   the exception (taken on SP_EL1) has a good stack. */
#include "guest.h"
#include "el0.h"
#include "systest.h"

static volatile uint64_t last_esr, last_kind, last_elr;
static volatile int taken;

void guest_exception(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far, uint64_t *frame)
{
    (void)far;
    if (kind == 8 && EC(esr) == 0x15 && frame[8] == SYS_EXIT) {
        el0_exit_frame(frame, frame[0]);
        return;
    }
    if (EC(esr) != 0x26) {
        printf_uart("unexpected exception kind=%lu EC=0x%lx ISS=0x%lx ELR=%lx\n", kind, EC(esr), ISS(esr), elr);
        guest_poweroff();
    }
    last_esr = esr;
    last_kind = kind;
    last_elr = elr;
    taken++;
    frame[31] = elr + 4;
}

static void report(const char *what, uint64_t at)
{
    if (!taken)
        printf_uart("%s: no fault\n", what);
    else
        printf_uart("%s: EC=0x%lx IL=%lu ISS=0x%lx from=kind%lu elr=%s\n", what, EC(last_esr), IL(last_esr), ISS(last_esr), last_kind,
                    last_elr == at ? "insn" : "?");
    taken = 0;
}

static uint64_t scratch[8] __attribute__((aligned(16)));

/* Runs `insn` at EL1t with SP_EL0 = &scratch[2] + off. */
#define EL1_SP_TEST(what, off, insn) do { \
    uint64_t __at; \
    __asm__ volatile( \
        "mov x10, %[sp]\n" \
        "msr spsel, #0\n" \
        "mov sp, x10\n" \
        "adr %[at], 1f\n" \
        "1: " insn "\n" \
        "msr spsel, #1\n" \
        : [at] "=&r"(__at) : [sp] "r"((uint64_t)&scratch[2] + (off)) : "x10", "x11", "memory"); \
    report(what, __at); \
} while (0)

static void el1_tests(void)
{
    puts_uart("== EL1, SCTLR_EL1.SA = 1 ==\n");
    write_sysreg(sctlr_el1, SCTLR_KNOWN | SCTLR_SA);
    isb();
    EL1_SP_TEST("ldr x11, [sp] with SP aligned", 0, "ldr x11, [sp]");
    EL1_SP_TEST("ldr x11, [sp] with SP 8 past", 8, "ldr x11, [sp]");
    EL1_SP_TEST("ldr x11, [sp, #8] with SP 8 below (address aligned)", -8, "ldr x11, [sp, #8]");
    EL1_SP_TEST("str x11, [sp, #-8]! with SP aligned (writeback)", 0, "str x11, [sp, #-8]!\nadd sp, sp, #8");
    EL1_SP_TEST("stp x10, x11, [sp] with SP 4 past", 4, "stp x10, x11, [sp]");
    EL1_SP_TEST("ldrb w11, [sp] with SP 1 past", 1, "ldrb w11, [sp]");
    EL1_SP_TEST("ldr x11, [x10] with SP 8 past (not SP-based)", 8, "ldr x11, [x10]");
    EL1_SP_TEST("add sp, sp, #4 (no access)", 0, "add sp, sp, #4");
    puts_uart("== EL1, SCTLR_EL1.SA = 0 ==\n");
    write_sysreg(sctlr_el1, SCTLR_KNOWN);
    isb();
    EL1_SP_TEST("ldr x11, [sp] with SP 8 past", 8, "ldr x11, [sp]");
}

static uint64_t el0_stack[256] __attribute__((aligned(16)));

static uint64_t el0_misaligned(void)
{
    uint64_t v;
    __asm__ volatile(
        "mov x9, sp\n"
        "sub x10, x9, #8\n"
        "mov sp, x10\n"
        "ldr %0, [sp]\n"
        "mov sp, x9\n"
        : "=&r"(v) :: "x9", "x10", "memory");
    return 7;
}

static void el0_tests(void)
{
    puts_uart("== EL0 ==\n");
    write_sysreg(sctlr_el1, SCTLR_KNOWN | SCTLR_SA0);
    isb();
    taken = 0;
    uint64_t r = run_el0(el0_misaligned, (uint64_t)&el0_stack[256]);
    printf_uart("EL0 ldr [sp] with SP 8 below, SA0 = 1: %s, returned %lu\n", taken ? "fault" : "no fault", r);
    if (taken)
        printf_uart("  EC=0x%lx ISS=0x%lx from=kind%lu\n", EC(last_esr), ISS(last_esr), last_kind);
    write_sysreg(sctlr_el1, SCTLR_KNOWN | SCTLR_SA);
    isb();
    taken = 0;
    r = run_el0(el0_misaligned, (uint64_t)&el0_stack[256]);
    printf_uart("EL0 ldr [sp] with SP 8 below, SA0 = 0 (SA = 1): %s, returned %lu\n", taken ? "fault" : "no fault", r);
    write_sysreg(sctlr_el1, SCTLR_KNOWN);
    isb();
}

int main(void)
{
    write_sysreg(sctlr_el1, SCTLR_KNOWN);
    isb();
    puts_uart("spalign: stack pointer alignment checks\n");
    el1_tests();
    el0_tests();
    puts_uart("spalign: done\n");
    return 0;
}
