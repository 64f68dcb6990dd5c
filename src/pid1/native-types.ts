// The contract of the native addon (native/ringmaster.c), loaded by src/pid1/native.ts.
// Node has no fork/exec with process-group, credential and umask control, no waitpid on pids it
// did not spawn, and no prctl; this small addon provides exactly those.

export type StdioMode = 'pipe' | 'null' | 'inherit';

export interface NativeSpawnOptions {
  /** Absolute path of the executable (PATH lookup is done in JS beforehand). */
  file: string;
  argv: string[];
  /** 'KEY=VALUE' strings; the child's whole environment. */
  env: string[];
  cwd?: string;
  uid?: number;
  gid?: number;
  /** Supplementary groups; set (with setgroups) whenever uid or gid is given. */
  groups?: number[];
  umask?: number;
  /** 'pgroup': setpgid(0,0) (own process group, same session). 'session': setsid(). 'none': inherit. */
  pgroup: 'pgroup' | 'session' | 'none';
  /** Make the child's new process group the foreground group of the terminal on fd 0, if any. */
  foreground?: boolean;
  stdin: StdioMode;
  stdout: StdioMode;
  /** 'stdout' sends fd 2 to the same pipe/fd as fd 1 (redirect_stderr). */
  stderr: StdioMode | 'stdout';
  /** `ready: fd:N` (s6's notification-fd): a pipe whose write end is fd N (>= 3) in the child. */
  readyFd?: number;
  /** A listening socket to hand the child (a program's `socket:`), not closed by the spawn. */
  listenFd?: number;
  /** The fd it becomes: 3 (and the env gets LISTEN_PID=<the child's own pid>) or 0 (fcgi). */
  listenAt?: 0 | 3;
}

/** A listening socket to make: unix (path, mode, owner) or TCP (host, port). */
export type NativeListenOptions =
  | { path: string; backlog?: number; mode: number; uid?: number; gid?: number }
  | { host: string; port: number; backlog?: number };

export interface NativeSpawnResult {
  pid: number;
  /** Parent's ends of the pipes (O_CLOEXEC, non-blocking), or -1. */
  stdinFd: number;
  stdoutFd: number;
  stderrFd: number;
  /** The read end of the `readyFd` pipe (O_CLOEXEC, non-blocking), or -1. */
  readyFd: number;
}

/** A bound sd_notify socket (notifyOpen); its datagrams come to the callback until close(). */
export interface NotifyHandle {
  fd: number;
  /** Stops reading, closes the socket and unlinks a path socket. Idempotent. */
  close(): void;
}

/** One datagram: its text (cut at 4096 bytes), the sender's pid (0 if not visible to us) and uid. */
export type NotifyCallback = (text: string, pid: number, uid: number) => void;

/** Thrown by spawn when the child could not be set up or exec'd; nothing is left running. */
export interface NativeSpawnError extends Error {
  errno: number;
  /** e.g. 'ENOENT' */
  code: string;
  /** The step that failed in the child: 'chdir' | 'setgroups' | 'setgid' | 'setuid' | 'exec' | 'fork' | 'pipe' … */
  syscall: string;
}

/** How a child ended, decoded from the wait status. */
export interface WaitResult {
  pid: number;
  /** Exit code when it exited, else null. */
  code: number | null;
  /** Signal number when killed by a signal, else null. */
  signal: number | null;
}

export interface NativeAddon {
  spawn(options: NativeSpawnOptions): NativeSpawnResult;
  /** waitpid(pid, WNOHANG): the result if that child has ended (and is now reaped), else null. */
  reap(pid: number): WaitResult | null;
  /** waitid(P_ALL, WEXITED|WNOHANG|WNOWAIT): pid of some ended child without reaping it, or 0. */
  peek(): number;
  /** prctl(PR_SET_CHILD_SUBREAPER, 1); returns true on success. */
  setSubreaper(): boolean;
  /** socket, bind, (chmod, chown,) listen: the fd, O_CLOEXEC. Throws a NativeSpawnError-shaped error. */
  listen(options: NativeListenOptions): number;
  /**
   * A unix datagram socket with SO_PASSCRED bound to `address` ('@name': abstract; else a path,
   * chmod'ed to `mode`, default 0600), read on the event loop. Throws an errno-shaped error.
   */
  notifyOpen(address: string, onMessage: NotifyCallback, mode?: number): NotifyHandle;
  /**
   * malloc_trim(0), then MADV_DONTNEED on the executable's read-only mappings that hold no
   * copy-on-write page; returns the bytes advised away, or -1 if /proc/self/smaps is unreadable.
   */
  trimMemory(): number;
  /** V8's LowMemoryNotification: full GCs that also shrink the heap (native/v8-heap.cc). */
  reduceHeap(): void;
  /** The output's hot path (src/output/line-splitter.ts's NativeLines). */
  countLines(chunk: Buffer, from: number, to: number, maxLine: number): number;
  prefixLines(chunk: Buffer, from: number, to: number, prefix: Buffer, out: Buffer, at: number): number;
}
