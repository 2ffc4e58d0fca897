/*
 * qemuuser.h: the freestanding runtime shared by the static AArch64 Linux
 * programs that nestvisor's differential tests run under qemu-aarch64
 * (diffharness, simdcheck, fpcheck): raw syscalls, memset/memcpy, die(),
 * buffered stdin/stdout record I/O, signal handler installation
 * (rt_sigaction with SA_SIGINFO and a restorer, sigaltstack), mmap and
 * instruction-cache maintenance. No libc. _start and sig_restorer are in
 * qemuuser_start.S.
 *
 * Include once per program, after defining QU_PROG (the name die() prints).
 */
#ifndef QEMUUSER_H
#define QEMUUSER_H

#ifndef QU_PROG
#error "define QU_PROG before including qemuuser.h"
#endif

typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef unsigned char u8;

/* Helpers not every program uses. */
#define QU_FN static __attribute__((unused))

#define SYS_read 63
#define SYS_write 64
#define SYS_exit_group 94
#define SYS_sigaltstack 132
#define SYS_rt_sigaction 134
#define SYS_mmap 222

#define MAGIC(a, b, c, d) ((u32)(a) | ((u32)(b) << 8) | ((u32)(c) << 16) | ((u32)(d) << 24))

/* ---- syscalls ---- */
static inline i64 sys3(i64 n, i64 a, i64 b, i64 c) {
  register i64 x8 __asm__("x8") = n;
  register i64 x0 __asm__("x0") = a;
  register i64 x1 __asm__("x1") = b;
  register i64 x2 __asm__("x2") = c;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
}
static inline i64 sys6(i64 n, i64 a, i64 b, i64 c, i64 d, i64 e, i64 f) {
  register i64 x8 __asm__("x8") = n;
  register i64 x0 __asm__("x0") = a;
  register i64 x1 __asm__("x1") = b;
  register i64 x2 __asm__("x2") = c;
  register i64 x3 __asm__("x3") = d;
  register i64 x4 __asm__("x4") = e;
  register i64 x5 __asm__("x5") = f;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  return x0;
}

void *memset(void *d, int c, unsigned long n) {
  u8 *p = d;
  while (n--) *p++ = (u8)c;
  return d;
}
void *memcpy(void *d, const void *s, unsigned long n) {
  u8 *p = d;
  const u8 *q = s;
  while (n--) *p++ = *q++;
  return d;
}

/* Writes "QU_PROG: msg\n" to stderr and exits with status 2. */
static __attribute__((noreturn)) void die(const char *msg) {
  unsigned long n = 0;
  while (msg[n]) n++;
  sys3(SYS_write, 2, (i64)(QU_PROG ": "), sizeof(QU_PROG ": ") - 1);
  sys3(SYS_write, 2, (i64)msg, (i64)n);
  sys3(SYS_write, 2, (i64)"\n", 1);
  sys3(SYS_exit_group, 2, 0, 0);
  __builtin_unreachable();
}

/* ---- buffered I/O: stdin records in, stdout records out ---- */
static u8 inbuf[1 << 16];
static unsigned long inpos, inlen;
static u8 outbuf[1 << 16];
static unsigned long outlen;

