/*
 * fpcheck: executes one A64 instruction over batches of operand states and
 * writes back the registers and FPSR it produced, for nestvisor's
 * differential FP tests against qemu-aarch64 (tests/cpu/fp/qemu.test.ts).
 * Freestanding: raw Linux syscalls, no libc (the runtime helpers are in
 * tests/guests/lib/qemuuser.h).
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
#define QU_PROG "fpcheck"
#include "qemuuser.h"

#define REC 112

extern u8 stub_start[], stub_insn[], stub_end[];

static u8 rin[REC] __attribute__((aligned(16)));
static u8 rout[REC] __attribute__((aligned(16)));

int cmain(void) {
  if (read32() != MAGIC('F', 'P', 'C', 'K')) die("bad magic");
  u8 *code = map_anon(4096, 7);
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
