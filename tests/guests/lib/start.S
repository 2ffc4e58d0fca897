// Entry of nestvisor's bare-metal test guests on the QEMU virt board.
// Entered at EL1 with the MMU off (as QEMU's -kernel does for an ELF at EL1):
// sets up the stack, clears .bss, installs the exception vectors, calls main(),
// and powers off through PSCI SYSTEM_OFF (HVC conduit) with main's result in x1
// so a debugger sees it. Built with -DGUEST_FP it also enables FP/SIMD first.
    .section .text.start, "ax"
    .global _start
_start:
    ldr     x0, =__stack_top
    mov     sp, x0
    ldr     x0, =__bss_start
    ldr     x1, =__bss_end
1:  cmp     x0, x1
    b.hs    2f
    str     xzr, [x0], #8
    b       1b
2:  ldr     x0, =vectors
    msr     vbar_el1, x0
#ifdef GUEST_FP
    // FP/SIMD guests (build-guest.sh with GUEST_FP=1): no FP/SIMD traps at EL1 or EL0 (CPACR_EL1.FPEN = 0b11).
    mov     x0, #(3 << 20)
    msr     cpacr_el1, x0
#endif
    isb
    bl      main
    mov     x1, x0
    bl      guest_poweroff
3:  wfi
    b       3b

    .global guest_poweroff
guest_poweroff:
    movz    x0, #0x0008
    movk    x0, #0x8400, lsl #16   // PSCI SYSTEM_OFF
    hvc     #0
    ret

// Exception vectors: every entry saves the caller-saved registers, calls
// guest_exception(kind, esr, elr, far, frame) from C, and returns with ERET.
// The C handler may change ELR (frame[31]) to skip the faulting instruction.
    .macro vector kind
    .balign 0x80
    sub     sp, sp, #272
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x29, x30, [sp, #232]
    mov     x0, #\kind
    b       vector_common
    .endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global vectors
vectors:
    vector 0
    vector 1
    vector 2
    vector 3
    vector 4
    vector 5
    vector 6
    vector 7
    vector 8
    vector 9
    vector 10
    vector 11
    vector 12
    vector 13
    vector 14
    vector 15

vector_common:
    mrs     x1, elr_el1
    str     x1, [sp, #248]
    mrs     x1, spsr_el1
    str     x1, [sp, #256]
    mrs     x1, esr_el1
    mrs     x2, elr_el1
    mrs     x3, far_el1
    mov     x4, sp
    bl      guest_exception
    ldr     x1, [sp, #248]
    msr     elr_el1, x1
    ldr     x1, [sp, #256]
    msr     spsr_el1, x1
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x29, x30, [sp, #232]
    add     sp, sp, #272
    eret
