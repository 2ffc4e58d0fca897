/**
 * TLB maintenance (TLBI) for the EL1&0 regime, as issued by EL1 (SYS
 * instructions) or by L0 for the EL2 forms.
 *
 * The software TLBs hold combined stage-1+stage-2 entries of the current
 * VMID only (writes to VTTBR_EL2 flush them), one 4K page per entry even
 * for block mappings, each tagged with its ASID (-1 global) and the log2
 * size of the translation it came from. Invalidation is precise where cheap
 * and otherwise broader, which the architecture allows:
 * - by VA (VAE1, VALE1, VAAE1, VAALE1): one slot per TLB, or a scan of
 *   every slot when the TLBs may hold pages of larger blocks or tagged VAs
 *   (TlbShape); the ASID operand is not used to spare other ASIDs' entries;
 * - by ASID (ASIDE1): the non-global entries of that ASID;
 * - IPAS2E1, IPAS2LE1, VMALLE1, VMALLS12E1, ALLE1: everything (no IPA is
 *   kept per entry, so by-IPA invalidation drops all combined entries).
 * The Inner Shareable forms also apply to the PEs registered with
 * setTlbiDomain (the other PEs of the machine).
 */
import type { PE } from '../pe.js';
import { Tlb, TLB_SIZE } from '../tlb.js';
import { sr } from '../../arch/sysregs.js';
import { TCR_HI_AS } from '../../arch/vmsa.js';
import { tlbShape } from './translate.js';

const SR_TCR_EL1 = sr('TCR_EL1');
const TWO32 = 4294967296;

const domains = new WeakMap<PE, readonly PE[]>();

/** Registers the PEs that Inner Shareable TLBI broadcasts reach (each PE of `pes` gets the whole list). */
export function setTlbiDomain(pes: readonly PE[]): void {
  for (const p of pes) domains.set(p, pes);
}

function targets(pe: PE, broadcast: boolean): readonly PE[] {
  if (!broadcast) return [pe];
  return domains.get(pe) ?? [pe];
}

/** Invalidates every EL1&0 entry (VMALLE1, VMALLS12E1, ALLE1, and IPAS2E1 conservatively). */
export function tlbiAll(pe: PE, broadcast = false): void {
  for (const p of targets(pe, broadcast)) {
    p.flushTlbs();
    const s = tlbShape(p);
    s.large = false;
    s.tagged = false;
  }
}

/** TLBI VMALLE1(IS): all stage-1 entries of the current VMID. */
export const tlbiVmallE1 = tlbiAll;
/** TLBI VMALLS12E1(IS): stage 1 and stage 2 entries of the current VMID. */
export const tlbiVmallS12E1 = tlbiAll;
/** TLBI ALLE1(IS): every EL1&0 entry of every VMID. */
export const tlbiAllE1 = tlbiAll;

/** TLBI IPAS2E1(IS) / IPAS2LE1(IS) with operand (valo, vahi) (IPA[55:12] in bits [43:0]): drops everything. */
export function tlbiIpaS2E1(pe: PE, _valo: number, _vahi: number, broadcast = false): void {
  tlbiAll(pe, broadcast);
}

/**
 * TLBI VAE1/VALE1/VAAE1/VAALE1 (and IS forms) with operand (valo, vahi):
 * VA[55:12] in bits [43:0], ASID in [63:48]. Drops the entries for the page
 * at that VA in every TLB of the PE, whatever their ASID, including the 4K
 * entries of a block that contains it.
 */
export function tlbiVa(pe: PE, valo: number, vahi: number, broadcast = false): void {
  // VA[55:12] as a page number, and the VA with bits [63:56] copied from VA[55].
  const page = (vahi & 0xfff) * TWO32 + (valo >>> 0);
  const lo = (valo << 12) >>> 0;
  let hi = ((valo >>> 20) | ((vahi & 0xfff) << 12)) >>> 0;
  if (hi & 0x800000) hi = (hi | 0xff000000) >>> 0;
  for (const p of targets(pe, broadcast)) {
    const s = tlbShape(p);
    for (const t of p.tlbs) {
      // Entries from tagged VAs can sit in any slot: scan everything. Otherwise
      // the page's own slot, plus the slots that ever held a block entry.
      if (s.tagged) dropCovering(t, page);
      else {
        t.flushVa(lo, hi);
        if (s.large && t.inCachedBlock(page)) dropCoveringBlocks(t, page);
      }
    }
  }
}

