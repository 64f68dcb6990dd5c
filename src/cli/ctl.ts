import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { call, RemoteSupervisorApi } from '../control/client';
import { assertTrustedSocket, chooseSocket } from '../control/socket-path';
import { scheduleText, stopClock } from '../control/time-text';
import { SupervisorError, type ErrorCode } from '../errors';
import { describeOomExit } from '../exit-status';
import type { Outcome, ProcessSnapshot, ProcessUsage, Results, SupervisorApi } from '../supervisor/api';

export const CTL_HELP = `Usage: ringmaster ctl [-s SOCKET] VERB [NAME…]

  status [NAME…]           state, pid, uptime, cpu and memory (exit 3 if one is not RUNNING)
  start|stop|restart NAME… names: web, group:*, group:name, all
  signal SIG NAME…         send SIG to the process group of each
  pid [NAME]               ringmaster's pid, or a process's
  tail [-f] [--stderr] NAME [BYTES]   recent output (default 1600 bytes); -f follows
  reload                   re-read the config; start added programs, stop removed ones,
                           restart changed ones, leave the rest running
  avail                    every program of the config, in use or not
  shutdown                 stop everything and exit

The socket comes from -s, else $RINGMASTER_SOCKET, else the config's settings.socket.
`;

// supervisorctl's words for the API's errors, and its exit codes (LSB): 0 ok, 1 error, 2 usage,
// 3 not running, 4 unknown name or unreachable.
const ERROR_TEXT: Partial<Record<ErrorCode, string>> = {
  BAD_NAME: 'no such process',
  BAD_SIGNAL: 'bad signal',
  ALREADY_STARTED: 'already started',
  NOT_RUNNING: 'not running',
  DISABLED: 'disabled',
  NO_FILE: 'no such file',
  NOT_EXECUTABLE: 'file is not executable',
  SPAWN_ERROR: 'spawn error',
  ABNORMAL_TERMINATION: 'abnormal termination',
  SHUTDOWN_STATE: 'shutting down',
  STDIN_CLOSED: 'no such file',
};

function findSocket(given: string | undefined, config: string | undefined): string {
  if (given) return given;
  if (process.env.RINGMASTER_SOCKET) return process.env.RINGMASTER_SOCKET;
  let configured = '/run/ringmaster.sock';
  try {
    configured = loadConfig({ file: config, env: process.env, cwd: process.cwd() }).settings.socket;
  } catch {
    // no readable config here: the default place, then the temp-dir fallback
  }
  return chooseSocket(configured);
}

