/**
 * Flattened device tree (FDT, "DTB") writer and reader, following the
 * Devicetree Specification v0.4, chapter 5 "Flattened Devicetree (DTB)
 * Format": a 40-byte header (version 17, last compatible version 16), the
 * memory reservation block (pairs of big-endian u64 address/size ended by a
 * 0/0 pair), the structure block (FDT_BEGIN_NODE, FDT_PROP, FDT_END_NODE,
 * FDT_NOP, FDT_END tokens, each 4-byte aligned) and the strings block
 * (property names, NUL-terminated, shared by every property of that name).
 *
 * Trees are plain data (`FdtNode`), built with `node(name, props, children)`
 * and the `prop` helpers. The reader turns a blob into the same shape and
 * reports malformed input (bad magic, truncation, offsets out of range,
 * unbalanced nodes) as an `ImageError` naming what is wrong and where.
 */
import { ImageError } from './elf.js';

export const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;
const HEADER_SIZE = 40;
const VERSION = 17;
const LAST_COMP_VERSION = 16;

export interface FdtNode {
  /** Node name with its unit address ("memory@40000000"); "" for the root. */
  name: string;
  /** Properties in order; values are the raw big-endian bytes. */
  props: Map<string, Uint8Array>;
  children: FdtNode[];
}

export interface MemReserve {
  address: number;
  size: number;
}

export interface Fdt {
  root: FdtNode;
  memReserve: MemReserve[];
  /** Header field boot_cpuid_phys: the physical id of the boot CPU. */
  bootCpuid: number;
}

type PropInput = Record<string, Uint8Array> | Iterable<readonly [string, Uint8Array]>;

/** A node: `node('cpu@0', { reg: prop.u32(0) }, [children...])`. */
export function node(name: string, props: PropInput = {}, children: FdtNode[] = []): FdtNode {
  const entries: Iterable<readonly [string, Uint8Array]> = Symbol.iterator in props ? (props as Iterable<readonly [string, Uint8Array]>) : Object.entries(props);
  const m = new Map<string, Uint8Array>();
  for (const [k, v] of entries) {
    if (m.has(k)) throw new Error(`fdt: node '${name}': property '${k}' given twice`);
    m.set(k, v);
  }
  return { name, props: m, children };
}

const enc = new TextEncoder();

function u64Parts(v: number | bigint, what: string): [number, number] {
  const b = BigInt(v);
  if (b < 0n || b >= 1n << 64n) throw new RangeError(`fdt: ${what} ${v} does not fit in 64 bits`);
  return [Number(b >> 32n), Number(b & 0xffffffffn)];
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`fdt: ${what} ${v} is not a u32 cell`);
  return v;
}

