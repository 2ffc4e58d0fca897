/* Benchmark guest (FP/SIMD): double-precision matrix multiply. C += A * B
   for 96x96 matrices, repeated; the i-k-j loop order makes the inner loop a
   row update (C[i][j] += a[i][k] * B[k][j]) that GCC turns into vector FMLA
   on 2 doubles. Built with GUEST_FP=1 (FP/SIMD enabled by start.S). Prints a
   checksum of C (the bits of the sum of its elements, and of one element),
   then powers off. */
#include "guest.h"

#define N 96
#define ROUNDS 100

static double a[N][N] __attribute__((aligned(4096)));
static double b[N][N] __attribute__((aligned(16)));
static double c[N][N] __attribute__((aligned(16)));

static uint64_t bits(double d)
{
    union { double d; uint64_t u; } x = { .d = d };
    return x.u;
}

static void matmul_acc(void)
{
    for (int i = 0; i < N; i++)
        for (int k = 0; k < N; k++) {
            double aik = a[i][k];
            for (int j = 0; j < N; j++)
                c[i][j] += aik * b[k][j];
        }
}

int main(void)
{
    uint32_t x = 0x12345678u;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            x = x * 1664525u + 1013904223u;
            a[i][j] = (double)(int32_t)x / 2147483648.0; /* [-1, 1) */
            x = x * 1664525u + 1013904223u;
            b[i][j] = (double)(x >> 8) / 16777216.0 - 0.25;
            c[i][j] = 0.0;
        }
    for (int r = 0; r < ROUNDS; r++)
        matmul_acc();
    double sum = 0.0, sq = 0.0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            sum += c[i][j];
            sq += c[i][j] * c[i][j];
        }
    printf_uart("bench-matmul: n=%d rounds=%d sum=%016lx sumsq=%016lx c[17][42]=%016lx\n", N, ROUNDS, bits(sum), bits(sq), bits(c[17][42]));
    return 0;
}
