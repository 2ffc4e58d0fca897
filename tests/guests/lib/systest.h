/* Shared bits of nestvisor's system test guests: a known SCTLR_EL1, and the
   record of the last exception their handlers keep. */
#pragma once
#include "guest.h"

/* SCTLR_EL1 with every control these guests depend on clear: MMU, caches,
   alignment and SP alignment checks off, EL0 traps (nTWI, nTWE, UCT, DZE,
   UMA, UCI) all active; the RES1 bits of ARMv8.0 and SPAN set. */
#define SCTLR_KNOWN 0x30d00800UL
#define SCTLR_SA (1UL << 3)
#define SCTLR_SA0 (1UL << 4)
#define SCTLR_UMA (1UL << 9)
#define SCTLR_DZE (1UL << 14)
#define SCTLR_UCT (1UL << 15)
#define SCTLR_NTWI (1UL << 16)
#define SCTLR_UCI (1UL << 26)

#define EC(esr) (((esr) >> 26) & 0x3f)
#define ISS(esr) ((esr) & 0x1ffffff)
#define IL(esr) (((esr) >> 25) & 1)
