/*
 * simdcheck: runs A64 instruction blocks read from stdin with given V, X, SP,
 * FPSR and NZCV values, and writes the final state to stdout, for nestvisor's
 * differential tests of the Advanced SIMD instructions against QEMU
 * (tests/cpu/simd/diff.test.ts). Freestanding: raw Linux syscalls, no libc.
 * Structure follows tests/guests/diffharness/main.c; the runtime helpers are
 * in tests/guests/lib/qemuuser.h.
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
#define QU_PROG "simdcheck"
#include "qemuuser.h"

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

static u64 pristine[DATA_SIZE / 8];

void cmain(void) {
  set_altstack(altstack, sizeof altstack);
  install(4, handler);  /* SIGILL */
  install(5, handler);  /* SIGTRAP */
  install(7, handler);  /* SIGBUS */
  install(11, handler); /* SIGSEGV */
  install(8, handler);  /* SIGFPE */

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
