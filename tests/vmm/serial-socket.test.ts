/**
 * The PL011 on a socket (`-serial unix:...` / `-serial tcp:...`, src/vmm/serial-socket.ts):
 * client bytes reach the PL011 receive path, guest output reaches the client and is dropped
 * while none is connected, a disconnect leaves the server serving the next client, bind
 * errors are clear; end to end, the CLI waits for its first client and the bundled guest's
 * greeting arrives over the socket. Loopback and unix sockets only; every wait is bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VirtMachine } from '../../src/vmm/machine.js';
import { SerialSocket, SerialSocketError } from '../../src/vmm/serial-socket.js';

const hello = fileURLToPath(new URL('../../../tests/guests/hello/hello.elf', import.meta.url));
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const GREETING = /Hello from a bare-metal AArch64 guest/;

/** Resolves when `cond()` holds, polling; rejects after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function connect(opts: { path: string } | { host: string; port: number }): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection(opts);
    s.once('error', reject);
    s.once('connect', () => resolve(s));
  });
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'nestvisor-serial-'));
}

test('serial socket backend: client bytes reach the PL011 receive path; guest output reaches the client, and is dropped while none is connected', { timeout: 20_000 }, async () => {
  const dir = tmp();
  const path = join(dir, 's');
  const m = new VirtMachine({ memBytes: 64 << 20, kernel: readFileSync(hello), onSerial: (b) => sock.write(b) });
  let listening = '';
  const sock = await SerialSocket.open({ address: { path }, server: true, wait: false, nodelay: false }, (b) => m.input(b), (where) => (listening = where));
  try {
    assert.equal(listening, `unix:${path}`);
    assert.equal(sock.connected, false);
    sock.write(new Uint8Array([0x41])); // no client: dropped
    const c1 = await connect({ path });
    await until(() => sock.connected, 5000, 'the server to accept');
    let got = '';
    c1.on('data', (d: Buffer) => (got += d.toString('latin1')));
    // Input: more than the 32-byte FIFO, so the backlog holds the rest.
    const typed = 'root\n' + 'x'.repeat(60);
    c1.write(typed);
    await until(() => m.uart.pendingInput === typed.length, 5000, 'input to reach the PL011');
    let read = '';
    for (let i = 0; i < typed.length; i++) read += String.fromCharCode(m.uart.read(0x000, 4, { value: 0 }));
    assert.equal(read, typed, 'the guest reads every byte, in order, from the data register');
    assert.equal(m.uart.pendingInput, 0);
    // Output: the guest's transmit path goes to the connected client.
    m.uart.write(0x000, 4, 0x4f, 0);
    m.uart.write(0x000, 4, 0x4b, 0);
    await until(() => got === 'OK', 5000, 'guest output at the client');
    // A disconnect does not end anything; output meanwhile is dropped; the next client is served.
    c1.destroy();
    await until(() => !sock.connected, 5000, 'the disconnect');
    m.uart.write(0x000, 4, 0x5a, 0);
    const c2 = await connect({ path });
    await until(() => sock.connected, 5000, 'the second client');
    let got2 = '';
    c2.on('data', (d: Buffer) => (got2 += d.toString('latin1')));
    c2.write('y');
    await until(() => m.uart.pendingInput === 1, 5000, 'input from the second client');
    m.uart.write(0x000, 4, 0x21, 0);
    await until(() => got2.length > 0, 5000, 'output at the second client');
    assert.equal(got2, '!', 'what the guest wrote with no client connected was dropped');
    c2.destroy();
  } finally {
    await sock.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(existsSync(path), false, 'the socket file is removed on close');
});

test('serial socket backend: bind errors are one clear SerialSocketError', { timeout: 20_000 }, async () => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  const port = (busy.address() as AddressInfo).port;
  const dir = tmp();
  try {
    await assert.rejects(SerialSocket.open({ address: { host: '127.0.0.1', port }, server: true, wait: false, nodelay: false }, () => {}), (e: unknown) => e instanceof SerialSocketError && e.message === `cannot listen on tcp:127.0.0.1:${port}: address already in use`);
    const bad = join(dir, 'missing', 's');
    await assert.rejects(SerialSocket.open({ address: { path: bad }, server: true, wait: false, nodelay: false }, () => {}), (e: unknown) => e instanceof SerialSocketError && e.message.startsWith(`cannot listen on unix:${bad}: `));
    await assert.rejects(SerialSocket.open({ address: { path: join(dir, 'nobody') }, server: false, wait: false, nodelay: false }, () => {}), (e: unknown) => e instanceof SerialSocketError && /^cannot connect to unix:.*nobody: /.test(e.message));
  } finally {
    await new Promise<void>((r) => busy.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs the CLI; resolves with the child once its stderr matches `ready`. */
function startCli(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray; stderr: () => string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [cli, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the CLI did not print ${ready} within 15 s; stderr: ${err}`));
    }, 15_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const match = ready.exec(err);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match, stderr: () => err, exit });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the CLI exited (${code}) before printing ${ready}; stderr: ${err}`));
    });
  });
}

/** Reads from the socket until it closes; bounded. */
function readAll(s: Socket, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`socket still open after ${ms} ms; read: ${JSON.stringify(out)}`));
    }, ms);
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

test('CLI: -serial unix:PATH,server=on,wait=on waits for a client, then the guest greets it over the socket', { timeout: 30_000 }, async () => {
  const dir = tmp();
  const path = join(dir, 's');
  let child: ChildProcess | undefined;
  try {
    const run = await startCli(['-kernel', hello, '-serial', `unix:${path},server=on,wait=on`], /waiting for connection on: (\S+)\n/);
    child = run.child;
    assert.equal(run.match[1], `unix:${path},server=on`);
    const s = await connect({ path });
    const out = await readAll(s, 15_000);
    assert.match(out, GREETING);
    assert.match(out, /powering off/);
    assert.equal(await run.exit, 0, run.stderr());
    assert.equal(existsSync(path), false, 'the socket file is removed when the run ends');
  } finally {
    child?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI: -serial tcp:127.0.0.1:0,server=on reports the bound port and serves the guest there', { timeout: 30_000 }, async () => {
  let child: ChildProcess | undefined;
  try {
    const run = await startCli(['-kernel', hello, '-serial', 'tcp:127.0.0.1:0,server=on'], /waiting for connection on: tcp:127\.0\.0\.1:(\d+),server=on\n/);
    child = run.child;
    const s = await connect({ host: '127.0.0.1', port: Number(run.match[1]) });
    assert.match(await readAll(s, 15_000), GREETING);
    assert.equal(await run.exit, 0, run.stderr());
  } finally {
    child?.kill();
  }
});

test('CLI: a port in use or a bad socket path is one clear message and exit code 2', { timeout: 30_000 }, async () => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  const port = (busy.address() as AddressInfo).port;
  const dir = tmp();
  try {
    const inUse = spawnSync(process.execPath, [cli, 'run', '-kernel', hello, '-serial', `tcp:127.0.0.1:${port},server=on`], { encoding: 'utf8', timeout: 15_000 });
    assert.equal(inUse.status, 2, inUse.stderr);
    assert.equal(inUse.stderr, `nestvisor: cannot listen on tcp:127.0.0.1:${port}: address already in use\n`);
    const badPath = join(dir, 'missing', 's');
    const bad = spawnSync(process.execPath, [cli, 'run', '-kernel', hello, '-serial', `unix:${badPath},server=on`], { encoding: 'utf8', timeout: 15_000 });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, new RegExp(`^nestvisor: cannot listen on unix:${badPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: [^\n]+\n$`));
  } finally {
    await new Promise<void>((r) => busy.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});
