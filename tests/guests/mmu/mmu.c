/* Stage-1 translation of the EL1&0 regime, used the way an OS uses it, for
   each translation granule (4K, 16K, 64K): page tables built in a static
   buffer identity-map RAM (blocks) and the UART (Device page), plus test
   pages with different attributes at TTBR0 and TTBR1 (upper-range)
   addresses. With the MMU on the guest reads and writes through aliases and
   blocks, takes translation, access flag, address size and permission
   faults (AP, EL0, PXN/UXN, PAN, APTable/PXNTable), uses tagged pointers
   (TBI), switches ASIDs, invalidates with TLBI VAE1/ASIDE1 and translates
   with AT, printing what it observed. Addresses are printed only as
   "ok"/"wrong" against what they must be, so the output is the same on
   every machine that implements the architecture. */
#include "guest.h"
#include "el0.h"
#include "systest.h"

#define RAM_BASE 0x40000000UL
#define RAM_SIZE 0x08000000UL
#define PG64 0x10000UL

/* ---- virtual layout ------------------------------------------------------------ */
#define TEST_VA 0x1000000000UL /* test pages: slot n at TEST_VA + n * granule */
#define HIER_VA 0x1800000000UL /* two pages under a table descriptor that gets APTable/PXNTable */
#define BLOCK_VA 0x2000000000UL /* level-2 block alias of the start of RAM */
#define GIGA_VA 0x4000000000UL /* 4K only: 1G level-1 block alias of RAM */
#define FAR_VA 0x7f00000000UL /* unmapped below the start level */
#define HI_VA 0xffffffff80000000UL /* TTBR1: alias of the data page */
#define HI_BLOCK_VA 0xffffffffc0000000UL /* TTBR1: level-2 block alias of RAM */

enum { S_DATA, S_RO, S_AF, S_USER, S_STACK, S_ASID, S_REMAP, S_HOLE, S_EL0RO, S_DEVICE, S_RSVD, S_ASIZE,
       S_X_EL1, S_X_PXN, S_X_UW, S_X_EL0, S_X_UXN, S_X_EL1ONLY, S_NC };
/* Physical test pages, 64K apart so that each is a page at every granule. */
enum { P_DATA, P_RO, P_AF, P_USER, P_STACK, P_ASID_A, P_ASID_B, P_ALT, P_COUNT };

static uint8_t pool[P_COUNT * PG64] __attribute__((aligned(PG64)));
static uint8_t tbuf[12 * PG64] __attribute__((aligned(PG64)));
#define PPA(p) ((uint64_t)&pool[(p) * PG64])
#define PW(p, i) (((volatile uint64_t *)PPA(p))[i])

/* ---- descriptors ------------------------------------------------------------- */
#define D_ATTR(i) ((uint64_t)(i) << 2) /* MAIR_EL1 index: 0 Normal WB, 1 Device-nGnRnE */
#define D_AP_EL0 (1UL << 6) /* AP[1] */
#define D_AP_RO (1UL << 7) /* AP[2] */
#define D_SH_IS (3UL << 8)
#define D_AF (1UL << 10)
#define D_NG (1UL << 11)
#define D_PXN (1UL << 53)
#define D_UXN (1UL << 54)
#define T_PXNTABLE (1UL << 59)
#define T_APTABLE0 (1UL << 61) /* no EL0 access below */
#define T_APTABLE1 (1UL << 62) /* no write access below */
#define A_NORMAL (D_ATTR(0) | D_SH_IS | D_AF)
#define A_DEVICE (D_ATTR(1) | D_SH_IS | D_AF | D_PXN | D_UXN)
#define A_XN (D_PXN | D_UXN)
#define A_NC (D_ATTR(2) | D_SH_IS | D_AF)
#define PAGE(pa, a) ((uint64_t)(pa) | (a) | 3)
#define BLOCK(pa, a) ((uint64_t)(pa) | (a) | 1)
#define OA_MASK 0x0000fffffffff000UL
#define MAIR_VALUE 0x4400ffUL /* attr0 Normal WB RW-allocate, attr1 Device-nGnRnE, attr2 Normal NC */

/* ---- the granule being tested ---------------------------------------------------- */
struct granule {
    const char *name;
    unsigned shift; /* log2 of the granule */
    unsigned t0sz, t1sz;
    uint64_t tg0, tg1;
    const char *block; /* size of a level-2 block */
};
static const struct granule granules[3] = {
    { "4K", 12, 16, 25, 0, 2, "2M" },
    { "16K", 14, 17, 28, 2, 1, "32M" },
    { "64K", 16, 22, 16, 1, 3, "512M" },
};
static unsigned gsh, in0, in1;
static uint64_t G;
static const char *gname;
static uint64_t tused;
#define SVA(s) (TEST_VA + (uint64_t)(s) * G)

#define say(...) do { printf_uart("[%s] ", gname); printf_uart(__VA_ARGS__); } while (0)

