/* glibc-fp: a statically linked glibc program exercising what a Linux user
   process leans on: printf with floating point (%f %e %g %a), the string
   functions glibc picks by IFUNC (strlen, memcpy, memmove, memset, memcmp,
   strchr, strcmp) on many lengths and alignments, qsort of doubles, libm
   (sin, cos, exp, log, pow, sqrt, fmod, ...), integer <-> floating-point
   conversions and a little binary128 long double (soft-float in glibc).
   Its stdout is compared byte for byte between nestvisor's Linux user-mode
   runner (`nestvisor user`) and qemu-aarch64 (tests/vmm/linux-user.test.ts). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* FNV-1a over bytes and over results. */
static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}
static uint32_t fnv_u64(uint32_t h, uint64_t v) { return fnv(h, &v, sizeof v); }

/* A cheaper hash of a whole buffer, a 64-bit word at a time. */
static uint32_t hash_words(uint32_t h, const void *p, size_t n)
{
    uint64_t acc = h;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, (const char *)p + i, 8);
        acc = (acc ^ w) * 0x100000001b3ull;
        acc ^= acc >> 29;
    }
    return (uint32_t)(acc ^ (acc >> 32));
}

static double bits_to_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static void test_printf(void)
{
    static const double vals[] = {
        0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 2.5, 3.14159265358979323846, 2.718281828459045,
        1e-300, 1e300, 123456789.125, 1.0 / 3.0, 2.0 / 3.0, 1e-5, 9.999999999999999e22, 5e-324,
        2.2250738585072014e-308, 1.7976931348623157e308, 0.000123456, 65536.0, 1e15, 1e16, 1e17,
    };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        double v = vals[i];
        printf("pf %zu: %f|%.3f|%e|%.10e|%g|%.17g|%a|%12.4f|%-12.2e|%+g\n", i, v, v, v, v, v, v, v, v, v, v);
    }
    printf("pf inf: %f %e %g %a | nan: %f %g\n", INFINITY, -INFINITY, INFINITY, -INFINITY, NAN, -NAN);
    for (int i = 0; i < 200; i++) {
        uint64_t b = next();
        double d = bits_to_double(b);
        if (isnan(d))
            continue;
        float f = (float)d;
        printf("pr %d: %.17g %.9g %a %.0f\n", i, d, (double)f, d, fabs(d) < 1e30 ? d : 0.0);
    }
    for (int i = -20; i <= 20; i++)
        printf("pw %d: %.*f %.*e %g\n", i, i < 0 ? 0 : i, 1.0 / 7.0, i < 0 ? 0 : i, 22.0 / 7.0, pow(10.0, i) / 3.0);
}

#define SZ 320
static unsigned char srcbuf[SZ + 64] __attribute__((aligned(16))), dstbuf[SZ + 64] __attribute__((aligned(16))), cmpbuf[SZ + 64] __attribute__((aligned(16)));

static void reset_dst(void)
{
    uint64_t *d = (uint64_t *)dstbuf;
    for (size_t i = 0; i < (SZ + 64) / 8; i++)
        d[i] = 0xeeeeeeeeeeeeeeeeull;
}

