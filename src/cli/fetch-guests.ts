/**
 * `npm run fetch-guests`: fetches the Linux guest the system tests boot, from
 * Debian's arm64 packages through apt, into the git-ignored .cache/guests/:
 *
 *   vmlinuz-<version>     the kernel Image of linux-image-<version>-cloud-arm64
 *   initramfs.cpio.gz     busybox-static + the virtio modules + /init
 *   guests.json           what is there, for the VMM and the tests
 *
 * Steps: add the arm64 architecture to dpkg (once), `apt-get update` only if
 * the arm64 package lists are missing, resolve the versioned kernel package
 * that linux-image-cloud-arm64 depends on, `apt-get download` the .debs
 * (kept in .cache/guests/debs, reused on later runs), extract them with
 * dpkg-deb (or an ar reader and tar where dpkg-deb is missing), and build the
 * initramfs with nestvisor's own cpio writer.
 *
 * Options: --flavour cloud|generic (default cloud), --verify-qemu (boot the
 * result under qemu-system-aarch64 and check that /init ran and powered off).
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { readCpio } from '../vmm/cpio.js';
import { ImageError } from '../vmm/elf.js';
import { busyboxInitramfs, orderModules, type KernelModule } from '../vmm/initramfs.js';
import { parseLinuxImage } from '../vmm/linux-image.js';

class FetchError extends Error {}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cache = join(root, '.cache', 'guests');
const debs = join(cache, 'debs');
const extracted = join(cache, 'extract');

/** The modules /init loads (file names in the kernel's module tree); their dependencies are added. */
export const WANTED_MODULES = ['virtio_mmio.ko', 'virtio_blk.ko', 'virtio_console.ko', 'virtio-rng.ko', 'virtio_net.ko'];

/**
 * The script busybox udhcpc runs with the lease (`udhcpc -s`): $1 is the event, the lease
 * comes in the environment ($interface, $ip, $subnet, $router, $dns).
 */