/* ---- code reached through aliases ---------------------------------------------------- */
extern char code_block[], el0_load[], el0_store[], el0_ret42[], el1_ret42[];
uint64_t try_exec(uint64_t target);
volatile uint64_t recover_pc;
__asm__(
    "   .pushsection .text.mmucode, \"ax\"\n"
    "   .balign 4096\n"
    "   .global code_block, el0_load, el0_store, el0_ret42, el1_ret42\n"
    "code_block:\n"
    /* EL0: load from the address at [sp] and exit with the value. */
    "el0_load:\n"
    "   ldr x9, [sp]\n"
    "   ldr x0, [x9]\n"
    "   mov x8, #0\n"
    "   svc #0\n"
    /* EL0: store 0x55 to the address at [sp] and exit with 0. */
    "el0_store:\n"
    "   ldr x9, [sp]\n"
    "   mov x0, #0x55\n"
    "   str x0, [x9]\n"
    "   mov x0, #0\n"
    "   mov x8, #0\n"
    "   svc #0\n"
    "el0_ret42:\n"
    "   mov x0, #42\n"
    "   mov x8, #0\n"
    "   svc #0\n"
    "el1_ret42:\n"
    "   mov x0, #42\n"
    "   ret\n"
    "   .popsection\n"
    /* uint64_t try_exec(target): calls target; after an instruction abort the handler resumes at 1: with x0 = FAULTED. */
    "   .text\n"
    "   .global try_exec\n"
    "try_exec:\n"
    "   stp x29, x30, [sp, #-16]!\n"
    "   adr x1, 1f\n"
    "   adrp x2, recover_pc\n"
    "   str x1, [x2, :lo12:recover_pc]\n"
    "   blr x0\n"
    "1: adrp x2, recover_pc\n"
    "   str xzr, [x2, :lo12:recover_pc]\n"
    "   ldp x29, x30, [sp], #16\n"
    "   ret\n");
#define CODE_PA ((uint64_t)code_block & ~(G - 1))
#define XVA(slot, fn) (SVA(slot) + ((uint64_t)(fn) - CODE_PA))

/* ---- exceptions ------------------------------------------------------------------------ */
#define FAULTED 0xfa17fa17fa17fa17UL
/* The "expected value" of an access that must fault: any value it returns is reported. */
#define MUST_FAULT 0xbadbadbadUL
static volatile uint64_t n_exc, x_esr, x_far, x_elr, x_kind;

void guest_exception(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far, uint64_t *frame)
{
    uint64_t ec = EC(esr);
    if ((kind & 3) != 0) {
        printf_uart("unexpected asynchronous exception kind=%lu\n", kind);
        guest_poweroff();
    }
    if (kind == 8 && ec == 0x15 && frame[8] == SYS_EXIT) {
        el0_exit_frame(frame, frame[0]);
        return;
    }
    n_exc++;
    x_esr = esr;
    x_far = far;
    x_elr = elr;
    x_kind = kind;
    if (kind == 8) {
        /* Any other exception from EL0 ends the EL0 run. */
        el0_exit_frame(frame, FAULTED);
        return;
    }
    if (kind == 4 && ec == 0x25) {
        frame[31] = elr + 4; /* skip the faulting load or store */
        return;
    }
    if (kind == 4 && ec == 0x21 && recover_pc) {
        frame[31] = recover_pc;
        frame[0] = FAULTED;
        recover_pc = 0;
        return;
    }
    printf_uart("unexpected exception kind=%lu EC=0x%lx ISS=0x%lx ELR=%lx FAR=%lx\n", kind, ec, ISS(esr), elr, far);
    guest_poweroff();
}

static void clear_exc(void)
{
    n_exc = x_esr = x_far = x_elr = x_kind = 0;
}

static void put_fsc(uint64_t fsc)
{
    static const char *const kinds[4] = { "address size", "translation", "access flag", "permission" };
    if (fsc < 0x10)
        printf_uart("%s L%lu", kinds[fsc >> 2], fsc & 3);
    else if (fsc == 0x21)
        puts_uart("alignment");
    else if (fsc == 0x10)
        puts_uart("external abort");
    else
        puts_uart("other");
}

/* Prints the exception taken (if any) for an access to `va`: EC, ISS, decoded FSC, FAR and for instruction aborts ELR. */
static void put_exc(uint64_t va, uint64_t mask)
{
    uint64_t ec = EC(x_esr), iss = ISS(x_esr);
    printf_uart("EC=0x%lx ISS=0x%lx (", ec, iss);
    put_fsc(iss & 0x3f);
    if (ec == 0x24 || ec == 0x25)
        printf_uart(", %s", iss & (1 << 6) ? "write" : "read");
    printf_uart(") FAR %s", (x_far & mask) == (va & mask) ? "ok" : "wrong");
    if (ec == 0x20 || ec == 0x21)
        printf_uart(" ELR %s", x_elr == va ? "ok" : "wrong");
    if (n_exc != 1)
        printf_uart(" (%lu exceptions)", n_exc);
    puts_uart("\n");
}

/* One access and its outcome: "ok", a wrong value, or the exception. */
static void outcome(const char *what, uint64_t va, uint64_t v, uint64_t want)
{
    if (n_exc) {
        say("%s: ", what);
        put_exc(va, ~0UL);
    } else if (want == MUST_FAULT) {
        say("%s: no fault (read 0x%lx)\n", what, v);
    } else if (v == want) {
        say("%s: ok\n", what);
    } else {
        say("%s: no fault, got 0x%lx, expected 0x%lx\n", what, v, want);
    }
}

