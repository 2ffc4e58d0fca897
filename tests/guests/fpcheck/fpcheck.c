/*
 * fpcheck: executes one A64 instruction over batches of operand states and
 * writes back the registers and FPSR it produced, for nestvisor's
 * differential FP tests against qemu-aarch64 (tests/cpu/fp/qemu.test.ts).
 * Freestanding: raw Linux syscalls, no libc.
 *
 * The instruction runs inside `stub` (stub.S), copied once to an RWX page;
 * each group patches the stub's instruction slot.
 *
 * Protocol (little-endian):
 *   stdin:  u32 'FPCK', then groups: u32 'GRP.', u32 insn, u32 count, then
 *           count input records; finally u32 'DONE'.
 *   input record (112 bytes): u32 fpcr, u32 nzcv (bits 31:28), u32 fpsr
 *           (the FPSR the instruction starts from), u32 0,
 *           V0..V3 (16 bytes each), X0..X3 (8 bytes each).
 *   stdout: per record (112 bytes): V0..V3, X0..X3, u32 fpsr, u32 nzcv,
 *           u32 0, u32 0; after 'DONE': u32 'END.'.
 * The instruction may only use registers 0..3 (V and X).
 */
typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef unsigned char u8;

#define SYS_read 63
#define SYS_write 64
#define SYS_exit_group 94
#define SYS_mmap 222
#define REC 112

#define MAGIC(a, b, c, d) ((u32)(a) | ((u32)(b) << 8) | ((u32)(c) << 16) | ((u32)(d) << 24))

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
#define sys3(n, a, b, c) sys6(n, a, b, c, 0, 0, 0)

void *memcpy(void *d, const void *s, unsigned long n) {
  u8 *p = d;
  const u8 *q = s;
  while (n--) *p++ = *q++;
  return d;
}
void *memset(void *d, int c, unsigned long n) {
  u8 *p = d;
  while (n--) *p++ = (u8)c;
  return d;
}

static __attribute__((noreturn)) void die(const char *msg) {
  unsigned long n = 0;
  while (msg[n]) n++;
  sys3(SYS_write, 2, (i64)"fpcheck: ", 9);
  sys3(SYS_write, 2, (i64)msg, (i64)n);
  sys3(SYS_write, 2, (i64)"\n", 1);
  sys3(SYS_exit_group, 2, 0, 0);
  __builtin_unreachable();
}

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
  unsigned long off = 0;
  while (off < outlen) {
    i64 r = sys3(SYS_write, 1, (i64)(outbuf + off), (i64)(outlen - off));
    if (r <= 0) die("write failed");
    off += (unsigned long)r;
  }
  outlen = 0;
}
static void writen(const void *src, unsigned long n) {
  if (outlen + n > sizeof outbuf) flush();
  memcpy(outbuf + outlen, src, n);
  outlen += n;
}

extern u8 stub_start[], stub_insn[], stub_end[];

static void sync_code(u64 start, u64 end) {
  u64 ctr;
  __asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
  u64 dline = 4UL << ((ctr >> 16) & 15), iline = 4UL << (ctr & 15);
  for (u64 a = start & ~(dline - 1); a < end; a += dline) __asm__ volatile("dc cvau, %0" ::"r"(a) : "memory");
  __asm__ volatile("dsb ish" ::: "memory");
  for (u64 a = start & ~(iline - 1); a < end; a += iline) __asm__ volatile("ic ivau, %0" ::"r"(a) : "memory");
  __asm__ volatile("dsb ish\n\tisb" ::: "memory");
}

static u8 rin[REC] __attribute__((aligned(16)));
static u8 rout[REC] __attribute__((aligned(16)));

int cmain(void) {
  if (read32() != MAGIC('F', 'P', 'C', 'K')) die("bad magic");
  i64 page = sys6(SYS_mmap, 0, 4096, 7, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
  if (page < 0) die("mmap failed");
  u8 *code = (u8 *)page;
  unsigned long len = (unsigned long)(stub_end - stub_start);
  memcpy(code, stub_start, len);
  u32 *slot = (u32 *)(code + (stub_insn - stub_start));
  void (*run)(void *, void *) = (void (*)(void *, void *))code;
  for (;;) {
    u32 tag = read32();
    if (tag == MAGIC('D', 'O', 'N', 'E')) break;
    if (tag != MAGIC('G', 'R', 'P', '.')) die("bad group tag");
    u32 insn = read32();
    u32 count = read32();
    *slot = insn;
    sync_code((u64)code, (u64)code + len);
    for (u32 i = 0; i < count; i++) {
      readn(rin, REC);
      memset(rout, 0, REC);
      run(rin, rout);
      writen(rout, REC);
    }
  }
  u32 end = MAGIC('E', 'N', 'D', '.');
  writen(&end, 4);
  flush();
  return 0;
}
