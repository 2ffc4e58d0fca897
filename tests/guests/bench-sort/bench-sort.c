/* Benchmark guest: sorts pseudo-random 64-bit integers (xorshift64*) with an
   in-place quicksort (median of three, insertion sort for short runs) and with
   heapsort, alternating, repeated; checks each result is ordered and folds it
   into a checksum. Prints the checksum, then powers off. */
#include "guest.h"

#define N 100000
#define ROUNDS 12

/* Page-aligned, and no other writable globals: lib/guest.ld puts .data and
   .bss right after the code, and a store to a page holding code costs a
   self-modifying-code check on nestvisor and on QEMU alike. */
static uint64_t a[N] __attribute__((aligned(4096)));

static uint64_t rng(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static void insertion_sort(uint64_t *v, long n)
{
    for (long i = 1; i < n; i++) {
        uint64_t t = v[i];
        long j = i - 1;
        while (j >= 0 && v[j] > t) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = t;
    }
}

static void swap(uint64_t *p, uint64_t *q)
{
    uint64_t t = *p;
    *p = *q;
    *q = t;
}

static void quicksort(uint64_t *v, long n)
{
    while (n > 16) {
        long m = n / 2;
        if (v[m] < v[0]) swap(&v[m], &v[0]);
        if (v[n - 1] < v[0]) swap(&v[n - 1], &v[0]);
        if (v[n - 1] < v[m]) swap(&v[n - 1], &v[m]);
        uint64_t pivot = v[m];
        long i = 0, j = n - 1;
        for (;;) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i >= j) break;
            swap(&v[i], &v[j]);
            i++;
            j--;
        }
        /* Recurse into the smaller part, loop on the larger. */
        long left = j + 1;
        if (left < n - left) {
            quicksort(v, left);
            v += left;
            n -= left;
        } else {
            quicksort(v + left, n - left);
            n = left;
        }
    }
    insertion_sort(v, n);
}

static void sift_down(uint64_t *v, long root, long n)
{
    for (;;) {
        long child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && v[child] < v[child + 1]) child++;
        if (v[root] >= v[child]) return;
        swap(&v[root], &v[child]);
        root = child;
    }
}

static void heapsort(uint64_t *v, long n)
{
    for (long i = n / 2 - 1; i >= 0; i--)
        sift_down(v, i, n);
    for (long end = n - 1; end > 0; end--) {
        swap(&v[0], &v[end]);
        sift_down(v, 0, end);
    }
}

int main(void)
{
    uint64_t check = 0, state = 0x9e3779b97f4a7c15ull;
    int ordered = 1;
    for (int r = 0; r < ROUNDS; r++) {
        for (long i = 0; i < N; i++)
            a[i] = rng(&state);
        if (r & 1)
            heapsort(a, N);
        else
            quicksort(a, N);
        for (long i = 1; i < N; i++)
            if (a[i - 1] > a[i])
                ordered = 0;
        for (long i = 0; i < N; i += 97)
            check = (check ^ a[i]) * 0x100000001b3ull;
    }
    printf_uart("bench-sort: n=%d rounds=%d %s check=%016lx\n", N, ROUNDS, ordered ? "sorted" : "NOT-SORTED", check);
    return 0;
}
