import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { call } from '../control/client';
import { assertTrustedSocket, chooseSocket } from '../control/socket-path';
import { stopClock } from '../control/time-text';
import type { Outcome, ProcessInfo } from '../supervisor/commands';

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

// supervisorctl's exit codes (LSB): 0 ok, 1 error, 2 usage, 3 not running, 4 unknown name/unreachable.
const FAULT_TEXT: Record<string, string> = {
  BAD_NAME: 'no such process',
  ALREADY_STARTED: 'already started',
  NOT_RUNNING: 'not running',
  SPAWN_ERROR: 'spawn error',
  ABNORMAL_TERMINATION: 'abnormal termination',
  SHUTDOWN_STATE: 'shutting down',
  DISABLED: 'disabled',
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

/** What /v1/status adds to Supervisor's process info. */
type StatusEntry = ProcessInfo & {
  cpu: number | null;
  memory: number | null;
  health?: { status: string; output: string } | null;
  waiting?: string;
};

function describe(p: StatusEntry): string {
  switch (p.state) {
    case 'RUNNING': {
      const use = p.cpu === null ? '' : `   cpu ${p.cpu.toFixed(1)}%  mem ${((p.memory ?? 0) / 1048576).toFixed(1)}MB`;
      const h = p.health;
      const health = h ? `   ${h.status}${h.status !== 'healthy' && h.output ? ` (${h.output.split('\n')[0].slice(0, 80)})` : ''}` : '';
      return `pid ${p.pid}, uptime ${uptime(p.now - p.start)}${use}${health}`;
    }
    case 'STOPPED':
      if (p.waiting) return p.waiting.charAt(0).toUpperCase() + p.waiting.slice(1);
      return p.start === 0 ? 'Not started' : stopClock(p.since);
    case 'EXITED':
      return `${stopClock(p.since)}, exit code ${p.exitstatus}`;
    case 'FATAL':
    case 'BACKOFF':
      return p.spawnerr || p.description || 'Exited too quickly (process log may have details)';
    default:
      return p.pid ? `pid ${p.pid}` : '';
  }
}

function printOutcomes(results: Outcome[]): number {
  let code = 0;
  for (const r of results) {
    if (r.ok) process.stdout.write(`${r.name}: ${r.action}\n`);
    else {
      process.stdout.write(`${r.name}: ERROR (${FAULT_TEXT[r.fault ?? ''] ?? r.fault}${r.message ? `: ${r.message}` : ''})\n`);
      code = r.fault === 'BAD_NAME' ? Math.max(code, 1) : 1;
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
  switch (verb) {
    case 'status': {
      const r = await call(socket, 'GET', '/v1/status');
      const all = JSON.parse(r.body).processes as StatusEntry[];
      let shown = all;
      let code = 0;
      if (names.length > 0) {
        const wanted = new Set(names);
        shown = all.filter((p) => wanted.has(p.namespec) || wanted.has(p.name) || wanted.has(p.group) || wanted.has(`${p.group}:*`) || wanted.has('all'));
        for (const n of names) {
          if (!all.some((p) => p.namespec === n || p.name === n || p.group === n || `${p.group}:*` === n || n === 'all')) {
            process.stdout.write(`${n}: ERROR (no such process)\n`);
            code = 4;
          }
        }
      }
      const width = Math.max(...shown.map((p) => p.namespec.length), 4) + 1;
      for (const p of shown) {
        process.stdout.write(`${p.namespec.padEnd(width)}${p.state.padEnd(10)}${describe(p)}\n`);
        if (p.state !== 'RUNNING' && code === 0) code = 3;
      }
      return code;
    }
    case 'start':
    case 'stop':
    case 'restart': {
      if (names.length === 0) return usage(`${verb} needs a name (or all)`);
      const r = await call(socket, 'POST', `/v1/${verb}`, { names });
      if (r.status !== 200) return fail(r.body);
      const results = JSON.parse(r.body).results as Outcome[];
      // restart stops then starts each; stopping one that was not running is fine
      return printOutcomes(verb === 'restart' ? results.filter((o) => o.fault !== 'NOT_RUNNING') : results);
    }
    case 'signal': {
      const [sig, ...targets] = names;
      if (!sig || targets.length === 0) return usage('signal needs a signal and a name');
      const r = await call(socket, 'POST', '/v1/signal', { signal: sig, names: targets });
      if (r.status !== 200) return fail(r.body);
      return printOutcomes(JSON.parse(r.body).results);
    }
    case 'pid': {
      const r = await call(socket, 'GET', '/v1/status');
      const status = JSON.parse(r.body);
      if (names.length === 0) {
        process.stdout.write(`${status.pid}\n`);
        return 0;
      }
      let code = 0;
      for (const n of names) {
        const p = (status.processes as ProcessInfo[]).find((x) => x.namespec === n || x.name === n);
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
      const q = new URLSearchParams({ name, stream: opts.stderr ? 'stderr' : 'stdout', bytes: bytes ?? '1600', follow: opts.follow ? '1' : '0' });
      const r = await call(socket, 'GET', `/v1/tail?${q}`, undefined, (c) => process.stdout.write(c));
      if (r.status !== 200) {
        process.stdout.write(`${name}: ERROR (no such process)\n`);
        return 1;
      }
      return 0;
    }
    case 'reload': {
      if (names.length > 0) return usage('reload takes no names');
      const r = await call(socket, 'POST', '/v1/reload');
      if (r.status !== 200) {
        process.stdout.write(`ERROR: the config was not reloaded, nothing changed:\n${errorText(r.body)}\n`);
        return 1;
      }
      const diff = JSON.parse(r.body) as Record<'added' | 'changed' | 'removed', string[]>;
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
      const r = await call(socket, 'GET', '/v1/avail');
      if (r.status !== 200) return fail(r.body);
      type Avail = { name: string; inUse: boolean; autostart: boolean; priority: number };
      for (const p of JSON.parse(r.body).programs as Avail[]) {
        // supervisorctl's '%-32s %-9s %-9s %s' with gprio:pprio
        process.stdout.write(`${p.name.padEnd(32)} ${(p.inUse ? 'in use' : 'avail').padEnd(9)} ${(p.autostart ? 'auto' : 'manual').padEnd(9)} ${p.priority}:${p.priority}\n`);
      }
      return 0;
    }
    case 'shutdown': {
      await call(socket, 'POST', '/v1/shutdown');
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

function errorText(body: string): string {
  try {
    return JSON.parse(body).error ?? body;
  } catch {
    return body; // not JSON
  }
}

function fail(body: string): number {
  process.stderr.write(`ringmaster ctl: ${errorText(body)}\n`);
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
