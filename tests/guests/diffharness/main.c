/*
 * diffharness: runs A64 instruction blocks read from stdin and writes the
 * final state to stdout, for nestvisor's differential tests against QEMU
 * (tests/differential/). Freestanding: raw Linux syscalls, no libc (the
 * runtime helpers are in tests/guests/lib/qemuuser.h).
 *
 * Memory map (MAP_FIXED):
 *   CODE_BASE  0x10000000  4 KiB RWX: the block; the generator ends it with a B to the epilogue
 *   CODE_BASE+0x1000       4 KiB RWX: entry trampoline, epilogue, recovery stub (tramp.S)
 *   DATA_BASE  0x20000000  64 KiB RW: the data area
 *   STATE_BASE 0x30000000  4 KiB RW: registers in and out (tramp.S)
 *
 * Protocol (all integers little-endian):
 *   stdin:  u32 'NVDB' magic, u32 version (1), DATA_SIZE bytes of initial
 *           data area ("pristine"), then cases, then u32 'DONE'.
 *   case:   u32 'CASE', u32 ncode, u32 npatch, u32 flags (0),
 *           u64 x[31], u64 sp, u64 nzcv (bits 31:28),
 *           u32 code[ncode] (written at CODE_BASE; the rest of that page is zero),
 *           npatch x { u32 offset (8-aligned), u32 0, u64 value } written to the
 *           data area before the block runs.
 *   stdout: u32 'NVDH', u32 version, 4096 bytes: the trampoline page as mapped;
 *           then per case:
 *           u32 signal (0: the block reached the epilogue), u32 si_code,
 *           u64 si_addr, u64 pc (of the faulting instruction; 0 if none),
 *           u64 x[31], u64 sp, u64 nzcv (at the epilogue, or at the fault),
 *           u32 ndiff, u32 0, ndiff x { u32 offset, u32 0, u64 value }: the
 *           8-byte words of the data area that differ from the pristine image.
 *           After 'DONE': u32 'END.'.
 * The data area is restored to the pristine image after every case.
 */
#define QU_PROG "diffharness"
#include "qemuuser.h"

#define CODE_BASE 0x10000000UL
#define TRAMP_BASE (CODE_BASE + 0x1000)
#define DATA_BASE 0x20000000UL
#define DATA_SIZE 0x10000UL
#define STATE_BASE 0x30000000UL
#define IN_OFF 0x000
#define OUT_OFF 0x200
#define TRAMP_RECOVER 0x300
#define MAX_CODE 1000

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
  u64 *out = (u64 *)(STATE_BASE + OUT_OFF);
  for (int i = 0; i < 31; i++) out[i] = uc->mc.regs[i];
  out[31] = uc->mc.sp;
  out[32] = uc->mc.pstate & 0xf0000000UL;
  uc->mc.pc = TRAMP_BASE + TRAMP_RECOVER;
}

static u64 pristine[DATA_SIZE / 8];

struct patch {
  u32 off, pad;
  u64 val;
};

void cmain(void) {
  set_altstack(altstack, sizeof altstack);
  install(4, handler);  /* SIGILL */
  install(5, handler);  /* SIGTRAP */
  install(7, handler);  /* SIGBUS */
  install(11, handler); /* SIGSEGV */
  install(8, handler);  /* SIGFPE */

  u32 *code = map_fixed(CODE_BASE, 0x2000, 7);
  u64 *data = map_fixed(DATA_BASE, DATA_SIZE, 3);
  u64 *state = map_fixed(STATE_BASE, 0x1000, 3);
  memcpy((u8 *)TRAMP_BASE, tramp_start, (unsigned long)(tramp_end - tramp_start));
  sync_code(TRAMP_BASE, TRAMP_BASE + 0x1000);
  void (*entry)(void) = (void (*)(void))TRAMP_BASE;

  if (read32() != MAGIC('N', 'V', 'D', 'B')) die("bad batch magic");
  if (read32() != 1) die("unsupported protocol version");
  readn(pristine, DATA_SIZE);
  memcpy(data, pristine, DATA_SIZE);
  write32(MAGIC('N', 'V', 'D', 'H'));
  write32(1);
  writen((const void *)TRAMP_BASE, 0x1000);

  u32 prev = 0;
  for (;;) {
    u32 magic = read32();
    if (magic == MAGIC('D', 'O', 'N', 'E')) break;
    if (magic != MAGIC('C', 'A', 'S', 'E')) die("bad case magic");
    u32 hdr[3];
    readn(hdr, sizeof hdr);
    u32 n = hdr[0], npatch = hdr[1];
    if (n > MAX_CODE) die("block too long");
    readn(state + IN_OFF / 8, 33 * 8);
    readn(code, n * 4);
    for (u32 i = n; i < prev; i++) code[i] = 0;
    for (u32 i = 0; i < npatch; i++) {
      struct patch p;
      readn(&p, sizeof p);
      if ((p.off & 7) || p.off >= DATA_SIZE) die("bad patch offset");
      data[p.off / 8] = p.val;
    }
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
    writen(state + OUT_OFF / 8, 33 * 8);
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