static inline uint64_t ld(uint64_t va)
{
    uint64_t v = FAULTED;
    __asm__ volatile("ldr %0, [%1]" : "+r"(v) : "r"(va) : "memory");
    return v;
}
static inline void st(uint64_t va, uint64_t v)
{
    __asm__ volatile("str %0, [%1]" :: "r"(v), "r"(va) : "memory");
}
static inline uint64_t ldtr(uint64_t va)
{
    uint64_t v = FAULTED;
    __asm__ volatile("ldtr %0, [%1]" : "+r"(v) : "r"(va) : "memory");
    return v;
}
static inline void sttr(uint64_t va, uint64_t v)
{
    __asm__ volatile("sttr %0, [%1]" :: "r"(v), "r"(va) : "memory");
}

static void check_ld(const char *what, uint64_t va, uint64_t want)
{
    clear_exc();
    uint64_t v = ld(va);
    outcome(what, va, v, want);
}

/* Stores `v` at `va` and checks that the physical word `pw` now holds it. */
static void check_st(const char *what, uint64_t va, uint64_t v, volatile uint64_t *pw)
{
    clear_exc();
    st(va, v);
    outcome(what, va, *pw, n_exc ? *pw : v);
}

static void check_exec(const char *what, uint64_t target)
{
    clear_exc();
    uint64_t r = try_exec(target);
    outcome(what, target, r, 42);
}

#define dsb(o) __asm__ volatile("dsb " #o ::: "memory")
static void tlbi_va(uint64_t va)
{
    dsb(ishst);
    __asm__ volatile("tlbi vae1, %0" :: "r"((va >> 12) & 0xfffffffffffUL) : "memory");
    dsb(ish);
    isb();
}
static void tlbi_all(void)
{
    dsb(ishst);
    __asm__ volatile("tlbi vmalle1" ::: "memory");
    dsb(ish);
    isb();
}
static void tlbi_asid(uint64_t asid)
{
    dsb(ishst);
    __asm__ volatile("tlbi aside1, %0" :: "r"(asid << 48) : "memory");
    dsb(ish);
    isb();
}
/* A descriptor write that needs no TLB maintenance (the old entry was invalid or faulting). */
static void set_desc(uint64_t *d, uint64_t v)
{
    *(volatile uint64_t *)d = v;
    dsb(ishst);
    isb();
}

#define PAN_ON() __asm__ volatile(".inst 0xd500419f" ::: "memory") /* msr pan, #1 */
#define PAN_OFF() __asm__ volatile(".inst 0xd500409f" ::: "memory") /* msr pan, #0 */
#define UAO_ON() __asm__ volatile(".inst 0xd500417f" ::: "memory") /* msr uao, #1 */
#define UAO_OFF() __asm__ volatile(".inst 0xd500407f" ::: "memory") /* msr uao, #0 */

#define AT(op, va) ({ __asm__ volatile("at " #op ", %0\n isb" :: "r"((uint64_t)(va)) : "memory"); read_sysreg(par_el1); })

static void show_par(const char *what, uint64_t par, uint64_t want_pa)
{
    if (par & 1) {
        say("%s: PAR.F=1 FST=0x%02lx (", what, (par >> 1) & 0x3f);
        put_fsc((par >> 1) & 0x3f);
        printf_uart(") PTW=%lu S=%lu\n", (par >> 8) & 1, (par >> 9) & 1);
    } else {
        say("%s: PAR.F=0 PA %s SH=%lu ATTR=0x%02lx\n", what, (par & OA_MASK) == (want_pa & OA_MASK) ? "ok" : "wrong",
            (par >> 7) & 3, par >> 56);
    }
}

/* ---- EL0 ----------------------------------------------------------------------------- */
/* Runs fn (an EL0 alias of code_block) with the argument on its stack page (slot S_STACK). */
static uint64_t el0_call(uint64_t fn, uint64_t arg)
{
    *(volatile uint64_t *)(PPA(P_STACK) + G - 16) = arg;
    clear_exc();
    return run_el0((uint64_t (*)(void))fn, SVA(S_STACK) + G - 16);
}

static void el0_outcome(const char *what, uint64_t va, uint64_t r, uint64_t want)
{
    if (n_exc && x_kind != 8) {
        say("%s: exception not from EL0 (kind %lu)\n", what, x_kind);
        return;
    }
    outcome(what, va, r, want);
}

/* ---- page tables --------------------------------------------------------------------------- */
static uint64_t *alloc_table(void)
{
    if (tused + G > sizeof tbuf) {
        puts_uart("out of table space\n");
        guest_poweroff();
    }
    volatile uint64_t *t = (volatile uint64_t *)(tbuf + tused);
    tused += G;
    for (uint64_t i = 0; i < G / 8; i++)
        t[i] = 0;
    return (uint64_t *)t;
}

static int start_level(unsigned inbits)
{
    unsigned stride = gsh - 3;
    return 4 - (int)((inbits - gsh + stride - 1) / stride);
}

