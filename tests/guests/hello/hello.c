/* nestvisor's default guest: greets over the PL011 UART, shows the exception
   level and a little arithmetic, then powers off through PSCI. */
#include "guest.h"

static uint64_t fib(unsigned n)
{
    uint64_t a = 0, b = 1;
    while (n--) {
        uint64_t t = a + b;
        a = b;
        b = t;
    }
    return a;
}

int main(void)
{
    uint64_t el = read_sysreg(CurrentEL) >> 2;
    uint64_t midr = read_sysreg(midr_el1);
    printf_uart("Hello from a bare-metal AArch64 guest on nestvisor!\n");
    printf_uart("running at EL%lu, MIDR_EL1=%08lx\n", el, midr);
    printf_uart("fib(90) = %lu\n", fib(90));
    printf_uart("powering off through PSCI SYSTEM_OFF\n");
    return 0;
}
