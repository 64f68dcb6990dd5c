// `ringmaster [options] -- CMD ARGS…`: single-command mode, the tini / dumb-init replacement
// (SPEC §1, §4, §5). No config, no output prefix: the command gets ringmaster's stdin, stdout,
// stderr and terminal, every catchable signal goes on to its process group, orphans are reaped,
// and ringmaster exits with the command's own status once the command's whole group is gone.
//
// The main loop, top to bottom (as in tini): set the signals up, spawn the command, then on every
// signal forward it (rewritten), on TERM/INT/QUIT start the grace period, on the command's exit
// stop what is left of its group, and leave with its status when nothing of it is left.
import { parseArgs } from 'node:util';
import { MAX_DURATION_MS, parseDuration } from '../config/units';
import { emergencyStop } from '../pid1/emergency';
import { installFailsafe } from '../pid1/failsafe';
import { childPids, pgidOf } from '../pid1/proc';
import { Reaper } from '../pid1/reaper';
import { listenToEverySignal, rewriteSignal, SHUTDOWN_SIGNALS, TTY_STOP_SIGNALS, type SignalRewrite } from '../pid1/signals';
import { spawnProcess } from '../pid1/spawn';
import { parseSignal, trySignal } from '../signal-util';
import { shellCode, spawnFailureCode, type ExitStatus } from '../exit-status';

export const SINGLE_HELP = `Usage: ringmaster [options] -- CMD [ARGS…]

Run one command as a container init (like tini or dumb-init): reap every zombie, forward every
catchable signal to the command's process group, and exit with the command's own status
(N, 128+N when killed by signal N, 126 when it cannot be executed, 127 when it is not found).
The command gets ringmaster's stdin, stdout, stderr and terminal unchanged.

Options:
  --grace DURATION     after a forwarded TERM/INT/QUIT, or after the command exited while
                       others of its process group still run: how long until SIGKILL
                       (default 10s; env RINGMASTER_GRACE)
  -r, --rewrite FROM:TO
                       send TO instead of FROM (e.g. TERM:QUIT; TO may be 0 to drop FROM);
                       repeatable (env RINGMASTER_SIGNAL_REWRITE="TERM:QUIT,WINCH:0")
  -h, --help           this help
`;

export const DEFAULT_GRACE_MS = 10_000;
/** How often the group is re-checked while waiting for members that are not our children. */
const GROUP_POLL_MS = 20;
/** After SIGKILL, how long to wait for the kernel to tear the group down before leaving anyway. */
const AFTER_KILL_WAIT_MS = 2_000;

export interface SingleOptions {
  graceMs: number;
  rewrite: SignalRewrite;
}

/** `TERM:QUIT` → [SIGTERM, SIGQUIT]; `WINCH:0` → [SIGWINCH, null] (dropped). */
function parseRewrite(text: string, into: SignalRewrite): string | null {
  const m = /^([^:]+):([^:]+)$/.exec(text.trim());
  const from = m && parseSignal(m[1]);
  const to = m && (m[2].trim() === '0' ? null : parseSignal(m[2]));
  if (!m || !from || to === undefined || (to === null && m[2].trim() !== '0')) {
    return `invalid signal rewrite "${text}": expected FROM:TO, e.g. TERM:QUIT or WINCH:0`;
  }
  into[from] = to;
  return null;
}