static void test_strings(void)
{
    uint32_t h_strlen = 2166136261u, h_memcpy = 2166136261u, h_memmove = 2166136261u, h_memcmp = 2166136261u;
    uint32_t h_strchr = 2166136261u, h_memset = 2166136261u, h_strcmp = 2166136261u, h_memchr = 2166136261u;
    for (int len = 0; len <= 300; len++) {
        for (int sa = 0; sa < 16; sa++) {
            for (int i = 0; i < SZ + 64; i++)
                srcbuf[i] = (unsigned char)(1 + (i * 7 + len + sa) % 251);
            for (int da = 0; da < 16; da++) {
                /* memcpy from srcbuf+sa to dstbuf+da, then check the whole buffer */
                reset_dst();
                memcpy(dstbuf + da, srcbuf + sa, (size_t)len);
                h_memcpy = hash_words(h_memcpy, dstbuf, SZ + 32);
                if (sa == 0 || da == 0) {
                    memmove(dstbuf + da + 3, dstbuf + da, (size_t)len);
                    h_memmove = hash_words(h_memmove, dstbuf, SZ + 32);
                    memmove(dstbuf + sa, dstbuf + sa + 5, (size_t)len);
                    h_memmove = hash_words(h_memmove, dstbuf, SZ + 32);
                }
                if (da == 0 || sa == da) {
                    memset(dstbuf + da, (sa * 17 + len) & 0xff, (size_t)len);
                    h_memset = hash_words(h_memset, dstbuf, SZ + 32);
                }
                /* memcmp: equal, then differ at one position */
                memcpy(cmpbuf + da, srcbuf + sa, (size_t)len);
                int r = memcmp(cmpbuf + da, srcbuf + sa, (size_t)len);
                h_memcmp = fnv_u64(h_memcmp, (uint64_t)(r > 0) - (uint64_t)(r < 0));
                if (len > 0) {
                    int pos = (sa * 31 + da * 7) % len;
                    cmpbuf[da + pos] ^= (unsigned char)(1 << (da & 7));
                    r = memcmp(cmpbuf + da, srcbuf + sa, (size_t)len);
                    h_memcmp = fnv_u64(h_memcmp, (uint64_t)(r > 0) - (uint64_t)(r < 0));
                    const void *mc = memchr(srcbuf + sa, srcbuf[sa + pos], (size_t)len);
                    h_memchr = fnv_u64(h_memchr, mc ? (uint64_t)((const unsigned char *)mc - srcbuf) : ~0ull);
                }
            }
            /* NUL-terminated strings of length len at alignment sa */
            char *s = (char *)srcbuf + sa;
            s[len] = 0;
            h_strlen = fnv_u64(h_strlen, strlen(s));
            int c = len ? (unsigned char)s[len / 2] : 'x';
            char *p = strchr(s, c);
            h_strchr = fnv_u64(h_strchr, p ? (uint64_t)(p - s) : ~0ull);
            p = strchr(s, 0);
            h_strchr = fnv_u64(h_strchr, (uint64_t)(p - s));
            p = strrchr(s, c);
            h_strchr = fnv_u64(h_strchr, p ? (uint64_t)(p - s) : ~0ull);
            char *t = (char *)dstbuf + ((sa * 5) & 15);
            strcpy(t, s);
            h_strcmp = fnv_u64(h_strcmp, (uint64_t)(int64_t)(strcmp(t, s) != 0));
            if (len > 0) {
                t[len - 1] = (char)(t[len - 1] + 1);
                int r = strcmp(t, s);
                h_strcmp = fnv_u64(h_strcmp, (uint64_t)(r > 0) - (uint64_t)(r < 0));
                r = strncmp(t, s, (size_t)(len - 1));
                h_strcmp = fnv_u64(h_strcmp, (uint64_t)(r > 0) - (uint64_t)(r < 0));
            }
        }
        if (len % 50 == 0)
            printf("str len %d: strlen=%08x memcpy=%08x memmove=%08x memset=%08x memcmp=%08x memchr=%08x strchr=%08x strcmp=%08x\n",
                   len, h_strlen, h_memcpy, h_memmove, h_memset, h_memcmp, h_memchr, h_strchr, h_strcmp);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_qsort(void)
{
    enum { N = 5000 };
    static double a[N];
    for (int i = 0; i < N; i++)
        a[i] = ((double)(int64_t)next() / 9.223372036854775807e18) * exp((double)(i % 40) - 20.0);
    qsort(a, N, sizeof a[0], cmp_double);
    int sorted = 1;
    for (int i = 1; i < N; i++)
        if (a[i - 1] > a[i])
            sorted = 0;
    uint32_t h = fnv(2166136261u, a, sizeof a);
    double sum = 0;
    for (int i = 0; i < N; i++)
        sum += a[i];
    printf("qsort: n=%d sorted=%d hash=%08x min=%.17g median=%.17g max=%.17g sum=%.17g\n", N, sorted, h, a[0], a[N / 2], a[N - 1], sum);
}

static void test_libm(void)
{
    for (int i = -40; i <= 40; i++) {
        double x = i * 0.37 + 0.001 * i * i;
        printf("m %d x=%.17g sin=%.17g cos=%.17g tan=%.17g exp=%.17g\n", i, x, sin(x), cos(x), tan(x), exp(x));
        double y = fabs(x) + 1e-3;
        printf("m %d log=%.17g log2=%.17g log10=%.17g pow=%.17g sqrt=%.17g cbrt=%.17g fmod=%.17g atan2=%.17g\n", i,
               log(y), log2(y), log10(y), pow(y, x / 3.0), sqrt(y), cbrt(x), fmod(x * 13.7, 2.3), atan2(x, 1.5));
        float xf = (float)x, yf = (float)y;
        printf("mf %d sinf=%.9g expf=%.9g logf=%.9g powf=%.9g sqrtf=%.9g\n", i, sinf(xf), expf(xf / 4.0f), logf(yf), powf(yf, 1.3f), sqrtf(yf));
    }
    uint32_t h = 2166136261u;
    for (int i = 0; i < 3000; i++) {
        double x = bits_to_double(next() & 0x3fffffffffffffffull) - 1.0; /* sign + exponent around 1 */
        x = ldexp(x, (int)(next() % 40) - 20);
        double r[8] = { sin(x), cos(x), exp(fmod(x, 700.0)), log(fabs(x) + 1e-300), pow(fabs(x), 0.75), sqrt(fabs(x)), atan(x), tanh(x) };
        h = fnv(h, r, sizeof r);
    }
    printf("libm hash: %08x\n", h);
    printf("special: %g %g %g %g %g %g\n", log(0.0), sqrt(-1.0), pow(0.0, -1.0), exp(1000.0), exp(-1000.0), fmod(1.0, 0.0));
    printf("rounding: %g %g %g %g %ld %ld %g %g\n", floor(-2.5), ceil(-2.5), round(-2.5), trunc(-2.7), lround(2.5), lrint(2.5), rint(3.5), nearbyint(-3.5));
}

static void test_conversions(void)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 2000; i++) {
        uint64_t b = next();
        int64_t s = (int64_t)b >> (b & 63);
        uint64_t u = b >> ((b >> 8) & 63);
        double d = (double)s, e = (double)u;
        float f = (float)s, g = (float)u;
        h = fnv(h, &d, 8);
        h = fnv(h, &e, 8);
        h = fnv(h, &f, 4);
        h = fnv(h, &g, 4);
        double x = bits_to_double((b & 0x800fffffffffffffull) | ((uint64_t)(1000 + (b >> 52) % 90) << 52));
        int64_t xi = (int64_t)x;
        uint64_t xu = x > 0 ? (uint64_t)x : 0;
        int32_t xw = fabs(x) < 2e9 ? (int32_t)x : 0;
        h = fnv_u64(h, (uint64_t)xi);
        h = fnv_u64(h, xu);
        h = fnv_u64(h, (uint64_t)(int64_t)xw);
        h = fnv_u64(h, (uint64_t)llrint(x));
        if (i < 8)
            printf("conv %d: %lld %llu -> %.17g %.17g %.9g %.9g; %.17g -> %lld %llu %d\n", i, (long long)s, (unsigned long long)u, d, e, (double)f, (double)g, x,
                   (long long)xi, (unsigned long long)xu, xw);
    }
    printf("conv hash: %08x\n", h);
    char buf[64];
    double back = 0;
    uint32_t hs = 2166136261u;
    for (int i = 0; i < 500; i++) {
        double d = bits_to_double(next() & 0x7fefffffffffffffull);
        snprintf(buf, sizeof buf, "%.17g", d);
        back = strtod(buf, NULL);
        hs = fnv(hs, buf, strlen(buf));
        if (back != d)
            printf("strtod round trip failed: %s\n", buf);
    }
    printf("strtod: hash=%08x %.17g %.17g %.17g\n", hs, strtod("0.1", NULL), strtod("1e-320", NULL), strtod("0x1.8p3", NULL));
}

static void test_long_double(void)
{
    long double a = 1.0L / 3.0L, b = sqrtl(2.0L), c = (long double)1e300 * 1e10L;
    long double s = 0;
    for (int i = 1; i <= 100; i++)
        s += 1.0L / ((long double)i * i);
    printf("long double: %.33Lg %.33Lg %.10Le %.30Lg %La\n", a, b, c, s, a);
}

int main(void)
{
    printf("glibc-fp: start\n");
    test_printf();
    test_strings();
    test_qsort();
    test_libm();
    test_conversions();
    test_long_double();
    printf("glibc-fp: done\n");
    return 0;
}
