// Entry point and signal restorer shared by the qemu-aarch64 user-mode test
// programs (see qemuuser.h): _start calls cmain() and exits with status 0;
// sig_restorer is the SA_RESTORER return path (rt_sigreturn).
        .text
        .global _start
_start:
        mov     x29, #0
        mov     x30, #0
        bl      cmain
        mov     x0, #0
        mov     x8, #94                 // exit_group
        svc     #0

        .global sig_restorer
sig_restorer:
        mov     x8, #139                // rt_sigreturn
        svc     #0
        .section .note.GNU-stack,"",%progbits
