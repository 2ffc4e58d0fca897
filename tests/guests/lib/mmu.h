/* An identity-mapped stage 1 for the system test guests (mmu.c), for the
   checks that need Normal memory: with SCTLR_EL1.M = 0 every data access is
   Device-nGnRnE, where any unaligned access and DC ZVA take an Alignment
   fault.

   4K granule, 48-bit VAs (TTBR0 only, EPD1 = 1), 1 GiB and 2 MiB blocks,
   global entries with AF = 1:
     [0, 1 GiB)                        Device-nGnRnE (the virt board's devices), EL1 only, execute-never
     [RAM_BASE, MMU_EL0_BASE)          Normal write-back, EL1 read/write (AP = 00); executable at EL1,
                                       and at EL0 (UXN = 0: EL0 code in the guest image runs)
     [MMU_EL0_BASE, +MMU_EL0_SIZE)     Normal write-back, EL0 and EL1 read/write (AP = 01), execute-never
   EL0 code running with the MMU on can execute the guest's functions but
   reach data only in the EL0 window (its stack and buffers go there). */
#pragma once
#include <stdint.h>

#define MMU_RAM_BASE 0x40000000UL
#define MMU_EL0_BASE 0x44000000UL
#define MMU_EL0_SIZE 0x04000000UL /* up to the end of the board's 128 MiB of RAM */

/* Writes the tables (once), MAIR_EL1 (attr0 Normal WB 0xff, attr1 Device-nGnRnE 0x00), TCR_EL1 and TTBR0_EL1,
   invalidates the TLBs and sets SCTLR_EL1.M, keeping the other SCTLR_EL1 bits. */
void mmu_identity_on(void);
/* Clears SCTLR_EL1.M (the other bits stay). */
void mmu_off(void);
