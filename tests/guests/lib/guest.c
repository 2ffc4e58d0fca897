#include "guest.h"
#include <stdarg.h>

#define UART_DR 0x00
#define UART_FR 0x18
#define FR_TXFF (1u << 5)

void putc_uart(char c)
{
    volatile uint32_t *uart = (volatile uint32_t *)UART0_BASE;
    while (uart[UART_FR / 4] & FR_TXFF)
        ;
    uart[UART_DR / 4] = (uint32_t)(unsigned char)c;
}

void puts_uart(const char *s)
{
    while (*s)
        putc_uart(*s++);
}

static void put_num(uint64_t v, unsigned base, int width, char pad, int negative)
{
    char buf[24];
    int i = 0;
    do {
        unsigned d = (unsigned)(v % base);
        buf[i++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    if (negative)
        buf[i++] = '-';
    while (i < width)
        buf[i++] = pad;
    while (i)
        putc_uart(buf[--i]);
}

void printf_uart(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            putc_uart(*fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, longs = 0;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') {
            longs++;
            fmt++;
        }
        switch (*fmt) {
        case 'd': {
            int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
            put_num(v < 0 ? (uint64_t)-v : (uint64_t)v, 10, width, pad, v < 0);
            break;
        }
        case 'u':
            put_num(longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad, 0);
            break;
        case 'x':
            put_num(longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad, 0);
            break;
        case 'p':
            puts_uart("0x");
            put_num((uint64_t)va_arg(ap, void *), 16, 16, '0', 0);
            break;
        case 's':
            puts_uart(va_arg(ap, const char *));
            break;
        case 'c':
            putc_uart((char)va_arg(ap, int));
            break;
        case '%':
            putc_uart('%');
            break;
        default:
            putc_uart('?');
        }
    }
    va_end(ap);
}

__attribute__((weak)) void guest_exception(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far, uint64_t *frame)
{
    (void)frame;
    printf_uart("unexpected exception kind=%lu esr=%lx elr=%lx far=%lx\n", kind, esr, elr, far);
    guest_poweroff();
}
