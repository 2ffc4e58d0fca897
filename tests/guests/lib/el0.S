// EL0 support for nestvisor's system test guests (see el0.h).
//
// uint64_t run_el0(uint64_t (*fn)(void), uint64_t sp_el0)
// Saves the callee-saved registers on the EL1 stack, enters fn at EL0t with
// DAIF masked and SP_EL0 = sp_el0 via ERET. The guest's exception handler
// ends the EL0 run by returning to el0_return at EL1h (el0_exit_frame in
// el0.h does that), with the result in x0.
    .text
    .global run_el0
    .global el0_return
run_el0:
    stp     x29, x30, [sp, #-96]!
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    stp     x23, x24, [sp, #48]
    stp     x25, x26, [sp, #64]
    stp     x27, x28, [sp, #80]
    msr     sp_el0, x1
    msr     elr_el1, x0
    mov     x0, #0x3c0              // EL0t, D A I F masked
    msr     spsr_el1, x0
    ldr     x30, =el0_fell_off
    eret
el0_return:
    ldp     x19, x20, [sp, #16]
    ldp     x21, x22, [sp, #32]
    ldp     x23, x24, [sp, #48]
    ldp     x25, x26, [sp, #64]
    ldp     x27, x28, [sp, #80]
    ldp     x29, x30, [sp], #96
    ret
// An EL0 function that returns instead of calling the exit syscall lands here: exit with its x0.
el0_fell_off:
    mov     x8, #0
    svc     #0
    b       .
