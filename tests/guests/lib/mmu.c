/* Identity-mapped stage 1 for the system test guests: see mmu.h. */
#include "guest.h"
#include "mmu.h"

#define D_BLOCK 1UL
#define D_TABLE 3UL
#define D_ATTR(i) ((uint64_t)(i) << 2) /* MAIR_EL1 index: 0 Normal WB, 1 Device-nGnRnE */
#define D_AP_EL0 (1UL << 6) /* AP[1]: EL0 has access */
#define D_SH_IS (3UL << 8)
#define D_AF (1UL << 10)
#define D_PXN (1UL << 53)
#define D_UXN (1UL << 54)
#define MAIR_VALUE 0x00ffUL

#define GIB (1UL << 30)
#define MIB2 (1UL << 21)

static uint64_t l0[512] __attribute__((aligned(4096)));
static uint64_t l1[512] __attribute__((aligned(4096)));
static uint64_t l2_ram[512] __attribute__((aligned(4096))); /* the GiB holding RAM, in 2 MiB blocks */
static int built;

static void build(void)
{
    l0[0] = (uint64_t)l1 | D_TABLE;
    l1[0] = 0 | D_BLOCK | D_ATTR(1) | D_AF | D_PXN | D_UXN; /* devices */
    l1[MMU_RAM_BASE / GIB] = (uint64_t)l2_ram | D_TABLE;
    for (uint64_t i = 0; i < 512; i++) {
        uint64_t pa = MMU_RAM_BASE + i * MIB2;
        uint64_t d = pa | D_BLOCK | D_ATTR(0) | D_SH_IS | D_AF;
        if (pa < MMU_EL0_BASE)
            l2_ram[i] = d; /* EL1 read/write, executable at EL1 and EL0 */
        else if (pa < MMU_EL0_BASE + MMU_EL0_SIZE)
            l2_ram[i] = d | D_AP_EL0 | D_UXN | D_PXN;
        else
            l2_ram[i] = 0;
    }
    built = 1;
}

void mmu_identity_on(void)
{
    if (!built)
        build();
    write_sysreg(mair_el1, MAIR_VALUE);
    /* T0SZ = 16, IRGN0 = ORGN0 = write-back write-allocate, SH0 = Inner Shareable, TG0 = 4K, EPD1, TG1 = 4K, IPS = 48 bits. */
    write_sysreg(tcr_el1, 16UL | (1UL << 8) | (1UL << 10) | (3UL << 12) | (0UL << 14) | (1UL << 23) | (2UL << 30) | (5UL << 32));
    write_sysreg(ttbr0_el1, (uint64_t)l0);
    __asm__ volatile("dsb ishst\ntlbi vmalle1\ndsb ish\nisb" ::: "memory");
    write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) | 1);
    isb();
}

void mmu_off(void)
{
    write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) & ~1UL);
    isb();
}