/* The descriptor for `va` at `level` of the tables under `root`, making the tables on the way. */
static uint64_t *entry(uint64_t *root, unsigned inbits, uint64_t va, int level)
{
    unsigned stride = gsh - 3;
    int lvl = start_level(inbits);
    uint64_t *t = root;
    unsigned bits = inbits - (gsh + stride * (3 - lvl));
    for (;; lvl++) {
        unsigned shift = gsh + stride * (3 - lvl);
        uint64_t *e = &t[(va >> shift) & ((1UL << bits) - 1)];
        if (lvl == level)
            return e;
        if (!(*e & 1))
            *e = (uint64_t)alloc_table() | 3;
        t = (uint64_t *)(*e & OA_MASK);
        bits = stride;
    }
}

/* Descriptors of table A that the tests change. */
static uint64_t *d_ro, *d_af, *d_remap, *d_hole, *d_block, *d_hier;

static uint64_t *build_ttbr0(uint64_t asid_pa, int record)
{
    uint64_t *root = alloc_table();
    uint64_t blk = 1UL << (gsh + 2 * (gsh - 3));
#define MAP(slot, pa, a) (*entry(root, in0, SVA(slot), 3) = PAGE(pa, a))
    for (uint64_t pa = RAM_BASE; pa < RAM_BASE + RAM_SIZE; pa += blk)
        *entry(root, in0, pa, 2) = BLOCK(pa, A_NORMAL | D_UXN);
    *entry(root, in0, UART0_BASE, 3) = PAGE(UART0_BASE, A_DEVICE);
    MAP(S_DATA, PPA(P_DATA), A_NORMAL | A_XN);
    MAP(S_RO, PPA(P_RO), A_NORMAL | A_XN | D_AP_RO);
    MAP(S_AF, PPA(P_AF), (A_NORMAL & ~D_AF) | A_XN);
    MAP(S_USER, PPA(P_USER), A_NORMAL | A_XN | D_AP_EL0);
    MAP(S_STACK, PPA(P_STACK), A_NORMAL | A_XN | D_AP_EL0);
    MAP(S_ASID, asid_pa, A_NORMAL | A_XN | D_NG);
    MAP(S_REMAP, PPA(P_DATA), A_NORMAL | A_XN);
    MAP(S_EL0RO, PPA(P_RO), A_NORMAL | A_XN | D_AP_EL0 | D_AP_RO);
    MAP(S_DEVICE, PPA(P_DATA), A_DEVICE);
    *entry(root, in0, SVA(S_RSVD), 3) = PPA(P_DATA) | A_NORMAL | 1; /* a block descriptor at level 3: reserved */
    MAP(S_ASIZE, 1UL << 40, A_NORMAL | A_XN); /* beyond TCR_EL1.IPS (40 bits) */
    MAP(S_X_EL1, CODE_PA, A_NORMAL | D_AP_RO | D_UXN);
    MAP(S_X_PXN, CODE_PA, A_NORMAL | D_AP_RO | D_UXN | D_PXN);
    MAP(S_X_UW, CODE_PA, A_NORMAL | D_AP_EL0);
    MAP(S_X_EL0, CODE_PA, A_NORMAL | D_AP_EL0 | D_AP_RO);
    MAP(S_X_UXN, CODE_PA, A_NORMAL | D_AP_EL0 | D_AP_RO | D_PXN | D_UXN);
    MAP(S_X_EL1ONLY, CODE_PA, A_NORMAL);
    MAP(S_NC, PPA(P_DATA), A_NC | A_XN);
#undef MAP
    uint64_t *hole = entry(root, in0, SVA(S_HOLE), 3);
    *entry(root, in0, HIER_VA, 3) = PAGE(PPA(P_USER), A_NORMAL | A_XN | D_AP_EL0);
    *entry(root, in0, HIER_VA + G, 3) = PAGE(CODE_PA, A_NORMAL | D_AP_RO | D_UXN);
    uint64_t *block = entry(root, in0, BLOCK_VA, 2);
    *block = BLOCK(RAM_BASE, A_NORMAL | A_XN);
    if (gsh == 12)
        *entry(root, in0, GIGA_VA, 1) = BLOCK(RAM_BASE, A_NORMAL | A_XN);
    if (record) {
        d_ro = entry(root, in0, SVA(S_RO), 3);
        d_af = entry(root, in0, SVA(S_AF), 3);
        d_remap = entry(root, in0, SVA(S_REMAP), 3);
        d_hole = hole;
        d_block = block;
        d_hier = entry(root, in0, HIER_VA, 2);
    }
    return root;
}

static uint64_t *build_ttbr1(void)
{
    uint64_t *root = alloc_table();
    *entry(root, in1, HI_VA, 3) = PAGE(PPA(P_DATA), A_NORMAL | A_XN);
    *entry(root, in1, HI_BLOCK_VA, 2) = BLOCK(RAM_BASE, A_NORMAL | A_XN);
    return root;
}

/* ---- the tests ----------------------------------------------------------------------------- */
static volatile uint64_t block_probe = 0x5ca1ab1e;
#define PROBE_OFF ((uint64_t)&block_probe - RAM_BASE)

static uint64_t tcr_base;

