// simdcheck's trampoline: loads V0-V31, FPSR, NZCV, X0-X30 and SP from the
// state area, branches to the block at CODE_BASE, and (epilogue) saves them
// again. Copied at start-up to CODE_BASE + 0x1000; the block ends with a B to
// the epilogue (its encoding is part of the case, written by the test).
//
// State area at STATE_BASE (0x30000000):
//   IN:  0x000 v0..v31 (16 bytes each), 0x200 x0..x30, 0x2f8 sp, 0x300 fpsr, 0x308 nzcv
//   OUT: 0x400 v0..v31, 0x600 x0..x30, 0x6f8 sp, 0x700 fpsr, 0x708 nzcv
//   0x800 host SP while the block runs
// Page layout: entry +0x000, epilogue +0x200, recover +0x300.
        .arch   armv8-a+simd
        .text
// _start and sig_restorer: ../lib/qemuuser_start.S
        .balign 4096
        .global tramp_start
tramp_start:
        stp     x29, x30, [sp, #-96]!
        stp     x19, x20, [sp, #16]
        stp     x21, x22, [sp, #32]
        stp     x23, x24, [sp, #48]
        stp     x25, x26, [sp, #64]
        stp     x27, x28, [sp, #80]
        movz    x30, #0x3000, lsl #16
        mov     x9, sp
        str     x9, [x30, #0x800]
        mov     x9, x30
        ld1     {v0.16b, v1.16b, v2.16b, v3.16b}, [x9], #64
        ld1     {v4.16b, v5.16b, v6.16b, v7.16b}, [x9], #64
        ld1     {v8.16b, v9.16b, v10.16b, v11.16b}, [x9], #64
        ld1     {v12.16b, v13.16b, v14.16b, v15.16b}, [x9], #64
        ld1     {v16.16b, v17.16b, v18.16b, v19.16b}, [x9], #64
        ld1     {v20.16b, v21.16b, v22.16b, v23.16b}, [x9], #64
        ld1     {v24.16b, v25.16b, v26.16b, v27.16b}, [x9], #64
        ld1     {v28.16b, v29.16b, v30.16b, v31.16b}, [x9], #64
        ldr     x9, [x30, #0x300]
        msr     fpsr, x9
        ldr     x9, [x30, #0x308]
        msr     nzcv, x9
        ldr     x9, [x30, #0x2f8]
        mov     sp, x9
        add     x30, x30, #0x200
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
        // B to the block at CODE_BASE, one page below this one.
        .inst   0x14000000 | (((0 - 0x1000 - (. - tramp_start)) >> 2) & 0x3ffffff)

        .org    tramp_start + 0x200
epilogue:
        msr     tpidr_el0, x0
        movz    x0, #0x3000, lsl #16
        add     x0, x0, #0x600
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
        mrs     x1, fpsr
        str     x1, [x0, #256]
        mrs     x1, nzcv
        str     x1, [x0, #264]
        mrs     x1, tpidr_el0
        str     x1, [x0, #0]
        sub     x1, x0, #0x200
        st1     {v0.16b, v1.16b, v2.16b, v3.16b}, [x1], #64
        st1     {v4.16b, v5.16b, v6.16b, v7.16b}, [x1], #64
        st1     {v8.16b, v9.16b, v10.16b, v11.16b}, [x1], #64
        st1     {v12.16b, v13.16b, v14.16b, v15.16b}, [x1], #64
        st1     {v16.16b, v17.16b, v18.16b, v19.16b}, [x1], #64
        st1     {v20.16b, v21.16b, v22.16b, v23.16b}, [x1], #64
        st1     {v24.16b, v25.16b, v26.16b, v27.16b}, [x1], #64
        st1     {v28.16b, v29.16b, v30.16b, v31.16b}, [x1], #64
        b       recover

        .org    tramp_start + 0x300
recover:
        movz    x0, #0x3000, lsl #16
        ldr     x1, [x0, #0x800]
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
