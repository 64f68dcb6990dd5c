// The listening sockets of programs with `socket:` (SPEC §9). ringmaster holds each one open
// from the program's first start until the program is removed or its socket changes, so a
// restart or a reload that keeps it loses no connection: clients wait in the backlog while no
// process accepts. Every process of the program gets the same socket.
import { closeSync, lstatSync, unlinkSync } from 'node:fs';
import type { ProgramConfig, ProgramSocket } from '../config/types';
import { native } from '../pid1/native';
import { SpawnError } from '../pid1/spawn';

interface Open {
  key: string;
  fd: number;
  socket: ProgramSocket;
}

const keyOf = (s: ProgramSocket) => JSON.stringify([s.url, s.mode, s.owner?.uid, s.owner?.gid, s.backlog ?? 0]);

export class ProgramSockets {
  private readonly open = new Map<string, Open>();

  /** `warn` gets a line for a socket that could not be made (stderr: SPEC §3). */
  constructor(
    private readonly log: (text: string) => void,
    private readonly warn: (text: string) => void,
  ) {}

  /**
   * The program's socket, made now if it is not open yet (or was open with other settings).
   * Throws a SpawnError marked `fatal`: a socket that cannot be made is a configuration or
   * host problem that retries do not fix, so the process goes FATAL at once with the reason.
   */
  fdFor(program: ProgramConfig): number {
    const socket = program.socket!;
    const key = keyOf(socket);
    const current = this.open.get(program.name);
    if (current?.key === key) return current.fd;
    if (current) this.closeOne(program.name);
    let fd: number;
    try {
      fd = native.listen(
        socket.kind === 'unix'
          ? { path: socket.path, backlog: socket.backlog, mode: socket.mode, uid: socket.owner?.uid, gid: socket.owner?.gid }
          : { host: socket.host, port: socket.port, backlog: socket.backlog },
      );
    } catch (err) {
      const e = err as Error & { code?: string; syscall?: string };
      const message = `couldn't create socket ${socket.url}: ${e.syscall ?? 'listen'}: ${e.code ?? e.message}`;
      this.warn(`${program.name}: ${message}`);
      throw Object.assign(new SpawnError(message, e.code ?? 'EINVAL', 'socket'), { fatal: true });
    }
    this.open.set(program.name, { key, fd, socket });
    this.log(`${program.name}: listening on ${socket.url}${socket.kind === 'unix' ? ` (mode ${socket.mode.toString(8).padStart(4, '0')}${socket.owner ? `, owner ${socket.owner.spec}` : ''})` : ''}`);
    return fd;
  }

  /** Close the sockets of programs not in `programs`, or with other socket keys there (a later entry wins). */
  prune(programs: readonly ProgramConfig[]): void {
    const keep = new Map(programs.map((p) => [p.name, p.socket && keyOf(p.socket)]));
    for (const [name, o] of this.open) if (keep.get(name) !== o.key) this.closeOne(name);
  }

  closeAll(): void {
    for (const name of [...this.open.keys()]) this.closeOne(name);
  }

  private closeOne(name: string): void {
    const o = this.open.get(name)!;
    this.open.delete(name);
    closeSync(o.fd);
    // Our socket file goes with the socket; a file someone else put there since stays.
    if (o.socket.kind === 'unix') {
      try {
        if (lstatSync(o.socket.path).isSocket()) unlinkSync(o.socket.path);
      } catch {
        /* already gone */
      }
    }
    this.log(`${name}: closed socket ${o.socket.url}`);
  }
}

/** What launch adds to a program's spawn and environment for its socket. */
export function socketSpawnOptions(program: ProgramConfig, sockets: ProgramSockets): { listenFd: number; listenAt: 0 | 3; env: Record<string, string> } {
  const fd = sockets.fdFor(program);
  const at = program.socket!.fd;
  // LISTEN_PID is added by the native spawn: only the child knows its pid before it execs.
  return { listenFd: fd, listenAt: at, env: at === 3 ? { LISTEN_FDS: '1', LISTEN_FDNAMES: program.name } : {} };
}
