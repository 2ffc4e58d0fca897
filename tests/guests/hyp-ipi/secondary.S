// Entry of CPU 1, started by PSCI CPU_ON with context id = CPU number in x0:
// MMU off, EL1h. It gets its own stack and calls secondary_main(cpu), which
// powers the CPU off and does not return.
    .section .text
    .global secondary_entry
secondary_entry:
    ldr     x1, =secondary_stack_top
    mov     sp, x1
    ldr     x1, =vectors
    msr     vbar_el1, x1
    isb
    bl      secondary_main
1:  wfi
    b       1b

    .section .bss
    .balign 16
    .space  8192
secondary_stack_top:
