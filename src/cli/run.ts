// `ringmaster run`: the composition root. It builds every module and wires them together;
// no other file imports the supervisor's classes. Each step is named for its job, as in tini.
import { Bus } from '../bus';
import { loadConfig } from '../config';
import { redactor } from '../config/secrets';
import { ConfigError, formatProblem, type Config } from '../config/types';
import { startHttpListener } from '../control/http-listener';
import { startControlServer } from '../control/server';
import { EventSystem } from '../events';
import { formatSize, MemoryWatch } from '../health/memory-watch';
import { HealthMonitor } from '../health/monitor';
import { sampleUsage } from '../health/usage';
import { createOutput } from '../output/multiplexer';
import type { Output } from '../output/types';
import { emergencyStop } from '../pid1/emergency';
import { installFailsafe } from '../pid1/failsafe';
import { killLeftoverChildren } from '../pid1/leftovers';
import { MemoryTrimmer } from '../pid1/memory-trim';
import { native } from '../pid1/native';
import { oomCounter } from '../pid1/oom';
import { Reaper } from '../pid1/reaper';
import { installSignalHandlers, replayEarlySignals } from '../pid1/signals';
import { LocalSupervisorApi } from '../supervisor/local-api';
import { ConfigWatch, ProgramWatches } from '../watch/triggers';
import { Supervisor } from '../supervisor/supervisor';
import type { Log } from '../types';
import { findDaemon } from './daemon';
import { liveHookGroups, runHook } from './hooks';
import { checkCommand, launch, launchCheck } from './launch';
import { ProgramSockets } from './sockets';

/** Load the config or print every problem (SPEC §2) and return null. */
export function loadOrReport(file: string | undefined): Config | null {
  try {
    return loadConfig({ file, env: process.env, cwd: process.cwd() });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) process.stderr.write(`${formatProblem(p)}\n`);
    process.stderr.write(`ringmaster: ${err.problems.length} problem(s) in the config; nothing was started\n`);
    return null;
  }
}

function makeOutput(config: Config, onActivity: () => void): Output {
  const { settings } = config;
  return createOutput({
    onActivity,
    stdout: process.stdout,
    stderr: process.stderr,
    format: settings.logFormat,
    timestamps: settings.logTimestamps,
    color: settings.logColor,
    logLevel: settings.logLevel,
    nativeLines: native,
  });
}

/** `ringmaster run`: supervise the config's programs until the exit policy or a signal ends it. */
export async function run(file: string | undefined, releaseEarlySignals: () => NodeJS.Signals[] = () => []): Promise<number> {
  const cwd = process.cwd();
  const config = loadOrReport(file);
  if (!config) {
    releaseEarlySignals();
    return 2;
  }
  const { settings } = config;

  const bus = new Bus();
  const trimmer = new MemoryTrimmer(
    (r) => log(`memory trimmed after a quiet spell: rss ${(r.before / 2 ** 20).toFixed(1)} -> ${(r.after / 2 ** 20).toFixed(1)} MiB in ${r.ms.toFixed(0)} ms`, 'debug'),
    () => output.releaseMemory(),
  );
  const output = makeOutput(config, () => trimmer.touch());
  // Secrets seen in any config read since the start stay hidden (a reload may drop one a log line still quotes).
  const secrets = new Set(config.secrets);
  let redact = redactor(secrets);
  let configWatch: ConfigWatch | undefined;
  const learnSecrets = (c: Config): Config => {
    for (const s of c.secrets ?? []) secrets.add(s);
    redact = redactor(secrets);
    // An include added or dropped by this config changes what watch_config watches.
    if (c.settings.watchConfig) {
      configWatch ??= new ConfigWatch(() => api.reload(), log);
      configWatch.update(c.files);
    } else configWatch?.close();
    return c;
  };
  const log: Log = (text, level) => output.system(redact(text), level);
  let serverUrl: string | undefined;
  const events = new EventSystem(bus, log);
  const health = new HealthMonitor({
    spawnCheck: (spec, argv, capture) => launchCheck(spec, argv, capture, { output, serverUrl }),
    observeOutput: (name, observer) => output.observe(name, observer),
  });
  health.follow(bus);
  const sockets = new ProgramSockets(log, (text) => log(text, 'error'));
  const supervisor = new Supervisor(config, {
    bus,
    launch: (spec) => launch(spec, { output, logdir: settings.logdir, serverUrl, events, sockets, ready: { notifyDir: settings.notifyDir, warn: (text) => log(text, 'warn') } }),
    findDaemon,
    log,
    redact: (text) => redact(text),
    runHook: (spec, hook, timeoutMs, signal) => runHook(spec, hook, timeoutMs, signal, { output, serverUrl }, log),
    healthOf: (spec) => health.state(spec),
    settleOutput: () => output.settle(2000),
    killLeftovers: () => killLeftoverChildren(log),
    oom: oomCounter(),
  });
  const memory = new MemoryWatch({
    exceeded: (spec, rss, limit) =>
      supervisor.restartForMemory(spec, `${spec.name} exceeded memory_limit ${formatSize(limit)} (rss ${formatSize(rss)}); restarting`),
  });
  memory.follow(bus);
  const api = new LocalSupervisorApi({
    supervisor,
    bus,
    logs: output,
    log,
    readConfig: () => learnSecrets(loadConfig({ file, env: process.env, cwd })),
    checkCommand,
    sampleUsage,
  });
  // A socket stays open while its program has processes or is in the config last read (a reload
  // or `update` that keeps it, between stopping the old processes and starting the new); a
  // removed program's is closed.
  const pruneSockets = () => sockets.prune([...supervisor.latestPrograms, ...supervisor.programs]);
  bus.on('processes.changed', pruneSockets);
  bus.on('config.reloaded', pruneSockets);
  output.setNames(supervisor.processes.map((p) => p.name));
  const watches = new ProgramWatches(api, log);
  for (const event of ['process.state', 'processes.changed', 'config.reloaded'] as const) bus.on(event, () => trimmer.touch());
  bus.on('processes.changed', ({ processes, programs }) => {
    output.setNames(processes.map((p) => p.name));
    watches.update(programs);
  });

  const reaper = new Reaper();
  reaper.onOrphanReaped((pid, status) => {
    log(`reaped unknown pid ${pid} (${status.signal !== null ? `signal ${status.signal}` : `exit status ${status.code}`})`, 'debug');
    bus.emit('pid1.reaped', { pid, status });
  });
  reaper.start();
  const removeSignals = installSignalHandlers(settings, {
    // shutdown_delay applies to TERM, the signal of `docker stop` and Kubernetes; INT and QUIT are a person asking now.
    shutdown: (sig) => supervisor.shutdown(`received ${sig}, shutting down`, 0, sig === 'SIGTERM' ? settings.shutdownDelayMs : 0),
    forward: (sig) => supervisor.forwardSignal(sig),
    // The one reload path (SIGHUP, ctl reload, XML-RPC restart): a bad config is reported and changes nothing.
    reload: () => void api.reload().catch(() => {}),
  });
  // A TERM that came while the config was read is acted on now (a `docker stop` at once).
  replayEarlySignals(releaseEarlySignals);
  // SIGUSR2 also reopens the log files (after an external logrotate), as in Supervisor.
  const reopenLogs = () => output.reopenLogs();
  process.on('SIGUSR2', reopenLogs);
  const removeFailsafe = installFailsafe(() => {
    for (const t of emergencyStop(() => [...supervisor.liveGroups(), ...liveHookGroups()].map((g) => -g))) log(`killing process group ${-t} with SIGKILL: by the failsafe`, 'error');
    // A fatal signal is raised again right after this: what is queued must be out by then.
    output.flushSync();
  }, log);

  // No socket at all is a warning: stderr (SPEC §3); one in the temp dir instead is information.
  const onRequest = () => trimmer.touch();
  const control = await startControlServer(settings.socket, { api, log, onRequest }, (text) => log(text, 'warn'), log);
  const http = await startHttpListener(settings, { api, log, onRequest }, (text) => log(text, 'warn'));
  if (http.address) log(`listening on http://${http.address}${settings.httpUsername ? '' : ' (probes and /metrics only: no http_username)'}`);
  if (control.socketPath) serverUrl = `unix://${control.socketPath}`;

  for (const w of config.warnings ?? []) log(`warning: ${formatProblem(w)}`, 'warn');
  log(`ringmaster ${process.pid === 1 ? 'as PID 1' : `pid ${process.pid}`}, ${supervisor.processes.length} processes from ${config.files.join(', ')}`);
  // Supervising is the point even when nothing runs (e.g. every program ended, none critical).
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
  events.watch(await api.list(), supervisor.programs);
  watches.update(supervisor.programs);
  learnSecrets(config);
  supervisor.start();
  const code = await supervisor.finished;
  clearInterval(keepAlive);
  watches.close();
  configWatch?.close();
  trimmer.close();
  health.close();
  memory.close();
  events.close();
  await Promise.all([control.close(), http.close()]);
  sockets.closeAll();
  log(`exiting with code ${code}`);
  removeSignals();
  process.off('SIGUSR2', reopenLogs);
  removeFailsafe();
  reaper.stop();
  // A log reader that never reads again must not keep a finished ringmaster (and `docker stop`)
  // waiting: what cannot be written within this bound is given up.
  await Promise.race([output.close(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  return code;
}
