/*
 * simdcheck: runs A64 instruction blocks read from stdin with given V, X, SP,
 * FPSR and NZCV values, and writes the final state to stdout, for nestvisor's
 * differential tests of the Advanced SIMD instructions against QEMU
 * (tests/cpu/simd/diff.test.ts). Freestanding: raw Linux syscalls, no libc.
 * Structure and helpers follow tests/guests/diffharness/main.c.
 *
 * Memory map (MAP_FIXED):
 *   CODE_BASE  0x10000000  4 KiB RWX: the block (the case ends it with a B to the epilogue)
 *   CODE_BASE+0x1000       4 KiB RWX: trampoline, epilogue, recovery stub (tramp.S)
 *   DATA_BASE  0x20100000  16 KiB RW: the data area (its pages do not share TLB slots with the code pages in nestvisor's direct-mapped TLB)
 *   STATE_BASE 0x30000000  4 KiB RW: registers in and out (layout in tramp.S)
 *
 * Protocol (little-endian):
 *   stdin:  u32 'NVSB', u32 version (1), DATA_SIZE bytes of pristine data area,
 *           then cases, then u32 'DONE'.
 *   case:   u32 'CASE', u32 ncode, 0x310 bytes of input state (tramp.S IN
 *           layout), u32 code[ncode] (written at CODE_BASE; the rest of the page is zero).
 *   stdout: u32 'NVSH', u32 version, 4096 bytes: the trampoline page; per case:
 *           u32 signal (0: the block reached the epilogue), u32 si_code,
 *           u64 si_addr, u64 pc of the fault, 0x310 bytes of output state
 *           (meaningless after a signal), u32 ndiff, u32 0, ndiff x
 *           { u32 offset, u32 0, u64 value } for the 8-byte words of the data
 *           area that differ from the pristine image. After 'DONE': u32 'END.'.
 * The data area is restored to the pristine image after every case.
 */
typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef unsigned char u8;

#define CODE_BASE 0x10000000UL
#define TRAMP_BASE (CODE_BASE + 0x1000)
#define DATA_BASE 0x20100000UL
#define DATA_SIZE 0x4000UL
#define STATE_BASE 0x30000000UL
#define IN_OFF 0x000
#define OUT_OFF 0x400
#define STATE_BYTES 0x310
#define TRAMP_RECOVER 0x300
#define MAX_CODE 1000

#define SYS_read 63
#define SYS_write 64
#define SYS_exit_group 94
#define SYS_sigaltstack 132
#define SYS_rt_sigaction 134
#define SYS_mmap 222

#define MAGIC(a, b, c, d) ((u32)(a) | ((u32)(b) << 8) | ((u32)(c) << 16) | ((u32)(d) << 24))

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

static __attribute__((noreturn)) void die(const char *msg) {
  unsigned long n = 0;
  while (msg[n]) n++;
  sys3(SYS_write, 2, (i64)"simdcheck: ", 11);
  sys3(SYS_write, 2, (i64)msg, (i64)n);
  sys3(SYS_write, 2, (i64)"\n", 1);
  sys3(SYS_exit_group, 2, 0, 0);
  __builtin_unreachable();
}

/* ---- buffered I/O ---- */
static u8 inbuf[1 << 16];
static unsigned long inpos, inlen;
static u8 outbuf[1 << 16];
static unsigned long outlen;

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
static void write32(u32 v) { writen(&v, 4); }
static void write64(u64 v) { writen(&v, 8); }

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

extern void sig_restorer(void);
extern const u8 tramp_start[], tramp_end[];

static u8 altstack[1 << 16] __attribute__((aligned(16)));
static volatile u32 f_sig, f_code, in_block;
static volatile u64 f_addr, f_pc;

static void handler(int sig, void *siv, void *ucv) {
  struct ksiginfo *si = siv;
  struct kucontext *uc = ucv;
  u64 pc = uc->mc.pc;
  if (!in_block || (pc >= TRAMP_BASE && pc < TRAMP_BASE + 0x1000)) {
    /* A fault in the harness or its trampoline is a harness bug. (A block that
       branches away faults at its target: that is the block's fault.) */
    static char msg[] = "fault outside the test block: signal 00 at pc 0x0000000000000000";
    char *p = msg + sizeof msg - 2;
    for (u64 v = pc, i = 0; i < 16; i++, v >>= 4) *p-- = "0123456789abcdef"[v & 15];
    p -= 9;
    *p-- = (char)('0' + sig % 10);
    *p = (char)('0' + sig / 10);
    die(msg);
  }
  f_sig = (u32)sig;
  f_code = (u32)si->code;
  f_addr = si->addr;
  f_pc = pc;
  uc->mc.pc = TRAMP_BASE + TRAMP_RECOVER;
}

