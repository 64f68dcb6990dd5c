// `ringmaster pidproxy PIDFILE CMD ARGS…` (SPEC §9): Supervisor's pidproxy, for a program that
// forks the process that matters (mysqld_safe -> mysqld) or daemonizes. It runs CMD, forwards
// every signal to the pid in PIDFILE, and exits with that process's status when it ends.
// Where Supervisor's pidproxy.py differs (README "pidproxy"):
//   - it does not exit 0 right after forwarding TERM/INT/QUIT: it waits for the process to end
//     and exits with its status (so a stop waits for the real server, not only for the proxy);
//   - when CMD ends it exits with CMD's status (pidproxy.py: always 0, up to 5 s later), unless
//     CMD left the process of PIDFILE running (it daemonized): then it waits for that one;
//   - a signal that comes while PIDFILE cannot be read goes to CMD instead of being dropped.
// It is a child subreaper, so a daemon CMD leaves behind is its child and its status is known.
import { readFileSync } from 'node:fs';
import { shellCode, spawnFailureCode, type ExitStatus } from '../exit-status';
import { childPids, procInfo } from '../pid1/proc';
import { Reaper } from '../pid1/reaper';
import { listenToEverySignal, TTY_STOP_SIGNALS } from '../pid1/signals';
import { spawnProcess, SpawnError } from '../pid1/spawn';
import { trySignal } from '../signal-util';

export const PIDPROXY_HELP = `Usage: ringmaster pidproxy PIDFILE CMD [ARGS…]

Supervisor's pidproxy: run CMD and forward every signal ringmaster gets to the process whose
pid is in PIDFILE (to CMD itself while PIDFILE cannot be read). Exit with that process's status
when it ends (N, or 128+N when killed by signal N); if CMD ends and leaves no such process
running, exit with CMD's status (126/127 when it cannot be run). For a program like
  command: ringmaster pidproxy /var/run/mysqld.pid /usr/bin/mysqld_safe
`;

/** While CMD's leftovers may still write PIDFILE, how often it is read again. */
const REREAD_MS = 25;
/** A PIDFILE process that is not our child (it had another parent) is checked this often. */
const FOREIGN_CHECK_MS = 1000;

export function pidproxy(args: string[], releaseEarlySignals: () => NodeJS.Signals[] = () => []): Promise<number> {
  if (args[0] === '-h' || args[0] === '--help') {
    releaseEarlySignals();
    process.stdout.write(PIDPROXY_HELP);
    return Promise.resolve(0);
  }
  if (args[0] === '--') args = args.slice(1);
  if (args.length < 2) {
    releaseEarlySignals();
    process.stderr.write(`ringmaster pidproxy: expected PIDFILE CMD [ARGS…]\n\n${PIDPROXY_HELP}`);
    return Promise.resolve(2);
  }
  const [pidfile, ...cmd] = args;
  const say = (text: string) => process.stderr.write(`ringmaster pidproxy: ${text}\n`);

  return new Promise((resolve) => {
    const reaper = new Reaper();
    let cmdPid = 0;
    let cmdStatus: ExitStatus | null = null;
    /** The pid PIDFILE named when last read: a daemon may remove its file as it exits. */
    let target = 0;
    let timer: NodeJS.Timeout | undefined;
    const keepAlive = setInterval(() => {}, 2 ** 31 - 1);

    const readPid = (): number | string => {
      try {
        const text = readFileSync(pidfile, 'latin1').trim();
        if (/^\d+$/.test(text) && Number(text) > 1) return (target = Number(text));
        return `it holds no pid (${JSON.stringify(text.slice(0, 40))})`;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code ?? String(err);
      }
    };

    const finish = (code: number) => {
      clearInterval(keepAlive);
      clearTimeout(timer);
      removeSignals();
      reaper.stop();
      resolve(code);
    };

    const removeSignals = listenToEverySignal((sig) => {
      if (TTY_STOP_SIGNALS.includes(sig)) return;
      const pid = readPid();
      if (typeof pid === 'number' && trySignal(pid, sig)) return;
      if (cmdStatus === null && cmdPid !== 0) {
        say(`can't read ${pidfile} (${typeof pid === 'number' ? `pid ${pid} is gone` : pid}): ${sig} sent to ${cmd[0]} (pid ${cmdPid}) instead`);
        trySignal(cmdPid, sig);
      } else say(`can't read ${pidfile} (${typeof pid === 'number' ? `pid ${pid} is gone` : pid}): ${sig} not forwarded`);
    });

    // CMD ended: wait on for the process of PIDFILE if it left one running, else end with CMD's status.
    const afterCmd = () => {
      timer = undefined;
      const pid = readPid();
      const info = typeof pid === 'number' && pid !== cmdPid ? procInfo(pid) : null;
      if (info && info.state !== 'Z') {
        // Ours (reaped below, with its status) or another's (only its end can be seen).
        if (info.ppid !== process.pid) timer = setTimeout(afterCmd, FOREIGN_CHECK_MS);
        return;
      }
      if (info?.state === 'Z' && info.ppid === process.pid) return; // ours and ended: the reaper is about to report it
      // Something CMD started may still be about to write PIDFILE.
      if ((childPids({ zombies: false }) ?? []).length > 0) timer = setTimeout(afterCmd, REREAD_MS);
      else finish(shellCode(cmdStatus!));
    };

    reaper.onOrphanReaped((pid, status) => {
      if (pid === target) finish(shellCode(status));
      else if (cmdStatus !== null && timer === undefined) afterCmd();
    });
    reaper.start();

    try {
      const child = spawnProcess({
        argv: cmd,
        env: process.env as Record<string, string>,
        pgroup: 'none',
        stdin: 'inherit',
        stdout: 'inherit',
        stderr: 'inherit',
      });
      cmdPid = child.pid;
      // A signal that came while ringmaster started is forwarded now, like any later one.
      for (const sig of releaseEarlySignals()) process.kill(process.pid, sig);
      void child.exited.then((status) => {
        cmdStatus = status;
        if (target === child.pid || readPid() === child.pid) return finish(shellCode(status));
        afterCmd();
      });
    } catch (err) {
      releaseEarlySignals();
      if (!(err instanceof SpawnError)) throw err;
      say(err.message);
      finish(spawnFailureCode(err.code));
    }
  });
}