static void aliases(void)
{
    check_ld("read via TTBR0 page alias", SVA(S_DATA), 0x1111);
    check_st("write via TTBR0 page alias, read via identity", SVA(S_DATA) + 8, 0xa1, &PW(P_DATA, 1));
    check_ld("read via TTBR1 alias (upper range)", HI_VA, 0x1111);
    check_st("write via TTBR1 alias, read via identity", HI_VA + 16, 0xa2, &PW(P_DATA, 2));
    check_ld("read via second TTBR0 alias of the same page", SVA(S_REMAP) + 8, 0xa1);
    say("%s block (level 2) alias:\n", granules[gsh == 12 ? 0 : gsh == 14 ? 1 : 2].block);
    check_ld("  read via TTBR0 block", BLOCK_VA + PROBE_OFF, 0x5ca1ab1e);
    check_st("  write via TTBR0 block, read via identity", BLOCK_VA + PROBE_OFF, 0xb10c, &block_probe);
    check_ld("  read via TTBR1 block", HI_BLOCK_VA + PROBE_OFF, 0xb10c);
    if (gsh == 12)
        check_ld("  read via 1G level-1 block", GIGA_VA + PROBE_OFF, 0xb10c);
    block_probe = 0x5ca1ab1e;
}

static void at_tests(void)
{
    show_par("AT S1E1R page", AT(s1e1r, SVA(S_DATA) + 0x18), PPA(P_DATA));
    show_par("AT S1E1R device page", AT(s1e1r, SVA(S_DEVICE)), PPA(P_DATA));
    show_par("AT S1E1R Normal Non-cacheable page", AT(s1e1r, SVA(S_NC)), PPA(P_DATA));
    show_par("AT S1E1R TTBR1 page", AT(s1e1r, HI_VA + 0x123), PPA(P_DATA));
    show_par("AT S1E1R block", AT(s1e1r, BLOCK_VA + PROBE_OFF), RAM_BASE + PROBE_OFF);
    show_par("AT S1E1R read-only page", AT(s1e1r, SVA(S_RO)), PPA(P_RO));
    show_par("AT S1E1W read-only page", AT(s1e1w, SVA(S_RO)), 0);
    show_par("AT S1E0R EL1-only page", AT(s1e0r, SVA(S_DATA)), 0);
    show_par("AT S1E0R EL0 page", AT(s1e0r, SVA(S_USER)), PPA(P_USER));
    show_par("AT S1E0W EL0 read-only page", AT(s1e0w, SVA(S_EL0RO)), 0);
    show_par("AT S1E1R unmapped page", AT(s1e1r, SVA(S_HOLE)), 0);
    show_par("AT S1E1R unmapped region", AT(s1e1r, FAR_VA), 0);
    show_par("AT S1E1R AF=0 page", AT(s1e1r, SVA(S_AF)), 0);
    show_par("AT S1E1R output beyond IPS", AT(s1e1r, SVA(S_ASIZE)), 0);
}

static void fault_tests(void)
{
    check_ld("unmapped page (invalid L3 entry)", SVA(S_HOLE), MUST_FAULT);
    check_ld("unmapped region", FAR_VA, MUST_FAULT);
    check_ld("VA above the TTBR0 range", 1UL << in0, MUST_FAULT);
    check_ld("VA below the TTBR1 range", (~0UL << in1) - G, MUST_FAULT);
    check_ld("block descriptor at level 3", SVA(S_RSVD), MUST_FAULT);
    check_ld("output address beyond IPS", SVA(S_ASIZE), MUST_FAULT);
    clear_exc();
    st(SVA(S_ASIZE), 1);
    outcome("store, output address beyond IPS", SVA(S_ASIZE), 0, MUST_FAULT);
    clear_exc();
    (void)ld(SVA(S_HOLE) - 4);
    say("unaligned load crossing into the unmapped page: ");
    put_exc(SVA(S_HOLE), ~(G - 1)); /* FAR may be any address of the access in the faulting page */
    clear_exc();
    __asm__ volatile("dc civac, %0" :: "r"(SVA(S_HOLE)) : "memory");
    say("DC CIVAC of the unmapped page: ");
    if (n_exc)
        put_exc(SVA(S_HOLE), ~0UL);
    else
        puts_uart("no fault\n");
    set_desc(d_hole, PAGE(PPA(P_DATA), A_NORMAL | A_XN));
    check_ld("page mapped after the fault (no TLBI)", SVA(S_HOLE), 0x1111);
    check_ld("AF=0 page", SVA(S_AF), MUST_FAULT);
    clear_exc();
    st(SVA(S_AF), 1);
    outcome("store, AF=0 page", SVA(S_AF), 0, MUST_FAULT);
    set_desc(d_af, *d_af | D_AF);
    check_ld("AF set (no TLBI)", SVA(S_AF), 0x3333);
    check_ld("aligned load from Device page", SVA(S_DEVICE), 0x1111);
    check_ld("unaligned load from Device page", SVA(S_DEVICE) + 4, MUST_FAULT);
    check_ld("unaligned load from Normal page", SVA(S_DATA) + 4, 0xa1UL << 32);
}

/* DC ZVA of the block at va (which must fault); FAR may be any address in the block. */
static void dc_zva(const char *what, uint64_t va)
{
    uint64_t bs = 4UL << (read_sysreg(dczid_el0) & 0xf);
    clear_exc();
    __asm__ volatile("dc zva, %0" :: "r"(va) : "memory");
    if (n_exc) {
        say("%s: ", what);
        put_exc(va, ~(bs - 1));
    } else {
        say("%s: no fault\n", what);
    }
}

