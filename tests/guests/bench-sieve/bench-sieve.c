/* Benchmark guest: the sieve of Eratosthenes over a byte array, repeated.
   Prints the prime count and a checksum of the primes found, then powers off.
   CPU-bound integer code (byte loads and stores, compares, branches). */
#include "guest.h"

#define LIMIT 1000000u
#define ROUNDS 20

/* Page-aligned: lib/guest.ld puts .data and .bss right after the code, and a
   store to a page holding code costs a self-modifying-code check (nestvisor
   drops the page's decoded blocks, QEMU its translations). */
static uint8_t composite[LIMIT + 1] __attribute__((aligned(4096)));

static uint32_t sieve(uint64_t *sum)
{
    uint32_t i, j, count = 0;
    uint64_t s = 0;
    for (i = 0; i <= LIMIT; i++)
        composite[i] = 0;
    for (i = 2; i * i <= LIMIT; i++)
        if (!composite[i])
            for (j = i * i; j <= LIMIT; j += i)
                composite[j] = 1;
    for (i = 2; i <= LIMIT; i++)
        if (!composite[i]) {
            count++;
            s = s * 31 + i;
        }
    *sum = s;
    return count;
}

int main(void)
{
    uint32_t count = 0;
    uint64_t check = 0;
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t s = 0;
        count = sieve(&s);
        check = (check ^ s ^ count) * 0x100000001b3ull;
    }
    printf_uart("bench-sieve: limit=%u rounds=%d primes=%u check=%016lx\n", LIMIT, ROUNDS, count, check);
    return 0;
}
