// The part of the harness that runs with the test case's registers: an entry
// trampoline that loads X0-X30, SP and NZCV and branches to the block, and the
// epilogue the block branches to, which saves them. Both are copied at start-up
// to the second code page (CODE_BASE + 0x1000), so that a block at CODE_BASE
// reaches the epilogue with a plain B. Addresses are absolute (MOVZ), so the
// code runs wherever it is copied; the B to the block is encoded by hand.
//
// State area at STATE_BASE (0x30000000):
//   0x000 IN:  x0..x30, sp (0xf8), nzcv (0x100)
//   0x200 OUT: x0..x30, sp (0x2f8), nzcv (0x300)
//   0x400 host SP while the block runs
// Page layout: entry at +0x000, epilogue at +0x200 (TRAMP_EPILOGUE), recover
// (where the signal handler sends a faulting block) at +0x300 (TRAMP_RECOVER).

        .text
// _start and sig_restorer: ../lib/qemuuser_start.S
        .balign 4096
        .global tramp_start
tramp_start:
        // entry: called as void (*)(void)
        stp     x29, x30, [sp, #-96]!
        stp     x19, x20, [sp, #16]
        stp     x21, x22, [sp, #32]
        stp     x23, x24, [sp, #48]
        stp     x25, x26, [sp, #64]
        stp     x27, x28, [sp, #80]
        movz    x30, #0x3000, lsl #16
        mov     x9, sp
        str     x9, [x30, #0x400]
        clrex
        ldr     x9, [x30, #0x100]
        msr     nzcv, x9
        ldr     x9, [x30, #0xf8]
        mov     sp, x9
        ldp     x0, x1, [x30, #0]
        ldp     x2, x3, [x30, #16]
        ldp     x4, x5, [x30, #32]
        ldp     x6, x7, [x30, #48]
        ldp     x8, x9, [x30, #64]
        ldp     x10, x11, [x30, #80]
        ldp     x12, x13, [x30, #96]
        ldp     x14, x15, [x30, #112]
        ldp     x16, x17, [x30, #128]
        ldp     x18, x19, [x30, #144]
        ldp     x20, x21, [x30, #160]
        ldp     x22, x23, [x30, #176]
        ldp     x24, x25, [x30, #192]
        ldp     x26, x27, [x30, #208]
        ldp     x28, x29, [x30, #224]
        ldr     x30, [x30, #240]
        // B to the block at CODE_BASE: this instruction sits at page offset (. - tramp_start)
        // of the page after the block's page.
        .inst   0x14000000 | (((0 - 0x1000 - (. - tramp_start)) >> 2) & 0x3ffffff)

        .org    tramp_start + 0x200
epilogue:
        msr     tpidr_el0, x0
        movz    x0, #0x3000, lsl #16
        add     x0, x0, #0x200
        stp     x1, x2, [x0, #8]
        stp     x3, x4, [x0, #24]
        stp     x5, x6, [x0, #40]
        stp     x7, x8, [x0, #56]
        stp     x9, x10, [x0, #72]
        stp     x11, x12, [x0, #88]
        stp     x13, x14, [x0, #104]
        stp     x15, x16, [x0, #120]
        stp     x17, x18, [x0, #136]
        stp     x19, x20, [x0, #152]
        stp     x21, x22, [x0, #168]
        stp     x23, x24, [x0, #184]
        stp     x25, x26, [x0, #200]
        stp     x27, x28, [x0, #216]
        stp     x29, x30, [x0, #232]
        mov     x1, sp
        str     x1, [x0, #248]
        mrs     x1, nzcv
        str     x1, [x0, #256]
        mrs     x1, tpidr_el0
        str     x1, [x0, #0]
        b       recover

        .org    tramp_start + 0x300
recover:
        movz    x0, #0x3000, lsl #16
        ldr     x1, [x0, #0x400]
        mov     sp, x1
        ldp     x19, x20, [sp, #16]
        ldp     x21, x22, [sp, #32]
        ldp     x23, x24, [sp, #48]
        ldp     x25, x26, [sp, #64]
        ldp     x27, x28, [sp, #80]
        ldp     x29, x30, [sp], #96
        ret
        .global tramp_end
tramp_end:
