import { resolveUser } from '../../config/users';
import type { LogRange, SupervisorApi } from '../../supervisor/api';
import { signalNumber } from '../../signal-util';
import type { Log, StreamName } from '../../types';
import { encodeValue, type RawXml, type RpcStruct, type RpcValue } from './codec';
import { answer, groupAnswer, processInfoStruct, resultStruct } from './calls';
import { RpcFault } from './faults';

export interface RpcDeps {
  api: SupervisorApi;
  /** A ringmaster line (an unexpected failure of a call is logged on stderr). */
  log: Log;
}

type ParamType = 'string' | 'int' | 'boolean' | 'array' | 'struct' | 'signal' | 'chars';

export interface Method {
  params: ParamType[];
  /** How many trailing params may be left out. */
  optional?: number;
  returns: string;
  help: string;
  /** Calls that still work while ringmaster shuts down (Supervisor's _update exceptions). */
  duringShutdown?: boolean;
  run(deps: RpcDeps, args: RpcValue[]): RpcValue | Promise<RpcValue>;
}

export const API_VERSION = '3.0';
/** The Supervisor release whose API this is; tools compare against it. */
export const SUPERVISOR_VERSION = '4.2.5';

const str = (v: RpcValue) => v as string;
const int = (v: RpcValue) => v as number;
const bool = (v: RpcValue | undefined, dflt: boolean) => (v === undefined ? dflt : (v as boolean));

/** Supervisor's readFile on a stream held in memory (the beginning may be cut away). */
async function readLog(deps: RpcDeps, name: string | null, stream: StreamName, offset: number, length: number): Promise<string> {
  if (offset < 0 && length !== 0) throw new RpcFault('BAD_ARGUMENTS');
  if (offset >= 0 && length < 0) throw new RpcFault('BAD_ARGUMENTS');
  const range: LogRange = offset < 0 ? { last: -offset } : { from: offset, to: length === 0 ? undefined : offset + length };
  return (await deps.api.readLog(name, stream, range)).data.toString('utf8');
}

/** Supervisor's tailFile: [bytes, newOffset, overflow]. */
async function tailLog(deps: RpcDeps, name: string, stream: StreamName, offset: number, length: number): Promise<RpcValue> {
  const size = (await deps.api.readLog(name, stream, { last: 0 })).total;
  let overflow = false;
  if (size > offset + length) {
    overflow = true;
    offset = size - 1;
  }
  if (offset + length > size) {
    if (offset > size - 1) length = 0;
    offset = size - length;
  }
  offset = Math.max(0, offset);
  length = Math.max(0, length);
  const data = length === 0 ? '' : (await deps.api.readLog(name, stream, { from: offset, to: offset + length })).data.toString('utf8');
  return [data, size, overflow];
}

const processLogs = (stream: StreamName, tail: boolean): Method => ({
  params: ['string', 'int', 'int'],
  returns: tail ? 'array' : 'string',
  help: tail
    ? `Provides a more efficient way to tail the (${stream}) log than read. Requests (length) bytes from the (name)'s log, starting at (offset); if the log is larger than (offset + length), the overflow flag is set and the offset moved to the end. ringmaster keeps each process's recent output in memory (64 KiB per stream).\n@param string name the name of the process (or 'group:name')\n@param int offset offset to start reading from\n@param int length maximum number of bytes to return\n@return array result [string bytes, int offset, bool overflow]`
    : `Read length bytes from name's ${stream} log starting at offset. ringmaster keeps each process's recent output in memory (64 KiB per stream).\n@param string name the name of the process (or 'group:name')\n@param int offset offset to start reading from\n@param int length number of bytes to read from the log\n@return string result Bytes of log`,
  run(deps, [name, offset, length]) {
    return tail ? tailLog(deps, str(name), stream, int(offset), int(length)) : readLog(deps, str(name), stream, int(offset), int(length));
  },
});

async function configInfo(deps: RpcDeps): Promise<RpcStruct[]> {
  const out: RpcStruct[] = [];
  for (const program of await deps.api.programs()) {
    let uid: RpcValue = 'none';
    if (program.user) {
      try {
        uid = resolveUser(program.user).uid;
      } catch {
        uid = program.user;
      }
    }
    const log = (f: typeof program.stdoutLogfile): RpcValue => (f ? (f.path === 'AUTO' ? 'auto' : f.path) : 'none');
    for (const name of program.processes) {
      out.push({
        autostart: program.autostart,
        command: program.command,
        directory: program.directory ?? 'none',
        exitcodes: program.exitcodes,
        group: program.group,
        group_prio: program.priority,
        inuse: program.inUse,
        killasgroup: program.killasgroup,
        name,
        process_prio: program.priority,
        redirect_stderr: program.redirectStderr,
        serverurl: 'auto',
        startretries: program.startretries,
        startsecs: program.startsecs,
        stderr_capture_maxbytes: 0,
        stderr_events_enabled: false,
        stderr_logfile: log(program.stderrLogfile),
        stderr_logfile_backups: program.stderrLogfile?.backups ?? 0,
        stderr_logfile_maxbytes: program.stderrLogfile?.maxBytes ?? 0,
        stderr_syslog: false,
        stdout_capture_maxbytes: 0,
        stdout_events_enabled: false,
        stdout_logfile: log(program.stdoutLogfile),
        stdout_logfile_backups: program.stdoutLogfile?.backups ?? 0,
        stdout_logfile_maxbytes: program.stdoutLogfile?.maxBytes ?? 0,
        stdout_syslog: false,
        stopsignal: signalNumber(program.stopsignal as NodeJS.Signals),
        stopwaitsecs: program.stopwaitsecs,
        uid,
      });
    }
  }
  return out.sort((a, b) => (String(a.name) < String(b.name) ? -1 : String(a.name) > String(b.name) ? 1 : 0));
}

const allInfoCache = new WeakMap<SupervisorApi, { version: number; second: number; value: RawXml }>();

/** supervisor.* — every method of Supervisor 4.2's rpcinterface, aliases included. */
export const SUPERVISOR_METHODS: Record<string, Method> = {
  getAPIVersion: { params: [], returns: 'string', help: 'Return the version of the RPC API used by supervisord\n@return string version id', run: () => API_VERSION },
  getSupervisorVersion: {
    params: [],
    returns: 'string',
    help: 'Return the version of the supervisor package in use by supervisord (the Supervisor API level ringmaster implements)\n@return string version id',
    run: () => SUPERVISOR_VERSION,
  },
  getIdentification: { params: [], returns: 'string', help: 'Return identifying string of supervisord\n@return string identifier identifying string', run: () => 'ringmaster' },
  getState: {
    params: [],
    returns: 'struct',
    help: 'Return current state of supervisord as a struct\n@return struct A struct with keys int statecode, string statename',
    run: () => ({ statecode: 1, statename: 'RUNNING' }),
  },
  getPID: { params: [], returns: 'int', help: 'Return the PID of supervisord\n@return int PID', run: async (deps) => (await deps.api.status()).pid },
  readLog: {
    params: ['int', 'int'],
    returns: 'string',
    help: "Read length bytes from the main log starting at offset (ringmaster's own recent messages, kept in memory)\n@param int offset offset to start reading from.\n@param int length number of bytes to read from the log.\n@return string result Bytes of log",
    run: (deps, [offset, length]) => readLog(deps, null, 'stdout', int(offset), int(length)),
  },
  clearLog: {
    params: [],
    returns: 'boolean',
    help: 'Clear the main log.\n@return boolean result always returns True unless error',
    async run(deps) {
      await deps.api.clearLog(null);
      return true;
    },
  },
  shutdown: {
    params: [],
    returns: 'boolean',
    help: 'Shut down the supervisor process\n@return boolean result always returns True unless error',
    run(deps) {
      // Answer first: the shutdown closes this connection.
      setImmediate(() => void deps.api.shutdown());
      return true;
    },
  },
  restart: {
    params: [],
    returns: 'boolean',
    help: 'Restart the supervisor process. In ringmaster: re-read the config and apply only what changed (unchanged programs keep running)\n@return boolean result always return True unless error',
    async run(deps) {
      // A bad config is refused (CANT_REREAD) before anything changes; a good one is applied meanwhile.
      await deps.api.reload({ wait: false });
      return true;
    },
  },
  reloadConfig: {
    params: [],
    returns: 'array',
    help: 'Reload the configuration.\n\nThe result contains three arrays containing names of process groups:\n\n* `added` gives the process groups that have been added\n* `changed` gives the process groups whose contents have changed\n* `removed` gives the process groups that are no longer in the configuration\n\n@return array result [[added, changed, removed]]',
    async run(deps) {
      const diff = await deps.api.reread();
      return [[diff.added, diff.changed, diff.removed]];
    },
  },
  addProcessGroup: {
    params: ['string'],
    returns: 'boolean',
    help: 'Update the config for a running process from config file.\n@param string name name of process group to add\n@return boolean result true if successful',
    async run(deps, [name]) {
      await deps.api.addGroup(str(name));
      return true;
    },
  },
  removeProcessGroup: {
    params: ['string'],
    returns: 'boolean',
    help: 'Remove a stopped process from the active configuration.\n@param string name name of process group to remove\n@return boolean result Indicates whether the removal was successful',
    async run(deps, [name]) {
      await deps.api.removeGroup(str(name));
      return true;
    },
  },
  startProcess: {
    params: ['string', 'boolean'],
    optional: 1,
    returns: 'boolean',
    help: "Start a process\n@param string name Process name (or ``group:name``, or ``group:*``)\n@param boolean wait Wait for process to be fully started\n@return boolean result Always true unless error",
    run: (deps, [name, wait]) => answer(deps.api.start(str(name), { wait: bool(wait, true) })),
  },
  startProcessGroup: {
    params: ['string', 'boolean'],
    optional: 1,
    returns: 'array',
    help: 'Start all processes in the group named \'name\'\n@param string name The group name\n@param boolean wait Wait for each process to be fully started\n@return array result An array of process status info structs',
    run: (deps, [name, wait]) => groupAnswer(str(name), (g) => deps.api.start(g, { wait: bool(wait, true) })),
  },
  startAllProcesses: {
    params: ['boolean'],
    optional: 1,
    returns: 'array',
    help: 'Start all processes listed in the configuration file\n@param boolean wait Wait for each process to be fully started\n@return array result An array of process status info structs',
    run: (deps, [wait]) => answer(deps.api.start('all', { wait: bool(wait, true) })),
  },
  stopProcess: {
    params: ['string', 'boolean'],
    optional: 1,
    returns: 'boolean',
    help: "Stop a process named by name\n@param string name The name of the process to stop (or 'group:name')\n@param boolean wait Wait for the process to be fully stopped\n@return boolean result Always return True unless error",
    run: (deps, [name, wait]) => answer(deps.api.stop(str(name), { wait: bool(wait, true) })),
  },
  stopProcessGroup: {
    params: ['string', 'boolean'],
    optional: 1,
    returns: 'array',
    help: "Stop all processes in the process group named 'name'\n@param string name The group name\n@param boolean wait Wait for each process to be fully stopped\n@return array result An array of process status info structs",
    run: (deps, [name, wait]) => groupAnswer(str(name), (g) => deps.api.stop(g, { wait: bool(wait, true) })),
  },
  stopAllProcesses: {
    params: ['boolean'],
    optional: 1,
    returns: 'array',
    help: 'Stop all processes in the process list\n@param boolean wait Wait for each process to be fully stopped\n@return array result An array of process status info structs',
    run: (deps, [wait]) => answer(deps.api.stop('all', { wait: bool(wait, true) })),
  },
  signalProcess: {
    params: ['string', 'signal'],
    returns: 'boolean',
    help: "Send an arbitrary UNIX signal to the process named by name\n@param string name Name of the process to signal (or 'group:name')\n@param string signal Signal to send, as name ('HUP') or number ('1')\n@return boolean",
    run: (deps, [name, signal]) => answer(deps.api.signal(str(name), signal as string | number)),
  },
  signalProcessGroup: {
    params: ['string', 'signal'],
    returns: 'array',
    help: "Send a signal to all processes in the group named 'name'\n@param string name The group name\n@param string signal Signal to send, as name ('HUP') or number ('1')\n@return array",
    run: (deps, [name, signal]) => groupAnswer(str(name), (g) => deps.api.signal(g, signal as string | number)),
  },
  signalAllProcesses: {
    params: ['signal'],
    returns: 'array',
    help: "Send a signal to all processes in the process list\n@param string signal Signal to send, as name ('HUP') or number ('1')\n@return array An array of process status info structs",
    run: (deps, [signal]) => answer(deps.api.signal('all', signal as string | number)),
  },
  getAllConfigInfo: {
    params: [],
    returns: 'array',
    help: 'Get info about all available process configurations. Each struct represents a single process (i.e. groups get flattened).\n@return array result An array of process config info structs',
    run: (deps) => configInfo(deps),
  },
  getProcessInfo: {
    params: ['string'],
    returns: 'struct',
    help: "Get info about a process named name\n@param string name The name of the process (or 'group:name')\n@return struct result A structure containing data about the process",
    run: async (deps, [name]) => processInfoStruct(await deps.api.get(str(name))),
  },
  getAllProcessInfo: {
    params: [],
    returns: 'array',
    help: 'Get info about all processes\n@return array result An array of process status results',
    async run(deps) {
      // The answer depends only on the processes' states and the current second: a monitor
      // polling it many times a second gets the encoded answer again instead of a rebuild.
      const { api } = deps;
      const second = Math.floor(Date.now() / 1000);
      const { version } = await api.status();
      const cached = allInfoCache.get(api);
      if (cached && cached.version === version && cached.second === second) return cached.value;
      const sorted = (await api.list()).sort((a, b) => cmp(a.group, b.group) || cmp(a.name, b.name));
      const value = encodeValue(sorted.map(processInfoStruct));
      allInfoCache.set(api, { version, second, value });
      return value;
    },
  },
  readProcessStdoutLog: processLogs('stdout', false),
  readProcessStderrLog: processLogs('stderr', false),
  tailProcessStdoutLog: processLogs('stdout', true),
  tailProcessStderrLog: processLogs('stderr', true),
  clearProcessLogs: {
    params: ['string'],
    returns: 'boolean',
    help: "Clear the stdout and stderr logs for the named process and reopen them.\n@param string name The name of the process (or 'group:name')\n@return boolean result Always True unless error",
    async run(deps, [name]) {
      await deps.api.clearLog(str(name));
      return true;
    },
  },
  clearAllProcessLogs: {
    params: [],
    returns: 'array',
    help: 'Clear all process log files\n@return array result An array of process status info structs',
    async run(deps) {
      const structs: RpcStruct[] = [];
      for (const p of await deps.api.list()) {
        await deps.api.clearLog(p.namespec);
        structs.push(resultStruct({ name: p.name, group: p.group, namespec: p.namespec, ok: true }));
      }
      return structs;
    },
  },
  sendProcessStdin: {
    params: ['string', 'chars'],
    returns: 'boolean',
    help: "Send a string of chars to the stdin of the process name. If non-7-bit data is sent (unicode), it is encoded to utf-8 before being sent to the process' stdin.\n@param string name The process name to send to (or 'group:name')\n@param string chars The character data to send to the process\n@return boolean result Always return True unless error",
    async run(deps, [name, chars]) {
      const data = Buffer.isBuffer(chars) ? chars : Buffer.from(str(chars), 'utf8');
      await deps.api.sendStdin(str(name), data);
      return true;
    },
  },
  sendRemoteCommEvent: {
    params: ['string', 'string'],
    returns: 'boolean',
    duringShutdown: true,
    help: 'Send an event that will be received by event listener subprocesses subscribing to the RemoteCommunicationEvent.\n@param string type String for the "type" key in the event header\n@param string data Data for the event body\n@return boolean Always return True unless error',
    async run(deps, [type, data]) {
      await deps.api.sendRemoteEvent(str(type), str(data));
      return true;
    },
  },
};

// Supervisor's backward-compatible aliases.
Object.assign(SUPERVISOR_METHODS, {
  getVersion: SUPERVISOR_METHODS.getAPIVersion,
  readMainLog: SUPERVISOR_METHODS.readLog,
  readProcessLog: SUPERVISOR_METHODS.readProcessStdoutLog,
  tailProcessLog: SUPERVISOR_METHODS.tailProcessStdoutLog,
  clearProcessLog: SUPERVISOR_METHODS.clearProcessLogs,
});

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
