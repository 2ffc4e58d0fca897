/* Support for nestvisor's bare-metal test guests: PL011 output, formatting,
   system register access and the exception hook. */
#pragma once
#include <stdint.h>
#include <stddef.h>

#define UART0_BASE 0x09000000UL

void putc_uart(char c);
void puts_uart(const char *s);
/* A small printf: %d %u %x %lx %llx %s %c %p, with 0-padding widths like %016lx. */
void printf_uart(const char *fmt, ...);
void guest_poweroff(void);

/* Called from the vectors with kind = 4*source + type (source: 0 current EL SP0,
   1 current EL SPx, 2 lower EL AArch64, 3 lower EL AArch32; type: 0 sync,
   1 IRQ, 2 FIQ, 3 SError). frame[31] is ELR (writable), frame[32] SPSR.
   A weak default prints the syndrome and powers off. */
void guest_exception(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far, uint64_t *frame);

#define read_sysreg(r) ({ uint64_t __v; __asm__ volatile("mrs %0, " #r : "=r"(__v)); __v; })
#define write_sysreg(r, v) do { uint64_t __v = (uint64_t)(v); __asm__ volatile("msr " #r ", %0" :: "r"(__v)); } while (0)
#define isb() __asm__ volatile("isb" ::: "memory")