function uptime(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

type StatusEntry = ProcessSnapshot & { usage?: ProcessUsage | null };

function describe(p: StatusEntry, now: number): string {
  if (!p.schedule) return describeState(p, now);
  // A scheduled job between runs: its last result and next run instead of the stop time.
  if (p.state === 'STOPPED' || p.state === 'EXITED') return `${scheduleText(p)}${killed(p)}`;
  return `${describeState(p, now)}; ${scheduleText(p)}`;
}

function describeState(p: StatusEntry, now: number): string {
  switch (p.state) {
    case 'RUNNING': {
      const u = p.usage;
      const use = u ? `   cpu ${u.cpuPercent.toFixed(1)}%  mem ${(u.memoryBytes / 1048576).toFixed(1)}MB` : '';
      const h = p.health;
      const health = h ? `   ${h.status}${h.status !== 'healthy' && h.output ? ` (${h.output.split('\n')[0].slice(0, 80)})` : ''}` : '';
      // A program's own STATUS= (sd_notify) is its description while it runs.
      const status = p.description ? `   ${p.description}` : '';
      return `pid ${p.pid}, uptime ${uptime(now - p.start)}${use}${health}${status}`;
    }
    case 'STOPPED':
      if (p.waiting) return p.waiting.charAt(0).toUpperCase() + p.waiting.slice(1);
      return p.start === 0 ? 'Not started' : `${stopClock(p.since)}${killed(p)}`;
    case 'EXITED':
      return `${stopClock(p.since)}, exit code ${p.exitstatus}${killed(p)}`;
    case 'FATAL':
    case 'BACKOFF':
      return p.spawnerr || p.description || 'Exited too quickly (process log may have details)';
    default:
      // STARTING with a `ready:` method: what it waits for, or the program's STATUS=.
      return [p.pid ? `pid ${p.pid}` : '', p.description].filter(Boolean).join(', ');
  }
}

/** A kill (or a stop ringmaster decided on) is worth saying in status; an asked-for stop is not. */
function killed(p: StatusEntry): string {
  if (p.oomKilled && p.exit) return ` (${describeOomExit(p.exit)})`;
  const s = p.stopped;
  return s && (s.killed || (s.cause !== 'stop' && s.cause !== 'restart')) ? ` (${s.text})` : '';
}

function errorLine(name: string, error: { code: ErrorCode; detail?: string }): string {
  return `${name}: ERROR (${ERROR_TEXT[error.code] ?? error.code}${error.detail ? `: ${error.detail}` : ''})\n`;
}

function printOutcomes(results: Outcome[]): number {
  let code = 0;
  for (const r of results) {
    if (r.ok) process.stdout.write(`${r.namespec}: ${r.action}\n`);
    else {
      process.stdout.write(errorLine(r.namespec, r.error!));
      code = 1;
    }
  }
  return code;
}

/** `ringmaster ctl`: talk to a running ringmaster over its control socket. */
export async function ctl(argv: string[], configFile: string | undefined): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { socket: { type: 'string', short: 's' }, follow: { type: 'boolean', short: 'f' }, stderr: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    process.stderr.write(`ringmaster ctl: ${(err as Error).message}\n\n${CTL_HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [verb, ...names] = positionals;
  if (values.help || !verb) {
    (values.help ? process.stdout : process.stderr).write(CTL_HELP);
    return values.help ? 0 : 2;
  }
  const socket = findSocket(values.socket, configFile);
  try {
    return await run(socket, verb, names, values);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    process.stderr.write(`ringmaster ctl: cannot reach ringmaster at ${socket} (${code ?? (err as Error).message})\n`);
    return 4;
  }
}

async function run(socket: string, verb: string, names: string[], opts: { follow?: boolean; stderr?: boolean }): Promise<number> {
  assertTrustedSocket(socket);
  const api: SupervisorApi = new RemoteSupervisorApi(socket);
  switch (verb) {
    case 'status': {
      const all = await api.list({ usage: true });
      let shown = all;
      let code = 0;
      const matches = (p: StatusEntry, n: string) => n === 'all' || p.namespec === n || p.name === n || p.group === n || `${p.group}:*` === n;
      if (names.length > 0) {
        shown = all.filter((p) => names.some((n) => matches(p, n)));
        for (const n of names) {
          if (!all.some((p) => matches(p, n))) {
            process.stdout.write(`${n}: ERROR (no such process)\n`);
            code = 4;
          }
        }
      }
      const now = Math.floor(Date.now() / 1000);
      const width = Math.max(...shown.map((p) => p.namespec.length), 4) + 1;
      for (const p of shown) {
        process.stdout.write(`${p.namespec.padEnd(width)}${p.state.padEnd(10)}${describe(p, now)}\n`);
        if (p.state !== 'RUNNING' && code === 0) code = 3;
      }
      return code;
    }
    case 'start':
    case 'stop':
    case 'restart':
    case 'signal': {
      const [sig, ...targets] = verb === 'signal' ? names : [undefined, ...names];
      if (verb === 'signal' && (!sig || targets.length === 0)) return usage('signal needs a signal and a name');
      if (targets.length === 0) return usage(`${verb} needs a name (or all)`);
      const act = (name: string) => (verb === 'signal' ? api.signal(name, sig!) : verb === 'restart' ? api.restart(name) : api[verb](name));
      let code = 0;
      for (const [i, r] of (await Promise.all(targets.map((n) => act(n!).catch((err: unknown) => err)))).entries()) {
        if (r instanceof SupervisorError) {
          if (r.code === 'BAD_SIGNAL') return fail(r.message);
          process.stdout.write(errorLine(targets[i]!, r));
          code = Math.max(code, 1);
        } else if (r instanceof Error) throw r;
        else code = Math.max(code, printOutcomes((r as Results).outcomes));
      }
      return code;
    }
    case 'pid': {
      if (names.length === 0) {
        process.stdout.write(`${(await api.status()).pid}\n`);
        return 0;
      }
      const all = await api.list();
      let code = 0;
      for (const n of names) {
        const p = all.find((x) => x.namespec === n || x.name === n);
        if (!p) {
          process.stdout.write(`${n}: ERROR (no such process)\n`);
          code = 1;
        } else process.stdout.write(`${p.pid}\n`);
      }
      return code;
    }
    case 'tail': {
      const [name, bytes] = names;
      if (!name) return usage('tail needs a name');
      const stream = opts.stderr ? 'stderr' : 'stdout';
      const back = Number(bytes ?? 1600);
      if (!Number.isSafeInteger(back) || back < 0) return usage(`tail: "${bytes}" is not a number of bytes`);
      try {
        if (opts.follow) await api.followLog(name, stream, back, (c) => process.stdout.write(c), new AbortController().signal);
        else process.stdout.write((await api.readLog(name, stream, { last: back })).data);
      } catch (err) {
        if (!(err instanceof SupervisorError)) throw err;
        process.stdout.write(`${name}: ERROR (no such process)\n`);
        return 1;
      }
      return 0;
    }
    case 'reload': {
      if (names.length > 0) return usage('reload takes no names');
      let diff;
      try {
        diff = await api.reload();
      } catch (err) {
        if (!(err instanceof SupervisorError)) throw err;
        process.stdout.write(`ERROR: the config was not reloaded, nothing changed:\n${err.message}\n`);
        return 1;
      }
      const lines = [
        ...diff.removed.map((n) => `${n}: removed`),
        ...diff.changed.map((n) => `${n}: restarted with its new config`),
        ...diff.added.map((n) => `${n}: added`),
      ];
      process.stdout.write(lines.length > 0 ? `${lines.join('\n')}\n` : 'No config updates to processes\n');
      return 0;
    }
    case 'avail': {
      if (names.length > 0) return usage('avail takes no names');
      for (const p of await api.programs()) {
        // supervisorctl's '%-32s %-9s %-9s %s' with gprio:pprio
        process.stdout.write(`${p.name.padEnd(32)} ${(p.inUse ? 'in use' : 'avail').padEnd(9)} ${(p.autostart ? 'auto' : 'manual').padEnd(9)} ${p.priority}:${p.priority}\n`);
      }
      return 0;
    }
    case 'shutdown': {
      await api.shutdown();
      process.stdout.write('Shut down\n');
      return 0;
    }
    default:
      return usage(`unknown verb "${verb}"`);
  }
}

function usage(message: string): number {
  process.stderr.write(`ringmaster ctl: ${message}\n\n${CTL_HELP}`);
  return 2;
}

function fail(message: string): number {
  process.stderr.write(`ringmaster ctl: ${message}\n`);
  return 2;
}

/** `ringmaster healthcheck`: exit 0 when /readyz says ready, else 1 (Docker HEALTHCHECK). */
export async function healthcheck(configFile: string | undefined): Promise<number> {
  const socket = findSocket(undefined, configFile);
  try {
    assertTrustedSocket(socket);
    const r = await call(socket, 'GET', '/readyz');
    if (r.status === 200) return 0;
    for (const reason of (JSON.parse(r.body).reasons as string[]) ?? []) process.stdout.write(`${reason}\n`);
    return 1;
  } catch (err) {
    process.stdout.write(`ringmaster not reachable at ${socket}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
    return 1;
  }
}