/** Options from the command line, falling back to the environment. Returns an error text on bad input. */
export function parseSingleOptions(args: string[], env: NodeJS.ProcessEnv): SingleOptions | { help: true } | string {
  let values;
  try {
    values = parseArgs({
      args,
      allowPositionals: false,
      strict: true,
      options: {
        grace: { type: 'string' },
        rewrite: { type: 'string', short: 'r', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    return (err as Error).message;
  }
  if (values.help) return { help: true };
  const graceText = values.grace ?? env.RINGMASTER_GRACE;
  const graceMs = graceText === undefined ? DEFAULT_GRACE_MS : parseDuration(graceText);
  if (graceMs === null) return `invalid grace period "${graceText}": expected a duration like 10s, 500ms or 1m30s`;
  // A timer holds at most 2^31-1 ms: a longer grace would SIGKILL 1 ms after a forwarded TERM.
  if (graceMs > MAX_DURATION_MS) return `grace period "${graceText}" is too long: at most ${MAX_DURATION_MS}ms (24 days 20h31m23.647s)`;
  const rewrite: SignalRewrite = {};
  const rewrites = values.rewrite ?? (env.RINGMASTER_SIGNAL_REWRITE ? env.RINGMASTER_SIGNAL_REWRITE.split(',').filter((s) => s.trim()) : []);
  for (const r of rewrites) {
    const err = parseRewrite(r, rewrite);
    if (err) return err;
  }
  return { graceMs, rewrite };
}

function say(text: string): void {
  process.stderr.write(`ringmaster: ${text}\n`);
}


/** The status and message for a command that could not be started, as a shell gives them. */
function spawnFailure(cmd: string, err: { code?: string; message?: string }): { code: number; message: string } {
  const code = spawnFailureCode(err.code ?? '');
  switch (err.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return { code, message: `${cmd}: command not found` };
    case 'EACCES':
    case 'EPERM':
      return { code, message: `${cmd}: permission denied (not executable)` };
    case 'EISDIR':
      return { code, message: `${cmd}: is a directory` };
    case 'ENOEXEC':
      return { code, message: `${cmd}: cannot execute (exec format error)` };
    default:
      return { code, message: `${cmd}: cannot execute: ${err.message ?? err.code ?? 'unknown error'}` };
  }
}

/** One command, its process group and what is left of it after it exited. */
class SingleCommand {
  private pgid = 0;
  private status: ExitStatus | null = null;
  private graceTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private killed = false;
  private killedAt = 0;
  private shutdownForwarded = false;
  private resolveDone!: (code: number) => void;
  readonly done = new Promise<number>((resolve) => (this.resolveDone = resolve));

  constructor(
    private readonly argv: string[],
    private readonly opts: SingleOptions,
  ) {}

  /** Start the command; returns the exit code at once if it could not be started. */
  start(cwd: string): number | null {
    let child;
    try {
      child = spawnProcess({
        argv: this.argv,
        cwd,
        env: process.env as Record<string, string>,
        pgroup: 'pgroup',
        foreground: true,
        stdin: 'inherit',
        stdout: 'inherit',
        stderr: 'inherit',
      });
    } catch (err) {
      const failure = spawnFailure(this.argv[0], err as { code?: string; message?: string });
      say(failure.message);
      return failure.code;
    }
    this.pgid = child.pid;
    child.exited.then((status) => this.onCommandExit(status));
    return null;
  }

  /** Every catchable signal: forward it (rewritten) to the group; TERM/INT/QUIT start the grace. */
  onSignal(sig: NodeJS.Signals): void {
    if (TTY_STOP_SIGNALS.includes(sig)) return; // ignored, like tini: they would only stop ringmaster
    const sent = rewriteSignal(this.opts.rewrite, sig);
    if (!sent || this.pgid === 0) return;
    trySignal(-this.pgid, sent);
    if (this.status) for (const pid of this.strays()) trySignal(pid, sent);
    if (SHUTDOWN_SIGNALS.includes(sig)) {
      this.shutdownForwarded = true;
      this.startGrace(`after ${sig}`);
    }
  }

  /**
   * Adopted orphans that left the command's group (daemons that called setsid, say): once the
   * command exited they are signalled one by one. Members of the group are not, or they would
   * get the signal twice.
   */
  private strays(): number[] {
    return (childPids({ zombies: false }) ?? []).filter((pid) => pgidOf(pid) !== this.pgid);
  }

  /** SPEC §4: if ringmaster itself fails, the command's group goes down with it (synchronous). */
  emergencyStop(): void {
    if (this.pgid !== 0) emergencyStop(() => [-this.pgid, ...this.strays()]);
  }

  /** A reaped orphan may have been the last of the group. */
  onOrphanReaped(): void {
    if (this.status) this.finishIfGone();
  }

  private onCommandExit(status: ExitStatus): void {
    this.status = status;
    if (this.finishIfGone()) return;
    // Others of its group (or adopted orphans) still run: stop them as the command's own stop
    // would have (dumb-init does the same, but then exits at once; we wait for their cleanup).
    if (!this.shutdownForwarded) {
      const sent = rewriteSignal(this.opts.rewrite, 'SIGTERM');
      if (sent) {
        trySignal(-this.pgid, sent);
        for (const pid of this.strays()) trySignal(pid, sent);
      }
      this.startGrace('after it exited');
    }
    this.pollTimer = setInterval(() => this.finishIfGone(), GROUP_POLL_MS);
  }

  private startGrace(why: string): void {
    if (this.graceTimer || this.killed) return;
    this.graceTimer = setTimeout(() => this.escalate(why), this.opts.graceMs);
  }

  private escalate(why: string): void {
    this.killed = true;
    this.killedAt = Date.now();
    const grace = `${this.opts.graceMs / 1000}s`;
    say(this.status
      ? `processes of ${this.argv[0]}'s group still running ${grace} ${why}: sending SIGKILL to them (group ${this.pgid})`
      : `${this.argv[0]} still running ${grace} ${why}: sending SIGKILL to its process group (${this.pgid})`);
    trySignal(-this.pgid, 'SIGKILL');
    for (const pid of this.strays()) trySignal(pid, 'SIGKILL');
  }

  /** Leave once the command exited and nothing of its group nor any adopted orphan is left. */
  private finishIfGone(): boolean {
    const status = this.status;
    if (!status) return false;
    const gone = !trySignal(-this.pgid, 0) && (childPids({ zombies: false }) ?? []).length === 0;
    const givenUp = this.killed && Date.now() - this.killedAt > AFTER_KILL_WAIT_MS;
    if (!gone && !givenUp) return false;
    if (!gone) say(`processes of group ${this.pgid} did not go away after SIGKILL; exiting anyway`);
    clearTimeout(this.graceTimer);
    clearInterval(this.pollTimer);
    this.resolveDone(shellCode(status) & 0xff);
    return true;
  }
}

/** Run `command` under `optionArgs` (everything before `--`); resolves with the exit code. */
export async function single(optionArgs: string[], command: string[], releaseEarlySignals: () => NodeJS.Signals[] = () => []): Promise<number> {
  const opts = parseSingleOptions(optionArgs, process.env);
  if (typeof opts === 'string') {
    process.stderr.write(`ringmaster: ${opts}\n\n${SINGLE_HELP}`);
    return 2;
  }
  if ('help' in opts) {
    process.stdout.write(SINGLE_HELP);
    return 0;
  }
  if (command.length === 0) {
    process.stderr.write(`ringmaster: no command after "--"\n\n${SINGLE_HELP}`);
    return 2;
  }

  const cmd = new SingleCommand(command, opts);
  // Listeners first: from here on no signal is dropped (as PID 1) or opens the inspector (USR1).
  const removeSignals = listenToEverySignal((sig) => cmd.onSignal(sig));
  const reaper = new Reaper();
  reaper.onOrphanReaped(() => cmd.onOrphanReaped());
  reaper.start();
  const removeFailsafe = installFailsafe(() => cmd.emergencyStop(), say);

  // Like dumb-init: ringmaster's own cwd must not pin a mount; the command keeps the caller's.
  // Moved before the spawn (the child gets the old one explicitly): with vfork the child may
  // already run, and look at /proc/1/cwd, before the parent resumes.
  const callerCwd = process.cwd();
  process.chdir('/');
  const failed = cmd.start(callerCwd);
  // A signal that came before the listeners above goes to the command now that it runs.
  for (const sig of releaseEarlySignals()) if (failed === null) cmd.onSignal(sig);
  // With stdio inherited nothing else holds the event loop: signal listeners and the reaper's
  // sweep are unref'd, and the exit comes by SIGCHLD. This idle timer keeps ringmaster waiting.
  const keepAlive = setInterval(() => {}, 2 ** 30);
  const code = failed ?? (await cmd.done);
  clearInterval(keepAlive);
  removeFailsafe();
  removeSignals();
  reaper.stop();
  return code;
}
