/**
 * Builds Linux initramfs images (newc cpio, optionally gzip-compressed) from
 * a description of the tree: directories, files, symlinks and device nodes.
 * Parent directories are added automatically, entries are sorted so that a
 * directory precedes its contents, and the result is reproducible.
 *
 * `busyboxInitramfs` makes the small userland the system tests boot: a
 * static busybox, applet symlinks, /dev/console (the kernel opens it for
 * init's stdin/stdout before /init runs), optional kernel modules, and /init.
 */
import { gzipSync } from 'node:zlib';
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG, writeCpio, type CpioEntry } from './cpio.js';

export type InitramfsEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Uint8Array | string; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'device'; path: string; kind: 'char' | 'block'; major: number; minor: number; mode?: number };

export interface InitramfsOptions {
  gzip?: boolean;
}

const norm = (p: string): string => p.replace(/^\/+/, '').replace(/\/+$/, '');

/** The newc archive (gzip'ed if asked) for `entries`. */
export function buildInitramfs(entries: readonly InitramfsEntry[], opts: InitramfsOptions = {}): Uint8Array {
  const enc = new TextEncoder();
  const byPath = new Map<string, CpioEntry>();
  const addDir = (path: string, mode = 0o755): void => {
    const e = byPath.get(path);
    if (e === undefined) byPath.set(path, { name: path, mode: S_IFDIR | mode });
    else if ((e.mode & S_IFDIR) !== S_IFDIR) throw new Error(`initramfs: '${path}' is both a directory and a file`);
  };
  const addParents = (path: string): void => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) addDir(parts.slice(0, i).join('/'));
  };
  for (const e of entries) {
    const path = norm(e.path);
    if (path === '') throw new Error('initramfs: empty path');
    addParents(path);
    if (e.type === 'dir') {
      const old = byPath.get(path);
      if (old && (old.mode & S_IFDIR) !== S_IFDIR) throw new Error(`initramfs: '${path}' is both a directory and a file`);
      byPath.set(path, { name: path, mode: S_IFDIR | (e.mode ?? 0o755) });
      continue;
    }
    if (byPath.has(path)) throw new Error(`initramfs: '${path}' given twice`);
    if (e.type === 'file') byPath.set(path, { name: path, mode: S_IFREG | (e.mode ?? 0o644), data: typeof e.data === 'string' ? enc.encode(e.data) : e.data });
    else if (e.type === 'symlink') byPath.set(path, { name: path, mode: S_IFLNK | 0o777, data: enc.encode(e.target) });
    else byPath.set(path, { name: path, mode: (e.kind === 'char' ? S_IFCHR : S_IFBLK) | (e.mode ?? 0o600), rdevMajor: e.major, rdevMinor: e.minor });
  }
  // Sorting by path puts every directory before what it contains.
  const sorted = [...byPath.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const cpio = writeCpio(sorted);
  return opts.gzip ? new Uint8Array(gzipSync(cpio, { level: 9 })) : cpio;
}

/** Applets given symlinks in /bin (the init script may add the rest with `busybox --install -s`). */
export const BUSYBOX_APPLETS = [
  'sh', 'ash', 'cat', 'echo', 'ls', 'mount', 'umount', 'mkdir', 'uname', 'dmesg', 'poweroff', 'reboot', 'halt', 'insmod', 'modprobe', 'lsmod',
  'sleep', 'date', 'hwclock', 'grep', 'head', 'tail', 'wc', 'dd', 'hexdump', 'od', 'free', 'ps', 'true', 'false', 'test', '[', 'sync', 'mknod', 'df', 'md5sum',
];

export interface KernelModule {
  /** Path inside the initramfs ("lib/modules/6.1.0/kernel/drivers/virtio/virtio.ko"). */
  path: string;
  data: Uint8Array;
}

export interface BusyboxInitramfsOptions {
  busybox: Uint8Array;
  /** The /init script (a shell script run by /bin/sh). */
  init: string;
  applets?: string[];
  /** Modules to include, in the order /init should load them. */
  modules?: KernelModule[];
  extra?: InitramfsEntry[];
  gzip?: boolean;
}

export function busyboxInitramfs(o: BusyboxInitramfsOptions): Uint8Array {
  const entries: InitramfsEntry[] = [
    { type: 'file', path: 'bin/busybox', data: o.busybox, mode: 0o755 },
    ...(o.applets ?? BUSYBOX_APPLETS).map((a): InitramfsEntry => ({ type: 'symlink', path: `bin/${a}`, target: 'busybox' })),
    { type: 'dir', path: 'sbin' },
    { type: 'dir', path: 'usr/bin' },
    { type: 'dir', path: 'usr/sbin' },
    { type: 'dir', path: 'proc', mode: 0o555 },
    { type: 'dir', path: 'sys', mode: 0o555 },
    { type: 'dir', path: 'dev' },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'dir', path: 'root', mode: 0o700 },
    { type: 'device', path: 'dev/console', kind: 'char', major: 5, minor: 1, mode: 0o600 },
    { type: 'device', path: 'dev/null', kind: 'char', major: 1, minor: 3, mode: 0o666 },
    { type: 'device', path: 'dev/ttyAMA0', kind: 'char', major: 204, minor: 64, mode: 0o600 },
    ...(o.modules ?? []).map((m): InitramfsEntry => ({ type: 'file', path: m.path, data: m.data, mode: 0o644 })),
    ...(o.extra ?? []),
    { type: 'file', path: 'init', data: o.init, mode: 0o755 },
  ];
  return buildInitramfs(entries, { gzip: o.gzip });
}

/** The dependencies a kernel module declares in its .modinfo ("depends=a,b"). */
export function moduleDepends(ko: Uint8Array): string[] {
  const key = new TextEncoder().encode('depends=');
  outer: for (let i = 0; i + key.length <= ko.length; i++) {
    if (i > 0 && ko[i - 1] !== 0) continue;
    for (let j = 0; j < key.length; j++) if (ko[i + j] !== key[j]) continue outer;
    let e = i + key.length;
    while (e < ko.length && ko[e] !== 0) e++;
    const v = new TextDecoder().decode(ko.subarray(i + key.length, e));
    return v === '' ? [] : v.split(',');
  }
  return [];
}

/**
 * Orders modules so each comes after those it depends on (names as in
 * .modinfo, where '-' and '_' are the same). Dependencies not in the set are
 * assumed built in; returns them in `missing`.
 */
export function orderModules<T extends { name: string; data: Uint8Array }>(mods: T[]): { order: T[]; missing: string[] } {
  const key = (n: string): string => n.replace(/-/g, '_').replace(/\.ko$/, '');
  const byName = new Map(mods.map((m) => [key(m.name), m]));
  const order: T[] = [];
  const missing = new Set<string>();
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (m: T): void => {
    const k = key(m.name);
    if (state.get(k) === 'done') return;
    if (state.get(k) === 'visiting') throw new Error(`initramfs: module dependency cycle through ${k}`);
    state.set(k, 'visiting');
    for (const d of moduleDepends(m.data)) {
      const dep = byName.get(key(d));
      if (dep) visit(dep);
      else missing.add(key(d));
    }
    state.set(k, 'done');
    order.push(m);
  };
  for (const m of mods) visit(m);
  return { order, missing: [...missing] };
}