export const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
  deconfig) ifconfig "$interface" 0.0.0.0 ;;
  bound|renew)
    ifconfig "$interface" "$ip" netmask "$subnet"
    [ -n "$router" ] && route add default gw "$router" dev "$interface"
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done ;;
esac
exit 0
`;

let step = 0;
const STEPS = 7;
const progress = (msg: string): void => console.log(`fetch-guests [${++step}/${STEPS}] ${msg}`);
const info = (msg: string): void => console.log(`fetch-guests:       ${msg}`);

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function run(cmd: string, args: string[], opts: SpawnSyncOptions & { quiet?: boolean } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: opts.quiet === false ? 'inherit' : 'pipe', ...opts });
  if (r.error) throw new FetchError(`${cmd} could not run: ${r.error.message}`);
  if (r.status !== 0) throw new FetchError(`${cmd} ${args.join(' ')} failed (exit ${r.status})${r.stderr ? `:\n${String(r.stderr).trim()}` : ''}`);
  return String(r.stdout ?? '');
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** The versioned package a meta-package depends on, from `apt-cache depends` output. */
export function parseKernelDepends(out: string): string | null {
  for (const line of out.split('\n')) {
    const m = /^\s*\|?Depends:\s*(linux-image-\d[^\s:]*)(?::arm64)?\s*$/.exec(line);
    if (m) return m[1];
  }
  return null;
}

function ensureArm64Lists(): void {
  const native = run('dpkg', ['--print-architecture']).trim();
  if (native !== 'arm64') {
    const foreign = run('dpkg', ['--print-foreign-architectures']).split(/\s+/);
    if (!foreign.includes('arm64')) {
      if (!isRoot()) throw new FetchError('dpkg does not know the arm64 architecture yet; adding it needs root: run `sudo dpkg --add-architecture arm64 && sudo apt-get update`, then this again');
      info('dpkg --add-architecture arm64');
      run('dpkg', ['--add-architecture', 'arm64']);
    }
  }
  const lists = '/var/lib/apt/lists';
  const haveLists = existsSync(lists) && readdirSync(lists).some((f) => /_binary-arm64_Packages/.test(f));
  if (!haveLists) {
    if (!isRoot()) throw new FetchError('the apt package lists for arm64 are missing; `apt-get update` needs root: run `sudo apt-get update`, then this again');
    info('apt-get update (arm64 package lists are missing)');
    run('apt-get', ['update', '-q'], { quiet: false });
  }
}

/** Downloads `pkg` (an apt name with :arm64) into debs/ unless a .deb of it is already there; returns its path. */
function download(pkg: string): string {
  const base = pkg.replace(/:arm64$/, '');
  const version = run('apt-cache', ['policy', pkg]).match(/Candidate:\s*(\S+)/)?.[1];
  if (!version || version === '(none)') throw new FetchError(`apt has no candidate for ${pkg}: is the arm64 architecture in your sources (apt-get update)?`);
  // apt-get download names files package_version_arch.deb with the epoch's ':' as %3a.
  const file = `${base}_${version.replace(/:/g, '%3a')}_arm64.deb`;
  if (existsSync(join(debs, file))) {
    info(`${pkg} ${version}: cached (${file})`);
    return join(debs, file);
  }
  info(`apt-get download ${pkg} (${version})`);
  const sandbox = isRoot() ? ['-o', 'APT::Sandbox::User=root'] : [];
  run('apt-get', [...sandbox, 'download', `${pkg}=${version}`], { cwd: debs, quiet: false });
  if (!existsSync(join(debs, file))) throw new FetchError(`apt-get download ${pkg} did not leave ${file} in ${debs}`);
  return join(debs, file);
}

/** The members of an ar archive (the .deb container). */
export function readAr(b: Uint8Array): Array<{ name: string; data: Uint8Array }> {
  const dec = new TextDecoder('latin1');
  if (dec.decode(b.subarray(0, 8)) !== '!<arch>\n') throw new FetchError('not an ar archive (.deb files start with "!<arch>")');
  const out: Array<{ name: string; data: Uint8Array }> = [];
  let p = 8;
  while (p < b.length) {
    if (p + 60 > b.length) throw new FetchError(`ar member header at offset ${p} runs past the end of the archive: truncated .deb?`);
    const h = dec.decode(b.subarray(p, p + 60));
    if (h.slice(58, 60) !== '`\n') throw new FetchError(`bad ar member header at offset ${p}`);
    const name = h.slice(0, 16).trim().replace(/\/$/, '');
    const size = parseInt(h.slice(48, 58).trim(), 10);
    if (!Number.isFinite(size) || p + 60 + size > b.length) throw new FetchError(`ar member '${name}' runs past the end of the archive: truncated .deb?`);
    out.push({ name, data: b.subarray(p + 60, p + 60 + size) });
    p += 60 + size + (size & 1);
  }
  return out;
}

/** Extracts a .deb's files into `dir` (once). */
function extract(deb: string, dir: string): void {
  const marker = join(dir, '.extracted');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === deb) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (have('dpkg-deb')) {
    run('dpkg-deb', ['-x', deb, dir]);
  } else {
    if (!have('tar')) throw new FetchError('neither dpkg-deb nor tar is available to unpack .deb files');
    const data = readAr(new Uint8Array(readFileSync(deb))).find((m) => m.name.startsWith('data.tar'));
    if (!data) throw new FetchError(`${deb}: no data.tar member`);
    const tmp = join(dir, data.name);
    writeFileSync(tmp, data.data);
    run('tar', ['-xf', tmp, '-C', dir]);
    rmSync(tmp);
  }
  writeFileSync(marker, deb);
}

function findFiles(dir: string, pred: (name: string) => boolean, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) findFiles(p, pred, out);
    else if (pred(name)) out.push(p);
  }
  return out;
}