static void permission_tests(void)
{
    check_ld("AP=RO read", SVA(S_RO), 0x2222);
    check_st("AP=RO store", SVA(S_RO), 0x99, &PW(P_RO, 0));
    dc_zva("AP=RO DC ZVA", SVA(S_RO) + 0x800);
    PW(P_DATA, 0x100) = 0x5a5a;
    dc_zva("DC ZVA to Device page", SVA(S_DEVICE) + 0x800);
    PW(P_DATA, 0x100) = 0;
    *(volatile uint64_t *)d_ro &= ~D_AP_RO;
    tlbi_va(SVA(S_RO));
    check_st("AP=RW after TLBI VAE1: store", SVA(S_RO), 0x2223, &PW(P_RO, 0));
    PW(P_RO, 0) = 0x2222;
    check_ld("EL1 read of EL0 page (PAN=0)", SVA(S_USER), 0x4444);

    /* TLBI VAE1 of one page of a block drops the whole block. */
    check_st("block store", BLOCK_VA + PROBE_OFF, 0x5ca1ab1f, &block_probe);
    *(volatile uint64_t *)d_block |= D_AP_RO;
    tlbi_va(BLOCK_VA); /* a different page of the same block */
    check_st("block made RO, TLBI VAE1 of another page in it: store", BLOCK_VA + PROBE_OFF, 0x5ca1ab20, &block_probe);
    *(volatile uint64_t *)d_block &= ~D_AP_RO;
    tlbi_va(BLOCK_VA + 3 * G);
    check_st("block made RW again: store", BLOCK_VA + PROBE_OFF, 0x5ca1ab1e, &block_probe);

    /* Change the output address of a page (break-before-make with TLBI VAE1). */
    check_ld("remap: before", SVA(S_REMAP), 0x1111);
    *(volatile uint64_t *)d_remap = 0;
    tlbi_va(SVA(S_REMAP));
    set_desc(d_remap, PAGE(PPA(P_ALT), A_NORMAL | A_XN));
    check_ld("remap: after TLBI VAE1 reads the new page", SVA(S_REMAP), 0x7777);
}

static void exec_tests(void)
{
    check_exec("EL1 exec, PXN=0", XVA(S_X_EL1, el1_ret42));
    check_exec("EL1 exec, PXN=1", XVA(S_X_PXN, el1_ret42));
    check_exec("EL1 exec of EL0-writable page (PXN=0)", XVA(S_X_UW, el1_ret42));
    check_exec("EL1 exec of EL0 read-only page (PXN=0)", XVA(S_X_EL0, el1_ret42));
    check_exec("EL1 exec, data page (XN)", SVA(S_DATA));
}

static void el0_tests(void)
{
    uint64_t r;
    r = el0_call(XVA(S_X_EL0, el0_load), SVA(S_USER));
    el0_outcome("EL0 read of EL0 page", SVA(S_USER), r, 0x4444);
    r = el0_call(XVA(S_X_EL0, el0_load), SVA(S_EL0RO));
    el0_outcome("EL0 read of EL0 read-only page", SVA(S_EL0RO), r, 0x2222);
    r = el0_call(XVA(S_X_EL0, el0_load), SVA(S_DATA));
    el0_outcome("EL0 read of EL1-only page", SVA(S_DATA), r, MUST_FAULT);
    r = el0_call(XVA(S_X_EL0, el0_load), SVA(S_RO));
    el0_outcome("EL0 read of EL1 read-only page", SVA(S_RO), r, MUST_FAULT);
    r = el0_call(XVA(S_X_EL0, el0_load), HI_VA);
    el0_outcome("EL0 read of EL1-only TTBR1 page", HI_VA, r, MUST_FAULT);
    r = el0_call(XVA(S_X_EL0, el0_store), SVA(S_EL0RO));
    el0_outcome("EL0 store to EL0 read-only page", SVA(S_EL0RO), r, MUST_FAULT);
    r = el0_call(XVA(S_X_EL0, el0_store), SVA(S_USER));
    el0_outcome("EL0 store to EL0 page", SVA(S_USER), r == 0 ? PW(P_USER, 0) : r, 0x55);
    PW(P_USER, 0) = 0x4444;
    r = el0_call(XVA(S_X_UXN, el0_ret42), 0);
    el0_outcome("EL0 exec, UXN=1", XVA(S_X_UXN, el0_ret42), r, 42);
    r = el0_call(XVA(S_X_EL1ONLY, el0_ret42), 0);
    el0_outcome("EL0 exec of EL1-only page, UXN=0", XVA(S_X_EL1ONLY, el0_ret42), r, 42);
    r = el0_call((uint64_t)el0_ret42, 0);
    el0_outcome("EL0 exec of identity RAM block (UXN=1)", (uint64_t)el0_ret42, r, 42);
}

