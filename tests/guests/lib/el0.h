/* Running code at EL0 from a bare-metal guest (el0.S): run_el0() enters
   fn at EL0t with SP_EL0 = sp; the EL0 code ends with the exit syscall
   (svc #0 with x8 = 0 and the result in x0), which the guest's exception
   handler turns into a return from run_el0 with el0_exit_frame(). */
#pragma once
#include <stdint.h>

uint64_t run_el0(uint64_t (*fn)(void), uint64_t sp_el0);
extern char el0_return[];

#define SYS_EXIT 0

/* In guest_exception: make the exception return to run_el0's caller at EL1h with `result`. */
static inline void el0_exit_frame(uint64_t *frame, uint64_t result)
{
    frame[0] = result;
    frame[31] = (uint64_t)el0_return;
    frame[32] = 0x3c5; /* EL1h, DAIF masked */
}

/* svc #imm with x8 = nr and arguments in x0, x1; returns x0. */
#define el0_syscall(imm, nr, a0, a1) ({ \
    register uint64_t __x0 __asm__("x0") = (uint64_t)(a0); \
    register uint64_t __x1 __asm__("x1") = (uint64_t)(a1); \
    register uint64_t __x8 __asm__("x8") = (uint64_t)(nr); \
    __asm__ volatile("svc #" #imm : "+r"(__x0) : "r"(__x1), "r"(__x8) : "memory"); \
    __x0; })