/** The /init of the test initramfs. */
export function initScript(modules: string[]): string {
  return `#!/bin/sh
# nestvisor test userland (built by npm run fetch-guests)
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
/bin/busybox --install -s 2>/dev/null
echo "nestvisor-init: userspace is up"
uname -a
echo "nestvisor-init: /proc/cpuinfo"
cat /proc/cpuinfo
for m in ${modules.join(' ')}; do
  insmod "$m" || echo "nestvisor-init: insmod $m failed"
done
echo "nestvisor-init: virtio devices:"
ls /sys/bus/virtio/devices 2>/dev/null
cat /proc/interrupts
date
free
if [ -e /sys/class/net/eth0 ]; then
  echo "nestvisor-init: eth0: asking for an address (DHCP)"
  ip link set lo up
  ip link set eth0 up
  udhcpc -i eth0 -n -q -t 3 -T 2 -s /etc/udhcpc.script && ip -4 addr show eth0 | grep inet
fi
if grep -q nestvisor.shell /proc/cmdline; then
  echo "nestvisor-init: nestvisor.shell given: starting a shell (exit to power off)"
  sh
fi
echo "nestvisor-init: powering off"
poweroff -f
`;
}

function main(argv: string[]): void {
  let flavour = 'cloud';
  let verifyQemu = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--flavour' && argv[i + 1]) flavour = argv[++i];
    else if (argv[i] === '--verify-qemu') verifyQemu = true;
    else throw new FetchError(`unknown argument '${argv[i]}' (options: --flavour cloud|generic, --verify-qemu)`);
  }
  if (flavour !== 'cloud' && flavour !== 'generic') throw new FetchError(`--flavour ${flavour}: use cloud or generic`);

  progress('checking for Debian package tools');
  const missing = ['apt-get', 'apt-cache', 'dpkg'].filter((c) => !have(c));
  if (missing.length) {
    throw new FetchError(`${missing.join(', ')} not found: fetch-guests gets Debian's arm64 kernel and busybox with apt, so it needs a Debian or Ubuntu host. Elsewhere, put an arm64 kernel Image and an initramfs in ${relative(root, cache)}/ yourself`);
  }
  mkdirSync(debs, { recursive: true });
  ensureArm64Lists();

  progress('resolving the kernel package');
  const meta = flavour === 'cloud' ? 'linux-image-cloud-arm64:arm64' : 'linux-image-arm64:arm64';
  const kpkg = parseKernelDepends(run('apt-cache', ['depends', meta]));
  if (!kpkg) throw new FetchError(`could not find the versioned kernel package that ${meta} depends on (apt-cache depends ${meta})`);
  info(`${meta} -> ${kpkg}`);

  progress('downloading packages');
  const kdeb = download(`${kpkg}:arm64`);
  const bdeb = download('busybox-static:arm64');

  progress('extracting');
  const kdir = join(extracted, kpkg);
  const bdir = join(extracted, 'busybox-static');
  extract(kdeb, kdir);
  extract(bdeb, bdir);

  progress('checking the kernel Image');
  const bootFiles = readdirSync(join(kdir, 'boot')).filter((f) => f.startsWith('vmlinuz-'));
  if (bootFiles.length !== 1) throw new FetchError(`${kpkg}: expected one /boot/vmlinuz-*, found ${bootFiles.length}`);
  const kver = bootFiles[0].slice('vmlinuz-'.length);
  const kfile = join(kdir, 'boot', bootFiles[0]);
  const img = parseLinuxImage(new Uint8Array(readFileSync(kfile)), bootFiles[0]);
  info(`${bootFiles[0]}: ${img.compression === 'none' ? 'uncompressed Image' : `${img.compression}-compressed`}, text_offset 0x${img.header.textOffset.toString(16)}, image_size ${(img.header.imageSize / 2 ** 20).toFixed(1)} MiB, ${img.header.pageSize / 1024}K pages${img.header.efiStub ? ', EFI stub' : ''}`);
  for (const f of readdirSync(cache)) if (f.startsWith('vmlinuz-') && f !== bootFiles[0]) rmSync(join(cache, f));
  if (img.compression === 'none') copyFileSync(kfile, join(cache, bootFiles[0]));
  else writeFileSync(join(cache, bootFiles[0]), img.bytes);

  progress('collecting modules');
  const modRoot = join(kdir, 'lib', 'modules', kver);
  const all = new Map(findFiles(join(modRoot, 'kernel'), (n) => n.endsWith('.ko')).map((p) => [p.slice(p.lastIndexOf('/') + 1).replace(/-/g, '_'), p]));
  const builtin = new Set(existsSync(join(modRoot, 'modules.builtin'))
    ? readFileSync(join(modRoot, 'modules.builtin'), 'utf8').split('\n').filter(Boolean).map((l) => l.slice(l.lastIndexOf('/') + 1).replace(/-/g, '_'))
    : []);
  const chosen = new Map<string, { name: string; data: Uint8Array; path: string }>();
  const want = (file: string): void => {
    const key = file.replace(/-/g, '_');
    if (chosen.has(key) || builtin.has(key)) return;
    const p = all.get(key);
    if (p === undefined) throw new FetchError(`module ${file} is neither in ${kpkg} nor built in`);
    const data = new Uint8Array(readFileSync(p));
    chosen.set(key, { name: file, data, path: relative(kdir, p) });
    const { missing: deps } = orderModules([{ name: file, data }]);
    for (const d of deps) want(`${d}.ko`);
  };
  for (const m of WANTED_MODULES) want(m);
  const { order } = orderModules([...chosen.values()]);
  info(`modules (load order): ${order.map((m) => m.name.replace(/\.ko$/, '')).join(', ')}`);
  const modules: KernelModule[] = order.map((m) => ({ path: m.path, data: m.data }));

  progress('building the initramfs');
  const busybox = new Uint8Array(readFileSync(join(bdir, 'bin', 'busybox')));
  const initrd = busyboxInitramfs({
    busybox, init: initScript(modules.map((m) => `/${m.path}`)), modules, gzip: true,
    extra: [{ type: 'dir', path: 'etc' }, { type: 'file', path: 'etc/udhcpc.script', data: new TextEncoder().encode(UDHCPC_SCRIPT), mode: 0o755 }],
  });
  const entries = readCpio(new Uint8Array(gunzipSync(initrd)), 'initramfs');
  if (!entries.some((e) => e.name === 'init') || !entries.some((e) => e.name === 'bin/busybox')) throw new FetchError('the initramfs lacks /init or busybox');
  writeFileSync(join(cache, 'initramfs.cpio.gz'), initrd);
  const manifest = {
    kernel: bootFiles[0],
    kernelVersion: kver,
    kernelPackage: kpkg,
    initrd: 'initramfs.cpio.gz',
    modules: order.map((m) => m.name),
    bootargs: 'console=ttyAMA0 earlycon=pl011,0x09000000 panic=-1',
  };
  writeFileSync(join(cache, 'guests.json'), JSON.stringify(manifest, null, 2) + '\n');
  info(`${relative(root, join(cache, bootFiles[0]))} (${(img.bytes.length / 2 ** 20).toFixed(1)} MiB)`);
  info(`${relative(root, join(cache, 'initramfs.cpio.gz'))} (${(initrd.length / 1024).toFixed(0)} KiB, ${entries.length} entries)`);
  info(`${relative(root, join(cache, 'guests.json'))}`);

  if (verifyQemu) {
    if (!have('qemu-system-aarch64')) throw new FetchError('--verify-qemu: qemu-system-aarch64 is not installed');
    console.log('fetch-guests: booting it under qemu-system-aarch64 to check (up to 5 minutes) ...');
    const r = spawnSync('qemu-system-aarch64', ['-M', 'virt,gic-version=3', '-cpu', 'max', '-m', '256M', '-nographic', '-no-reboot',
      '-kernel', join(cache, bootFiles[0]), '-initrd', join(cache, 'initramfs.cpio.gz'), '-append', manifest.bootargs], { encoding: 'utf8', timeout: 300_000 });
    const out = String(r.stdout ?? '');
    const ok = out.includes('nestvisor-init: userspace is up') && out.includes('nestvisor-init: powering off') && r.status === 0;
    console.log(out.split('\n').filter((l) => /nestvisor-init|Linux version|virtio|reboot: Power down/.test(l)).map((l) => `  | ${l}`).join('\n'));
    if (!ok) throw new FetchError(`the guest did not boot to /init and power off under QEMU (exit ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
    console.log('fetch-guests: QEMU booted the kernel and initramfs to /init and powered off');
  }
  console.log(`fetch-guests: done; cached in ${relative(root, cache)}/`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    if (e instanceof FetchError || e instanceof ImageError) {
      console.error(`fetch-guests: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
}