static void pan_tests(void)
{
    uint64_t v;
    PAN_ON();
    say("PSTATE.PAN=%lu\n", (read_sysreg(s3_0_c4_c2_3) >> 22) & 1);
    check_ld("PAN=1: EL1 read of EL0 page", SVA(S_USER), MUST_FAULT);
    check_st("PAN=1: EL1 store to EL0 page", SVA(S_USER), 0x4445, &PW(P_USER, 0));
    check_ld("PAN=1: EL1 read of EL1-only page", SVA(S_DATA), 0x1111);
    clear_exc();
    v = ldtr(SVA(S_USER));
    outcome("PAN=1: LDTR of EL0 page", SVA(S_USER), v, 0x4444);
    clear_exc();
    sttr(SVA(S_USER) + 8, 0x4446);
    outcome("PAN=1: STTR to EL0 page", SVA(S_USER) + 8, PW(P_USER, 1), 0x4446);
    clear_exc();
    v = ldtr(SVA(S_DATA));
    outcome("PAN=1: LDTR of EL1-only page", SVA(S_DATA), v, MUST_FAULT);
    show_par("PAN=1: AT S1E1R of EL0 page", AT(s1e1r, SVA(S_USER)), PPA(P_USER));
    UAO_ON();
    clear_exc();
    v = ldtr(SVA(S_USER));
    outcome("PAN=1 UAO=1: LDTR of EL0 page", SVA(S_USER), v, MUST_FAULT);
    clear_exc();
    v = ldtr(SVA(S_DATA));
    outcome("PAN=1 UAO=1: LDTR of EL1-only page", SVA(S_DATA), v, 0x1111);
    UAO_OFF();
    PAN_OFF();
    check_ld("PAN=0: EL1 read of EL0 page", SVA(S_USER), 0x4444);
}

static void hier_tests(void)
{
    uint64_t r, tbl = *d_hier;
    check_st("under table: EL1 store", HIER_VA, 0x4444, &PW(P_USER, 0));
    check_exec("under table: EL1 exec", HIER_VA + G + ((uint64_t)el1_ret42 - CODE_PA));
    *(volatile uint64_t *)d_hier = tbl | T_APTABLE1 | T_PXNTABLE;
    tlbi_va(HIER_VA);
    tlbi_va(HIER_VA + G);
    check_ld("APTable=10: EL1 read", HIER_VA, 0x4444);
    check_st("APTable=10: EL1 store", HIER_VA, 0x4447, &PW(P_USER, 0));
    r = el0_call(XVA(S_X_EL0, el0_store), HIER_VA);
    el0_outcome("APTable=10: EL0 store", HIER_VA, r, MUST_FAULT);
    check_exec("PXNTable=1: EL1 exec", HIER_VA + G + ((uint64_t)el1_ret42 - CODE_PA));
    *(volatile uint64_t *)d_hier = tbl | T_APTABLE0;
    tlbi_va(HIER_VA);
    tlbi_va(HIER_VA + G);
    r = el0_call(XVA(S_X_EL0, el0_load), HIER_VA);
    el0_outcome("APTable=01: EL0 read", HIER_VA, r, MUST_FAULT);
    PAN_ON();
    check_ld("APTable=01: EL1 read with PAN=1 (no longer an EL0 page)", HIER_VA, 0x4444);
    PAN_OFF();
    *(volatile uint64_t *)d_hier = tbl;
    tlbi_va(HIER_VA);
    tlbi_va(HIER_VA + G);
    r = el0_call(XVA(S_X_EL0, el0_load), HIER_VA);
    el0_outcome("table attributes cleared: EL0 read", HIER_VA, r, 0x4444);
}

static void tbi_tests(void)
{
    uint64_t tag = 0x5aUL << 56;
    uint64_t htag = (HI_VA & 0x00ffffffffffffffUL) | (0x12UL << 56);
    check_ld("TBI0=0: tagged TTBR0 pointer", SVA(S_DATA) | tag, MUST_FAULT);
    check_ld("TBI1=0: tagged TTBR1 pointer", htag, MUST_FAULT);
    write_sysreg(tcr_el1, tcr_base | (1UL << 37) | (1UL << 38));
    isb();
    tlbi_all();
    check_ld("TBI0=1: tagged TTBR0 pointer", SVA(S_DATA) | tag, 0x1111);
    check_st("TBI0=1: store via tagged pointer", (SVA(S_DATA) + 24) | tag, 0x7a, &PW(P_DATA, 3));
    check_ld("TBI1=1: tagged TTBR1 pointer", htag, 0x1111);
    write_sysreg(tcr_el1, tcr_base | (1UL << 23));
    isb();
    tlbi_all();
    check_ld("EPD1=1: TTBR1 page", HI_VA, MUST_FAULT);
    write_sysreg(tcr_el1, tcr_base | (1UL << 37) | (1UL << 38));
    isb();
    tlbi_all();
    clear_exc();
    (void)ld(SVA(S_RSVD) | tag);
    say("TBI0=1: fault on tagged pointer: ");
    put_exc(SVA(S_RSVD), 0x00ffffffffffffffUL);
    write_sysreg(tcr_el1, tcr_base);
    isb();
    tlbi_all();
}

