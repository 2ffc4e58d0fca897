/* MMIO emulation under nestvisor's hypervisor. The test serving this guest
   provides a scratch device of 64-bit registers at 0x0a000000 (reads return
   what was last written) and a read-only memory slot at 0x50000000 whose
   first word is 0x600dcafe. The guest uses load/store forms with and
   without an instruction syndrome (post/pre-indexed, pairs, sign-extending
   loads), writes to the read-only slot, and touches an address that is
   neither memory nor a device, catching the abort in its own handler. */
#include "guest.h"

#define DEV 0x0a000000UL
#define ROM 0x50000000UL
#define WILD 0x30000000UL

static volatile uint64_t aborts, last_esr, last_far;

void guest_exception(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far, uint64_t *frame)
{
    (void)elr;
    if (kind == 4 && ((esr >> 26) == 0x25)) {
        aborts++;
        last_esr = esr;
        last_far = far;
        frame[31] += 4; /* skip the faulting access */
        return;
    }
    printf_uart("unexpected exception kind=%lu esr=%lx far=%lx\n", kind, esr, far);
    guest_poweroff();
}

int main(void)
{
    uint64_t p = DEV, a, b, c;
    int64_t s;
    /* ISV=0: post-indexed and pre-indexed stores with writeback. */
    __asm__ volatile("str %1, [%0], #8" : "+r"(p) : "r"(0x1111222233334444UL) : "memory");
    __asm__ volatile("str %w1, [%0, #8]!" : "+r"(p) : "r"(0x55667788U) : "memory");
    printf_uart("writeback: base advanced by %lu\n", p - DEV);
    /* ISV=0: a pair store and a pair load. */
    __asm__ volatile("stp %1, %2, [%0, #16]" : : "r"(DEV), "r"(0xaaaaUL), "r"(0xbbbbUL) : "memory");
    __asm__ volatile("ldp %0, %1, [%2, #16]" : "=r"(a), "=r"(b) : "r"(DEV) : "memory");
    /* ISV=1: a plain load, and a sign-extending byte load. */
    c = *(volatile uint64_t *)DEV;
    s = *(volatile int8_t *)(DEV + 16 + 0); /* 0xaa -> -86 */
    printf_uart("ldp: %lx %lx, ldr: %lx, ldrsb: %ld, word at +16 of 8: %lx\n", a, b, c, s, *(volatile uint32_t *)(DEV + 16));
    /* Read-only memory: reads are memory, a write becomes an MMIO exit and leaves the memory alone. */
    volatile uint32_t *rom = (volatile uint32_t *)ROM;
    uint32_t before = rom[0];
    rom[0] = 0xdeadbeef;
    printf_uart("rom: %x then %x\n", before, rom[0]);
    /* Neither memory nor a device: a synchronous external abort, caught above. */
    (void)*(volatile uint64_t *)WILD;
    printf_uart("wild read: aborts=%lu esr=%lx far=%lx\n", aborts, last_esr, last_far);
    return 0;
}
