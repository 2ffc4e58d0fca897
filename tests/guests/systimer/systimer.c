/* The EL1 generic timers: the counters, and for the virtual and the physical
   timer the timer condition (CTL.ISTATUS once the counter reaches CVAL),
   ENABLE and IMASK, and the TVAL view (writes set CVAL = count + TVAL,
   reads give the signed 32-bit difference). Counter values differ between
   machines, so only relations between them are printed. */
#include "guest.h"
#include "systest.h"

void guest_exception(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far, uint64_t *frame)
{
    (void)frame;
    printf_uart("unexpected exception kind=%lu EC=0x%lx ISS=0x%lx ELR=%lx FAR=%lx\n", kind, EC(esr), ISS(esr), elr, far);
    guest_poweroff();
}

static const char *yes(int c) { return c ? "yes" : "no"; }

/* Register access by timer: 0 virtual (CNTV_*, CNTVCT), 1 physical (CNTP_*, CNTPCT). */
static uint64_t count(int p) { uint64_t v; if (p) __asm__ volatile("isb\nmrs %0, cntpct_el0" : "=r"(v)); else __asm__ volatile("isb\nmrs %0, cntvct_el0" : "=r"(v)); return v; }
static uint64_t ctl(int p) { return p ? read_sysreg(cntp_ctl_el0) : read_sysreg(cntv_ctl_el0); }
static void set_ctl(int p, uint64_t v) { if (p) write_sysreg(cntp_ctl_el0, v); else write_sysreg(cntv_ctl_el0, v); isb(); }
static uint64_t cval(int p) { return p ? read_sysreg(cntp_cval_el0) : read_sysreg(cntv_cval_el0); }
static void set_cval(int p, uint64_t v) { if (p) write_sysreg(cntp_cval_el0, v); else write_sysreg(cntv_cval_el0, v); isb(); }
static uint64_t tval(int p) { return p ? read_sysreg(cntp_tval_el0) : read_sysreg(cntv_tval_el0); }
static void set_tval(int p, uint64_t v) { if (p) write_sysreg(cntp_tval_el0, v); else write_sysreg(cntv_tval_el0, v); isb(); }

#define DELTA 1000000UL /* 16 ms at 62.5 MHz */

static void timer(int p)
{
    const char *n = p ? "CNTP" : "CNTV";
    printf_uart("== %s ==\n", n);
    set_ctl(p, 0);
    uint64_t now = count(p);
    set_cval(p, now + DELTA);
    set_ctl(p, 1);
    printf_uart("%s_CTL after ENABLE with CVAL = count + %lu: %lx\n", n, DELTA, ctl(p));
    uint64_t t = tval(p);
    printf_uart("%s_TVAL in (0, %lu]: %s, bits 63:32 zero: %s\n", n, DELTA, yes((int32_t)t > 0 && (int32_t)t <= (int64_t)DELTA), yes((t >> 32) == 0));
    uint64_t polls = 0;
    while (count(p) < now + DELTA)
        polls++;
    printf_uart("waited for the counter: %s\n", yes(polls > 0));
    /* QEMU recomputes ISTATUS from a host timer callback, which can lag the guest's view of the counter:
       allow it up to 100 ms of counter time. (tests/cpu/timer.test.ts checks that nestvisor's is immediate.) */
    while (!(ctl(p) & 4) && count(p) < now + DELTA + 6250000)
        ;
    printf_uart("%s_CTL once the counter passed CVAL: %lx\n", n, ctl(p));
    printf_uart("%s_TVAL <= 0: %s\n", n, yes((int32_t)tval(p) <= 0));
    set_ctl(p, 3);
    printf_uart("%s_CTL with IMASK: %lx\n", n, ctl(p));
    set_ctl(p, 0);
    printf_uart("%s_CTL disabled: %lx\n", n, ctl(p));

    set_ctl(p, 1);
    set_tval(p, DELTA);
    uint64_t c = cval(p), after = count(p);
    printf_uart("TVAL = %lu sets CVAL - count in (0, %lu]: %s; CTL %lx\n", DELTA, DELTA, yes(c > after && c - after <= DELTA), ctl(p));
    set_tval(p, (uint64_t)-100L);
    c = cval(p);
    after = count(p);
    printf_uart("TVAL = -100: CVAL <= count - 100: %s; CTL %lx; TVAL negative: %s\n", yes(c + 100 <= after), ctl(p), yes((int32_t)tval(p) < 0));
    set_cval(p, 0);
    printf_uart("CVAL = 0: CTL %lx\n", ctl(p));
    set_cval(p, ~0UL);
    printf_uart("CVAL = 2^64-1: CTL %lx\n", ctl(p));
    set_cval(p, 0x12345678abcdef01UL);
    printf_uart("CVAL round trip: %lx\n", cval(p));
    set_ctl(p, 0);
}

int main(void)
{
    write_sysreg(sctlr_el1, SCTLR_KNOWN);
    isb();
    puts_uart("systimer: the generic timer at EL1\n");
    printf_uart("CNTFRQ_EL0 %lu\n", read_sysreg(cntfrq_el0));
    int mono = 1;
    uint64_t prev = count(0);
    for (int i = 0; i < 1000; i++) {
        uint64_t c = count(0);
        if (c < prev)
            mono = 0;
        prev = c;
    }
    printf_uart("CNTVCT monotonic over 1000 reads: %s\n", yes(mono));
    uint64_t v = count(0), pc = count(1);
    printf_uart("CNTPCT - CNTVCT (no virtual offset) small and >= 0: %s\n", yes(pc >= v && pc - v < 100000));
    timer(0);
    timer(1);
    puts_uart("systimer: done\n");
    return 0;
}
