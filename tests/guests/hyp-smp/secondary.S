// Entry of secondary CPUs started by PSCI CPU_ON with context id = CPU
// number in x0: MMU off, EL1h. Each gets its own 8 KiB stack and calls
// secondary_main(cpu) from C, which never returns.
    .section .text
    .global secondary_entry
secondary_entry:
    ldr     x1, =smp_stacks
    add     x2, x0, #1
    lsl     x2, x2, #13
    add     x1, x1, x2
    mov     sp, x1
    ldr     x1, =vectors
    msr     vbar_el1, x1
    isb
    bl      secondary_main
1:  wfi
    b       1b

    .section .bss
    .balign 16
    .global smp_stacks
smp_stacks:
    .space  8192 * 8