/** TLBI ASIDE1(IS) with operand (valo, vahi): ASID in bits [63:48] (8 bits used when TCR_EL1.AS is 0). */
export function tlbiAsidE1(pe: PE, _valo: number, vahi: number, broadcast = false): void {
  for (const p of targets(pe, broadcast)) {
    const as16 = (p.sr[2 * SR_TCR_EL1 + 1] & TCR_HI_AS) !== 0;
    const asid = (vahi >>> 16) & (as16 ? 0xffff : 0xff);
    for (const t of p.tlbs) t.flushAsid(asid);
  }
}

/**
 * Drops every entry of `t` whose translation (a page or a block of 2^level
 * bytes) contains VA page `page` (VA[55:12]); VA[63:56] of entries are
 * ignored, so tagged entries go too.
 */
function dropCovering(t: Tlb, page: number): void {
  for (let i = 0; i < TLB_SIZE; i++) {
    const span = t.level[i] > 12 ? 2 ** (t.level[i] - 12) : 1;
    const key = Math.floor(page / span);
    if (t.rTagHi[i] !== -1 && Math.floor(((t.rTagHi[i] & 0xfff) * TWO32 + (t.rTag[i] >>> 0)) / span) === key) t.rTagHi[i] = -1;
    if (t.wTagHi[i] !== -1 && Math.floor(((t.wTagHi[i] & 0xfff) * TWO32 + (t.wTag[i] >>> 0)) / span) === key) t.wTagHi[i] = -1;
    if (t.xTagHi[i] !== -1 && Math.floor(((t.xTagHi[i] & 0xfff) * TWO32 + (t.xTag[i] >>> 0)) / span) === key) t.xTagHi[i] = -1;
  }
}

/** Like dropCovering, for the slots of `t` that have held entries of blocks larger than 4K (Tlb.bigList). */
function dropCoveringBlocks(t: Tlb, page: number): void {
  const list = t.bigList;
  for (let k = 0; k < t.bigCount; k++) {
    const i = list[k];
    const span = t.level[i] > 12 ? 2 ** (t.level[i] - 12) : 1;
    const key = Math.floor(page / span);
    if (t.rTagHi[i] !== -1 && Math.floor(((t.rTagHi[i] & 0xfff) * TWO32 + (t.rTag[i] >>> 0)) / span) === key) t.rTagHi[i] = -1;
    if (t.wTagHi[i] !== -1 && Math.floor(((t.wTagHi[i] & 0xfff) * TWO32 + (t.wTag[i] >>> 0)) / span) === key) t.wTagHi[i] = -1;
    if (t.xTagHi[i] !== -1 && Math.floor(((t.xTagHi[i] & 0xfff) * TWO32 + (t.xTag[i] >>> 0)) / span) === key) t.xTagHi[i] = -1;
  }
}

/** Executes TLBI <op> with operands op1, CRm, op2 (the SYS encoding, CRn = 8) and Xt = (valo, vahi). */
export function tlbiExecute(pe: PE, op1: number, crm: number, op2: number, valo: number, vahi: number): void {
  if (op1 === 0) {
    // CRm 3: Inner Shareable, 7: non-shareable, 1: Outer Shareable (treated as broadcast).
    const bc = crm !== 7;
    if (crm === 3 || crm === 7 || crm === 1) {
      switch (op2) {
        case 0: tlbiVmallE1(pe, bc); return; // VMALLE1
        case 1: case 3: case 5: case 7: tlbiVa(pe, valo, vahi, bc); return; // VAE1, VAAE1, VALE1, VAALE1
        case 2: tlbiAsidE1(pe, valo, vahi, bc); return; // ASIDE1
      }
    }
  } else if (op1 === 4) {
    // IPAS2E1IS/IPAS2LE1IS (CRm 0), IPAS2E1/IPAS2LE1 (CRm 4).
    if ((crm === 0 || crm === 4) && (op2 === 1 || op2 === 5)) {
      tlbiIpaS2E1(pe, valo, vahi, crm === 0);
      return;
    }
    // ALLE1IS/ALLE1 (op2 4), VMALLS12E1IS/VMALLS12E1 (op2 6) in CRm 3 / 7.
    if ((crm === 3 || crm === 7) && (op2 === 4 || op2 === 6)) {
      tlbiAll(pe, crm === 3);
      return;
    }
  }
  // Anything else (range forms, EL2 regime forms): invalidate everything, which is always allowed.
  tlbiAll(pe, crm === 3 || crm === 0);
}
