// The code that runs one test instruction: `stub`, which is copied to an RWX
// page and called as stub(in, out) with the record layouts of fpcheck.c
// (_start is in ../lib/qemuuser_start.S). X19/X20 hold the record pointers
// across the instruction.
        .text
        .balign 16
        .global stub_start, stub_insn, stub_end
stub_start:
        stp     x19, x20, [sp, #-16]!
        mov     x19, x0
        mov     x20, x1
        ldr     w9, [x19, #0]
        msr     fpcr, x9
        ldr     w9, [x19, #8]
        msr     fpsr, x9                // initial FPSR: cumulative flags and QC may start set
        ldr     w9, [x19, #4]
        msr     nzcv, x9
        ldp     q0, q1, [x19, #16]
        ldp     q2, q3, [x19, #48]
        ldp     x0, x1, [x19, #80]
        ldp     x2, x3, [x19, #96]
stub_insn:
        nop
        stp     q0, q1, [x20, #0]
        stp     q2, q3, [x20, #32]
        stp     x0, x1, [x20, #64]
        stp     x2, x3, [x20, #80]
        mrs     x9, fpsr
        str     w9, [x20, #96]
        mrs     x9, nzcv
        str     w9, [x20, #100]
        msr     fpcr, xzr
        ldp     x19, x20, [sp], #16
        ret
stub_end:
        .section .note.GNU-stack,"",%progbits