/** Property value encoders (all big-endian, as the specification requires). */
export const prop = {
  /** An empty property (a boolean: `interrupt-controller`, `dma-coherent`). */
  empty(): Uint8Array {
    return new Uint8Array(0);
  },
  u32(v: number): Uint8Array {
    return prop.cells(v);
  },
  /** One 64-bit value as two cells, high first. */
  u64(v: number | bigint): Uint8Array {
    return prop.cells(...u64Parts(v, 'u64'));
  },
  /** A list of 32-bit cells. */
  cells(...vs: number[]): Uint8Array {
    const out = new Uint8Array(4 * vs.length);
    const dv = new DataView(out.buffer);
    vs.forEach((v, i) => dv.setUint32(4 * i, checkU32(v, 'cell'), false));
    return out;
  },
  /**
   * Values of `n` cells each, for `reg` and `ranges`: `prop.reg(2, 2, [base, size])`.
   * Numbers up to 2^53 or BigInts.
   */
  wide(cellsPer: number, ...vs: Array<number | bigint>): Uint8Array {
    const cells: number[] = [];
    for (const v of vs) {
      const b = BigInt(v);
      if (b < 0n || b >= 1n << BigInt(32 * cellsPer)) throw new RangeError(`fdt: value 0x${b.toString(16)} does not fit in ${cellsPer} cells`);
      for (let i = cellsPer - 1; i >= 0; i--) cells.push(Number((b >> BigInt(32 * i)) & 0xffffffffn));
    }
    return prop.cells(...cells);
  },
  /** `reg` entries as (address, size) pairs with the parent's #address-cells/#size-cells. */
  reg(addressCells: number, sizeCells: number, ...pairs: Array<[number | bigint, number | bigint]>): Uint8Array {
    const parts: Uint8Array[] = [];
    for (const [a, s] of pairs) parts.push(prop.wide(addressCells, a), prop.wide(sizeCells, s));
    return concat(parts);
  },
  /** A single NUL-terminated string. */
  string(s: string): Uint8Array {
    return prop.strings(s);
  },
  /** A stringlist: each string NUL-terminated, one after the other. */
  strings(...ss: string[]): Uint8Array {
    const parts: Uint8Array[] = [];
    for (const s of ss) {
      if (s.includes('\0')) throw new Error(`fdt: string '${s}' contains a NUL`);
      parts.push(enc.encode(s), new Uint8Array(1));
    }
    return concat(parts);
  },
  bytes(b: ArrayLike<number>): Uint8Array {
    return Uint8Array.from(b);
  },
};
/** Alias: the specification's name for a list of strings. */
export const stringlist = prop.strings;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Growable big-endian byte buffer. */
class Out {
  buf = new Uint8Array(1024);
  len = 0;
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  u32(v: number): void {
    this.ensure(4);
    new DataView(this.buf.buffer).setUint32(this.len, v >>> 0, false);
    this.len += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  align4(): void {
    const pad = (4 - (this.len & 3)) & 3;
    this.ensure(pad);
    this.buf.fill(0, this.len, this.len + pad);
    this.len += pad;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const NODE_NAME = /^[A-Za-z0-9,._+-]+(@[A-Za-z0-9,._+-]+)?$/;
const PROP_NAME = /^[A-Za-z0-9,._+?#-]+$/;

export interface BuildOptions {
  memReserve?: MemReserve[];
  bootCpuid?: number;
}

/** Serialises a tree to a DTB (version 17). Names are checked against the specification's character sets. */
export function buildDtb(root: FdtNode, opts: BuildOptions = {}): Uint8Array {
  if (root.name !== '') throw new Error(`fdt: the root node's name must be empty, not '${root.name}'`);
  const strings = new Out();
  const stringOffsets = new Map<string, number>();
  const nameOff = (name: string): number => {
    let off = stringOffsets.get(name);
    if (off === undefined) {
      off = strings.len;
      strings.bytes(enc.encode(name));
      strings.bytes(new Uint8Array(1));
      stringOffsets.set(name, off);
    }
    return off;
  };
  const struct = new Out();
  const emit = (n: FdtNode, path: string): void => {
    if (path !== '/' && !NODE_NAME.test(n.name)) throw new Error(`fdt: bad node name '${n.name}' under '${path.slice(0, path.lastIndexOf('/')) || '/'}'`);
    struct.u32(FDT_BEGIN_NODE);
    struct.bytes(enc.encode(n.name));
    struct.bytes(new Uint8Array(1));
    struct.align4();
    for (const [k, v] of n.props) {
      if (!PROP_NAME.test(k)) throw new Error(`fdt: bad property name '${k}' in '${path}'`);
      struct.u32(FDT_PROP);
      struct.u32(v.length);
      struct.u32(nameOff(k));
      struct.bytes(v);
      struct.align4();
    }
    const seen = new Set<string>();
    for (const c of n.children) {
      if (seen.has(c.name)) throw new Error(`fdt: two nodes named '${c.name}' under '${path}'`);
      seen.add(c.name);
      emit(c, path === '/' ? `/${c.name}` : `${path}/${c.name}`);
    }
    struct.u32(FDT_END_NODE);
  };
  emit(root, '/');
  struct.u32(FDT_END);

  const rsv = new Out();
  for (const r of opts.memReserve ?? []) {
    const [ah, al] = u64Parts(r.address, 'reserved address');
    const [sh, sl] = u64Parts(r.size, 'reserved size');
    rsv.u32(ah); rsv.u32(al); rsv.u32(sh); rsv.u32(sl);
  }
  for (let i = 0; i < 4; i++) rsv.u32(0);

  const offRsv = HEADER_SIZE; // 40: already 8-byte aligned, as the block must be
  const offStruct = offRsv + rsv.len;
  const offStrings = offStruct + struct.len;
  const total = offStrings + strings.len;
  const out = new Uint8Array((total + 7) & ~7);
  const dv = new DataView(out.buffer);
  const hdr = [FDT_MAGIC, out.length, offStruct, offStrings, offRsv, VERSION, LAST_COMP_VERSION, opts.bootCpuid ?? 0, strings.len, struct.len];
  hdr.forEach((v, i) => dv.setUint32(4 * i, v >>> 0, false));
  out.set(rsv.result(), offRsv);
  out.set(struct.result(), offStruct);
  out.set(strings.result(), offStrings);
  return out;
}

/** Parses a DTB. `name` prefixes error messages (e.g. the -dtb file name). */
export function parseDtb(bytes: Uint8Array, name = 'dtb'): Fdt {
  const fail = (msg: string): never => {
    throw new ImageError(`${name}: ${msg}`);
  };
  const hex = (v: number): string => `0x${v.toString(16)}`;
  if (bytes.length < HEADER_SIZE) fail(`truncated: ${bytes.length} bytes is shorter than the ${HEADER_SIZE}-byte FDT header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = (i: number): number => dv.getUint32(4 * i, false);
  const magic = h(0);
  if (magic !== FDT_MAGIC) fail(`bad magic ${hex(magic)} at offset 0 (expected 0xd00dfeed): not a flattened device tree`);
  const [total, offStruct, offStrings, offRsv, version, lastComp, bootCpuid, sizeStrings] = [h(1), h(2), h(3), h(4), h(5), h(6), h(7), h(8)];
  if (total > bytes.length) fail(`truncated: header totalsize is ${total} bytes but only ${bytes.length} are present`);
  if (total < HEADER_SIZE) fail(`header totalsize ${total} is smaller than the header`);
  if (lastComp > VERSION) fail(`last_comp_version ${lastComp} is newer than this reader (version ${VERSION})`);
  if (version < 16) fail(`version ${version} is too old (need 16 or later)`);
  const sizeStruct = version >= 17 ? h(9) : total - offStruct;
  const inRange = (off: number, len: number, what: string): void => {
    if (off < HEADER_SIZE || off > total || len > total - off) fail(`${what} at offset ${hex(off)} (${len} bytes) is outside the blob (totalsize ${total})`);
  };
  inRange(offStruct, sizeStruct, 'structure block');
  inRange(offStrings, sizeStrings, 'strings block');
  inRange(offRsv, 16, 'memory reservation block');
  if (offRsv & 7) fail(`memory reservation block at ${hex(offRsv)} is not 8-byte aligned`);
  if (offStruct & 3) fail(`structure block at ${hex(offStruct)} is not 4-byte aligned`);

  const memReserve: MemReserve[] = [];
  for (let o = offRsv; ; o += 16) {
    if (o + 16 > total) fail(`memory reservation block at ${hex(offRsv)} has no terminating 0/0 entry before the end of the blob`);
    const a = dv.getBigUint64(o, false);
    const s = dv.getBigUint64(o + 8, false);
    if (a === 0n && s === 0n) break;
    memReserve.push({ address: Number(a), size: Number(s) });
  }

  const dec = new TextDecoder('utf-8', { fatal: false });
  const end = offStruct + sizeStruct;
  let p = offStruct;
  const word = (): number => {
    if (p + 4 > end) fail(`truncated structure block: token expected at ${hex(p)} past its end ${hex(end)}`);
    const v = dv.getUint32(p, false);
    p += 4;
    return v;
  };
  const cstr = (from: number, limit: number, what: string): [string, number] => {
    let q = from;
    while (q < limit && bytes[q] !== 0) q++;
    if (q >= limit) fail(`${what} at ${hex(from)} is not NUL-terminated within its block`);
    return [dec.decode(bytes.subarray(from, q)), q + 1];
  };
  const stack: FdtNode[] = [];
  let root: FdtNode | null = null;
  let sawChild = false;
  for (;;) {
    const at = p;
    const tok = word();
    if (tok === FDT_BEGIN_NODE) {
      const [nm, next] = cstr(p, end, 'node name');
      p = (next + 3) & ~3;
      const n: FdtNode = { name: nm, props: new Map(), children: [] };
      if (stack.length === 0) {
        if (root !== null) fail(`second root node at ${hex(at)}`);
        root = n;
      } else stack[stack.length - 1].children.push(n);
      stack.push(n);
      sawChild = false;
    } else if (tok === FDT_END_NODE) {
      if (stack.length === 0) fail(`FDT_END_NODE at ${hex(at)} with no open node`);
      stack.pop();
      sawChild = true;
    } else if (tok === FDT_PROP) {
      if (stack.length === 0) fail(`property at ${hex(at)} outside any node`);
      if (sawChild) fail(`property at ${hex(at)} follows a child node of '${stack[stack.length - 1].name}' (properties must come first)`);
      const len = word();
      const nameoff = word();
      if (len > end - p) fail(`property at ${hex(at)}: value of ${len} bytes runs past the structure block`);
      if (nameoff >= sizeStrings) fail(`property at ${hex(at)}: name offset ${hex(nameoff)} is outside the strings block (${sizeStrings} bytes)`);
      const [pn] = cstr(offStrings + nameoff, offStrings + sizeStrings, 'property name');
      const n = stack[stack.length - 1];
      if (n.props.has(pn)) fail(`property '${pn}' appears twice in node '${n.name}'`);
      n.props.set(pn, bytes.slice(p, p + len));
      p = (p + len + 3) & ~3;
    } else if (tok === FDT_NOP) {
      continue;
    } else if (tok === FDT_END) {
      if (stack.length !== 0) fail(`FDT_END at ${hex(at)} with ${stack.length} node(s) still open`);
      break;
    } else {
      fail(`unknown token ${hex(tok)} at ${hex(at)}`);
    }
  }
  if (root === null) fail('no root node');
  return { root: root as FdtNode, memReserve, bootCpuid };
}

// ---- Queries used by the VMM (patching a user -dtb) and by tests ----

/** The node at an absolute path ("/chosen", "/cpus/cpu@0"), or null. */
export function findNode(root: FdtNode, path: string): FdtNode | null {
  if (path === '/') return root;
  let n: FdtNode | undefined = root;
  for (const part of path.split('/').filter((s) => s !== '')) {
    n = n.children.find((c) => c.name === part);
    if (n === undefined) return null;
  }
  return n;
}

/** Every node with its absolute path, depth first. */
export function* walk(root: FdtNode, path = '/'): Generator<[string, FdtNode]> {
  yield [path, root];
  for (const c of root.children) yield* walk(c, path === '/' ? `/${c.name}` : `${path}/${c.name}`);
}

export function getCells(n: FdtNode, p: string): number[] | undefined {
  const v = n.props.get(p);
  if (v === undefined) return undefined;
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= v.length; i += 4) out.push(dv.getUint32(i, false));
  return out;
}

export function getU32(n: FdtNode, p: string): number | undefined {
  return getCells(n, p)?.[0];
}

/** A 1- or 2-cell number (e.g. linux,initrd-start). */
export function getNumber(n: FdtNode, p: string): number | undefined {
  const c = getCells(n, p);
  if (c === undefined) return undefined;
  return c.reduce((acc, x) => acc * 2 ** 32 + x, 0);
}

export function getStrings(n: FdtNode, p: string): string[] | undefined {
  const v = n.props.get(p);
  if (v === undefined) return undefined;
  const s = new TextDecoder().decode(v);
  const parts = s.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export function getString(n: FdtNode, p: string): string | undefined {
  return getStrings(n, p)?.[0];
}

/** Sets (or replaces) a property, keeping its position if it existed. */
export function setProp(n: FdtNode, p: string, v: Uint8Array): void {
  n.props.set(p, v);
}

/** The child named `name`, created empty if missing. */
export function ensureChild(n: FdtNode, name: string): FdtNode {
  let c = n.children.find((x) => x.name === name);
  if (c === undefined) {
    c = node(name);
    n.children.push(c);
  }
  return c;
}