/* Reads exactly n bytes from stdin; dies at end of input. */
static void readn(void *dst, unsigned long n) {
  u8 *d = dst;
  while (n) {
    if (inpos == inlen) {
      i64 r = sys3(SYS_read, 0, (i64)inbuf, sizeof inbuf);
      if (r <= 0) die("unexpected end of input");
      inpos = 0;
      inlen = (unsigned long)r;
    }
    unsigned long k = inlen - inpos;
    if (k > n) k = n;
    memcpy(d, inbuf + inpos, k);
    inpos += k;
    d += k;
    n -= k;
  }
}
static u32 read32(void) {
  u32 v;
  readn(&v, 4);
  return v;
}
/* Writes out everything buffered so far. */
static void flush(void) {
  unsigned long done = 0;
  while (done < outlen) {
    i64 r = sys3(SYS_write, 1, (i64)(outbuf + done), (i64)(outlen - done));
    if (r <= 0) die("write failed");
    done += (unsigned long)r;
  }
  outlen = 0;
}
static void writen(const void *src, unsigned long n) {
  const u8 *s = src;
  while (n) {
    if (outlen == sizeof outbuf) flush();
    unsigned long k = sizeof outbuf - outlen;
    if (k > n) k = n;
    memcpy(outbuf + outlen, s, k);
    outlen += k;
    s += k;
    n -= k;
  }
}
QU_FN void write32(u32 v) { writen(&v, 4); }
QU_FN void write64(u64 v) { writen(&v, 8); }

/* ---- signals ---- */
struct ksigaction {
  void (*handler)(int, void *, void *);
  unsigned long flags;
  void (*restorer)(void);
  u64 mask;
};
struct kstack {
  void *sp;
  int flags;
  unsigned long size;
};
struct ksiginfo {
  int signo, errno_, code, pad;
  u64 addr;
};
struct kucontext {
  unsigned long flags;
  void *link;
  struct kstack stack;
  u64 sigmask;
  u8 unused[1024 / 8 - 8];
  struct {
    u64 fault_address;
    u64 regs[31];
    u64 sp, pc, pstate;
  } __attribute__((aligned(16))) mc;
};
#define SA_SIGINFO 0x4
#define SA_ONSTACK 0x08000000
#define SA_RESTORER 0x04000000

extern void sig_restorer(void); /* qemuuser_start.S */

/* Makes [sp, sp + size) the signal stack. */
QU_FN void set_altstack(void *sp, unsigned long size) {
  struct kstack ss = {sp, 0, size};
  if (sys3(SYS_sigaltstack, (i64)&ss, 0, 0) != 0) die("sigaltstack failed");
}

/* Installs handler for sig: SA_SIGINFO, on the alternate stack, nothing masked. */
QU_FN void install(int sig, void (*handler)(int, void *, void *)) {
  struct ksigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.handler = handler;
  sa.flags = SA_SIGINFO | SA_ONSTACK | SA_RESTORER;
  sa.restorer = sig_restorer;
  sa.mask = 0;
  if (sys6(SYS_rt_sigaction, sig, (i64)&sa, 0, 8, 0, 0) != 0) die("rt_sigaction failed");
}

/* ---- memory ---- */
/* Anonymous private mapping at exactly addr (MAP_FIXED); dies on failure. */
QU_FN void *map_fixed(u64 addr, u64 size, int prot) {
  i64 r = sys6(SYS_mmap, (i64)addr, (i64)size, prot, 0x22 | 0x10 /* MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED */, -1, 0);
  if ((u64)r != addr) die("mmap failed");
  return (void *)addr;
}
/* Anonymous private mapping wherever the kernel puts it; dies on failure. */
QU_FN void *map_anon(u64 size, int prot) {
  i64 r = sys6(SYS_mmap, 0, (i64)size, prot, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
  if (r < 0) die("mmap failed");
  return (void *)r;
}

/* Makes instructions written to [start, end) visible to instruction fetch. */
static void sync_code(u64 start, u64 end) {
  u64 ctr;
  __asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
  u64 dline = 4UL << ((ctr >> 16) & 15), iline = 4UL << (ctr & 15);
  for (u64 a = start & ~(dline - 1); a < end; a += dline) __asm__ volatile("dc cvau, %0" ::"r"(a) : "memory");
  __asm__ volatile("dsb ish" ::: "memory");
  for (u64 a = start & ~(iline - 1); a < end; a += iline) __asm__ volatile("ic ivau, %0" ::"r"(a) : "memory");
  __asm__ volatile("dsb ish\n\tisb" ::: "memory");
}

#endif