static void install(int sig) {
  struct ksigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.handler = handler;
  sa.flags = SA_SIGINFO | SA_ONSTACK | SA_RESTORER;
  sa.restorer = sig_restorer;
  sa.mask = 0;
  if (sys6(SYS_rt_sigaction, sig, (i64)&sa, 0, 8, 0, 0) != 0) die("rt_sigaction failed");
}

static void *map_fixed(u64 addr, u64 size, int prot) {
  i64 r = sys6(SYS_mmap, (i64)addr, (i64)size, prot, 0x22 | 0x10 /* MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED */, -1, 0);
  if ((u64)r != addr) die("mmap failed");
  return (void *)addr;
}

static void sync_code(u64 start, u64 end) {
  u64 ctr;
  __asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
  u64 dline = 4UL << ((ctr >> 16) & 15), iline = 4UL << (ctr & 15);
  for (u64 a = start & ~(dline - 1); a < end; a += dline) __asm__ volatile("dc cvau, %0" ::"r"(a) : "memory");
  __asm__ volatile("dsb ish" ::: "memory");
  for (u64 a = start & ~(iline - 1); a < end; a += iline) __asm__ volatile("ic ivau, %0" ::"r"(a) : "memory");
  __asm__ volatile("dsb ish\n\tisb" ::: "memory");
}


static u64 pristine[DATA_SIZE / 8];

void cmain(void) {
  struct kstack ss = {altstack, 0, sizeof altstack};
  if (sys3(SYS_sigaltstack, (i64)&ss, 0, 0) != 0) die("sigaltstack failed");
  install(4);  /* SIGILL */
  install(5);  /* SIGTRAP */
  install(7);  /* SIGBUS */
  install(11); /* SIGSEGV */
  install(8);  /* SIGFPE */

  u32 *code = map_fixed(CODE_BASE, 0x2000, 7);
  u64 *data = map_fixed(DATA_BASE, DATA_SIZE, 3);
  u8 *state = map_fixed(STATE_BASE, 0x1000, 3);
  memcpy((u8 *)TRAMP_BASE, tramp_start, (unsigned long)(tramp_end - tramp_start));
  sync_code(TRAMP_BASE, TRAMP_BASE + 0x1000);
  void (*entry)(void) = (void (*)(void))TRAMP_BASE;

  if (read32() != MAGIC('N', 'V', 'S', 'B')) die("bad batch magic");
  if (read32() != 1) die("unsupported protocol version");
  readn(pristine, DATA_SIZE);
  memcpy(data, pristine, DATA_SIZE);
  write32(MAGIC('N', 'V', 'S', 'H'));
  write32(1);
  writen((const void *)TRAMP_BASE, 0x1000);

  u32 prev = 0;
  for (;;) {
    u32 magic = read32();
    if (magic == MAGIC('D', 'O', 'N', 'E')) break;
    if (magic != MAGIC('C', 'A', 'S', 'E')) die("bad case magic");
    u32 n = read32();
    if (n > MAX_CODE) die("block too long");
    readn(state + IN_OFF, STATE_BYTES);
    readn(code, n * 4);
    for (u32 i = n; i < prev; i++) code[i] = 0;
    sync_code(CODE_BASE, CODE_BASE + 4 * (n > prev ? n : prev));
    prev = n;

    f_sig = 0;
    f_code = 0;
    f_addr = 0;
    f_pc = 0;
    in_block = 1;
    entry();
    in_block = 0;

    write32(f_sig);
    write32(f_code);
    write64(f_addr);
    write64(f_pc);
    writen(state + OUT_OFF, STATE_BYTES);
    u32 ndiff = 0;
    for (u32 i = 0; i < DATA_SIZE / 8; i++) ndiff += data[i] != pristine[i];
    write32(ndiff);
    write32(0);
    for (u32 i = 0; i < DATA_SIZE / 8; i++) {
      if (data[i] != pristine[i]) {
        write32(i * 8);
        write32(0);
        write64(data[i]);
        data[i] = pristine[i];
      }
    }
  }
  write32(MAGIC('E', 'N', 'D', '.'));
  flush();
}