static void asid_tests(uint64_t *ta, uint64_t *tb, uint64_t *t1)
{
#define TTBR0(t, asid) do { write_sysreg(ttbr0_el1, (uint64_t)(t) | ((uint64_t)(asid) << 48)); isb(); } while (0)
    check_ld("table A, ASID 1: nG page", SVA(S_ASID), 0xaaaa);
    TTBR0(tb, 2);
    check_ld("table B, ASID 2 (no TLBI): nG page", SVA(S_ASID), 0xbbbb);
    check_ld("table B, ASID 2: global page", SVA(S_DATA), 0x1111);
    TTBR0(ta, 1);
    check_ld("back to table A, ASID 1", SVA(S_ASID), 0xaaaa);
    TTBR0(tb, 2);
    check_ld("back to table B, ASID 2", SVA(S_ASID), 0xbbbb);
    TTBR0(tb, 1);
    tlbi_asid(1);
    check_ld("table B with ASID 1 after TLBI ASIDE1 1", SVA(S_ASID), 0xbbbb);
    TTBR0(ta, 3);
    check_ld("table A, new ASID 3", SVA(S_ASID), 0xaaaa);
    /* TCR_EL1.A1 = 1: the ASID comes from TTBR1_EL1. */
    write_sysreg(tcr_el1, tcr_base | (1UL << 22));
    write_sysreg(ttbr1_el1, (uint64_t)t1 | (5UL << 48));
    TTBR0(ta, 7);
    tlbi_all();
    check_ld("A1=1, table A, TTBR1.ASID 5", SVA(S_ASID), 0xaaaa);
    write_sysreg(ttbr1_el1, (uint64_t)t1 | (6UL << 48));
    TTBR0(tb, 7);
    check_ld("A1=1, table B, TTBR1.ASID 6 (same TTBR0.ASID)", SVA(S_ASID), 0xbbbb);
    write_sysreg(ttbr1_el1, (uint64_t)t1 | (5UL << 48));
    TTBR0(ta, 8);
    check_ld("A1=1, table A, TTBR1.ASID 5 again", SVA(S_ASID), 0xaaaa);
    write_sysreg(tcr_el1, tcr_base);
    write_sysreg(ttbr1_el1, (uint64_t)t1);
    TTBR0(ta, 1);
    tlbi_all();
#undef TTBR0
}

static void run_granule(const struct granule *g)
{
    gname = g->name;
    gsh = g->shift;
    G = 1UL << gsh;
    in0 = 64 - g->t0sz;
    in1 = 64 - g->t1sz;
    tused = 0;

    static const uint64_t marks[P_COUNT] = { 0x1111, 0x2222, 0x3333, 0x4444, 0, 0xaaaa, 0xbbbb, 0x7777 };
    for (int p = 0; p < P_COUNT; p++)
        for (int i = 0; i < 4; i++)
            PW(p, i) = i ? 0 : marks[p];
    block_probe = 0x5ca1ab1e;

    uint64_t *ta = build_ttbr0(PPA(P_ASID_A), 1);
    uint64_t *tb = build_ttbr0(PPA(P_ASID_B), 0);
    uint64_t *t1 = build_ttbr1();

    tcr_base = g->t0sz | (1UL << 8) | (1UL << 10) | (3UL << 12) | (g->tg0 << 14) | ((uint64_t)g->t1sz << 16) | (1UL << 24) |
               (1UL << 26) | (3UL << 28) | (g->tg1 << 30) | (2UL << 32) /* IPS 40 bits */;
    write_sysreg(mair_el1, MAIR_VALUE);
    write_sysreg(tcr_el1, tcr_base);
    write_sysreg(ttbr0_el1, (uint64_t)ta | (1UL << 48));
    write_sysreg(ttbr1_el1, (uint64_t)t1);
    dsb(ish);
    isb();
    tlbi_all();
    write_sysreg(sctlr_el1, SCTLR_KNOWN | 1 /* M */ | (1UL << 2) /* C */ | (1UL << 12) /* I */);
    isb();
    say("MMU on: TTBR0 %u-bit VA from level %d, TTBR1 %u-bit VA from level %d\n", in0, start_level(in0), in1, start_level(in1));

    aliases();
    at_tests();
    fault_tests();
    permission_tests();
    exec_tests();
    el0_tests();
    pan_tests();
    hier_tests();
    tbi_tests();
    asid_tests(ta, tb, t1);

    write_sysreg(sctlr_el1, SCTLR_KNOWN);
    isb();
    tlbi_all();
    say("MMU off, %lu KiB of tables\n", tused >> 10);
}

int main(void)
{
    write_sysreg(sctlr_el1, SCTLR_KNOWN);
    isb();
    puts_uart("mmu: stage-1 translation of the EL1&0 regime\n");
    /* With the MMU off, data accesses are Device-nGnRnE: an unaligned one takes an Alignment fault. */
    gname = "off";
    static volatile uint64_t words[2] = { 0x1111, 0xa1 };
    check_ld("MMU off: unaligned load (Device-nGnRnE)", (uint64_t)&words[0] + 4, MUST_FAULT);
    uint64_t mmfr0 = read_sysreg(id_aa64mmfr0_el1);
    int ok4 = ((mmfr0 >> 28) & 0xf) != 0xf, ok64 = ((mmfr0 >> 24) & 0xf) != 0xf, ok16 = ((mmfr0 >> 20) & 0xf) != 0;
    printf_uart("granules supported: 4K %s, 16K %s, 64K %s\n", ok4 ? "yes" : "no", ok16 ? "yes" : "no", ok64 ? "yes" : "no");
    for (int i = 0; i < 3; i++) {
        if (!(i == 0 ? ok4 : i == 1 ? ok16 : ok64)) {
            printf_uart("[%s] skipped: granule not supported\n", granules[i].name);
            continue;
        }
        run_granule(&granules[i]);
    }
    puts_uart("mmu: done\n");
    return 0;
}
