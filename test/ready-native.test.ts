// The addon's sd_notify socket and notification-fd pipe (issue #15, SPEC §10 `ready:`) with real
// senders: datagrams arrive as events on the loop with the sender's pid, on abstract and path
// addresses; an fd sent along (systemd-notify's barrier) is closed; a child's fd N is a pipe.
// Uses the compiled addon: `node scripts/build.mjs --no-sea` first (npm test does).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { native } from '../src/pid1/native';

/** Runs python3 sending `payloads` as datagrams to `address`, and waits for it (bounded). */
function send(address: string, payloads: string[], extra = ''): Promise<{ pid: number; code: number | null; out: string }> {
  const script = `
import os, socket, sys, array
addr = sys.argv[1]
if addr[0] == '@': addr = '\\0' + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for p in sys.argv[2:]:
    s.sendto(p.encode(), addr)
${extra}
`;
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', script, address, ...payloads], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ pid: child.pid!, code, out });
    });
  });
}

/** Collects datagrams; `next(n)` resolves once n have come (bounded). */
function collector() {
  const got: Array<{ text: string; pid: number; uid: number }> = [];
  let wake: (() => void) | undefined;
  return {
    got,
    onMessage: (text: string, pid: number, uid: number) => {
      got.push({ text, pid, uid });
      wake?.();
    },
    async next(n: number, ms = 10_000): Promise<void> {
      const until = Date.now() + ms;
      while (got.length < n) {
        if (Date.now() > until) throw new Error(`only ${got.length} of ${n} datagrams within ${ms} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 200);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    },
  };
}

describe('native addon: sd_notify sockets and the notification fd', () => {
  it('an abstract address: each datagram arrives whole, in order, with the sender pid and uid', async () => {
    const c = collector();
    const address = `@rm-test/${process.pid}/${Date.now()}`;
    const h = native.notifyOpen(address, c.onMessage);
    try {
      const sender = await send(address, ['READY=1', 'STATUS=up and serving\nWATCHDOG=1']);
      assert.equal(sender.code, 0);
      await c.next(2);
      assert.deepEqual(c.got.map((g) => g.text), ['READY=1', 'STATUS=up and serving\nWATCHDOG=1']);
      for (const g of c.got) {
        assert.equal(g.pid, sender.pid);
        assert.equal(g.uid, process.getuid!());
      }
    } finally {
      h.close();
    }
    // Closed: the address is free again, and a second close is harmless.
    h.close();
    native.notifyOpen(address, () => {}).close();
  });

  it('a path address: the socket file has the mode asked for and is removed by close()', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rm-notify-'));
    const address = path.join(dir, 'n.sock');
    const c = collector();
    const h = native.notifyOpen(address, c.onMessage, 0o666);
    assert.ok(statSync(address).isSocket());
    assert.equal(statSync(address).mode & 0o777, 0o666);
    await send(address, ['READY=1']);
    await c.next(1);
    assert.equal(c.got[0].text, 'READY=1');
    h.close();
    assert.equal(existsSync(address), false);
  });

  it('an fd sent along (systemd-notify\'s BARRIER=1) is closed at once: the sender sees the hang-up', async () => {
    const c = collector();
    const address = `@rm-test-barrier/${process.pid}`;
    const h = native.notifyOpen(address, c.onMessage);
    const fdsBefore = readdirSync('/proc/self/fd').length;
    try {
      // As sd_notify_barrier: send a pipe's write end, then wait (bounded) for EOF on the read end.
      const barrier = `
r, w = os.pipe()
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendmsg([b"BARRIER=1"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [w]))], 0, addr)
os.close(w)
import select
ready, _, _ = select.select([r], [], [], 5)
print("released" if ready and os.read(r, 1) == b"" else "timeout")
`;
      const sender = await send(address, [], barrier);
      assert.equal(sender.out.trim(), 'released');
      await c.next(1);
      assert.equal(c.got[0].text, 'BARRIER=1');
      assert.equal(readdirSync('/proc/self/fd').length, fdsBefore, 'the received fd was closed');
    } finally {
      h.close();
    }
  });

  it('a bad address is refused with an errno-shaped error; a taken one with EADDRINUSE', () => {
    assert.throws(() => native.notifyOpen('', () => {}), TypeError);
    const address = `@rm-test-taken/${process.pid}`;
    const h = native.notifyOpen(address, () => {});
    try {
      assert.throws(() => native.notifyOpen(address, () => {}), (err: Error & { syscall: string; errno: number }) => err.syscall === 'bind' && err.errno === 98);
    } finally {
      h.close();
    }
    assert.throws(() => native.notifyOpen('/nonexistent-dir/x.sock', () => {}), (err: Error & { code: string }) => err.code === 'ENOENT');
  });

  it('spawn with readyFd: the child has a pipe as fd N, and what it writes there arrives', async () => {
    const r = native.spawn({
      file: '/bin/sh',
      // No other fd from 3 up reaches it (the shell's own saved fds start at 10).
      argv: ['sh', '-c', 'for f in 3 4 5 6 8 9; do [ -e /proc/$$/fd/$f ] && echo "leaked fd $f" >&2; done; readlink /proc/$$/fd/7 >&2; echo hello >&7'],
      env: ['PATH=/usr/bin:/bin'],
      pgroup: 'pgroup',
      stdin: 'null',
      stdout: 'null',
      stderr: 'pipe',
      readyFd: 7,
    });
    assert.ok(r.readyFd > 2);
    const read = (fd: number) =>
      new Promise<string>((resolve) => {
        let text = '';
        const s = new Socket({ fd, readable: true, writable: false });
        s.setEncoding('utf8').on('data', (d: string) => (text += d));
        s.on('end', () => resolve(text));
      });
    const [stderr, ready] = await Promise.all([read(r.stderrFd), read(r.readyFd)]);
    assert.equal(ready, 'hello\n');
    assert.match(stderr, /^pipe:\[\d+\]\n$/);
    for (let i = 0; i < 500 && native.reap(r.pid) === null; i++) await new Promise((res) => setTimeout(res, 10));
  });
});
