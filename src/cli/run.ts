import { loadConfig } from '../config';
import { ConfigError, formatProblem, type Config } from '../config/types';
import { startHttpListener } from '../control/http-listener';
import { startControlServer } from '../control/server';
import { createOutput } from '../output/multiplexer';
import { installFailsafe } from '../pid1/failsafe';
import { EventSystem } from '../events';
import { Reaper } from '../pid1/reaper';
import { installSignalHandlers } from '../pid1/signals';
import { launch, launchCheck } from '../supervisor/launch';
import { Supervisor } from '../supervisor/supervisor';

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

/** `ringmaster run`: supervise the config's programs until the exit policy or a signal ends it. */
export async function run(file: string | undefined): Promise<number> {
  const cwd = process.cwd();
  const config = loadOrReport(file);
  if (!config) return 2;

  const { settings } = config;
  const output = createOutput({
    stdout: process.stdout,
    stderr: process.stderr,
    format: settings.logFormat,
    timestamps: settings.logTimestamps,
    color: settings.logColor,
  });
  const log = (text: string) => output.system(text);
  const reaper = new Reaper();
  let serverUrl: string | undefined;
  const events = new EventSystem(log);
  const supervisor = new Supervisor(config, { launch: (spec) => launch(spec, { output, logdir: settings.logdir, serverUrl, events }),
    log,
    settleOutput: () => output.settle(2000),
    spawnCheck: (spec, argv, capture) => launchCheck(spec, argv, capture, { output, serverUrl }),
    observeOutput: (name, observer) => output.observe(name, observer),
  });
  output.setNames(supervisor.processes.map((p) => p.name));
  supervisor.on('processes', () => output.setNames(supervisor.processes.map((p) => p.name)));

  reaper.onOrphanReaped((pid, status) => {
    log(`reaped unknown pid ${pid} (${status.signal !== null ? `signal ${status.signal}` : `exit status ${status.code}`})`);
    supervisor.onOrphanReaped();
  });
  reaper.start();
  const readConfig = () => loadConfig({ file, env: process.env, cwd });
  /** The one reload path (SIGHUP, ctl reload, supervisor.restart): apply what changed, or report a bad config and change nothing. */
  const reload = async (given?: Config) => {
    let next = given;
    try {
      next ??= readConfig();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const p of err.problems) log(`reload: ${formatProblem(p)}`);
      log(`reload refused: ${err.problems.length} problem(s) in the config; nothing was changed`);
      return null;
    }
    if (supervisor.isShuttingDown) return null;
    log('reloading the config');
    const diff = await supervisor.reload(next);
    const said = (Object.entries(diff) as [string, string[]][]).filter(([, names]) => names.length > 0);
    log(`reloaded: ${said.map(([what, names]) => `${what} ${names.join(', ')}`).join('; ') || 'nothing changed'}`);
    return diff;
  };
  const removeSignals = installSignalHandlers(config.settings, {
    shutdown: (sig) => supervisor.shutdown(`received ${sig}, shutting down`),
    forward: (sig) => supervisor.forwardSignal(sig),
    reload: () => void reload().catch((err: Error) => log(`reload failed: ${err.message}`)),
  });
  // SIGUSR2 also reopens the log files (after an external logrotate), as in Supervisor.
  const reopenLogs = () => output.reopenLogs();
  process.on('SIGUSR2', reopenLogs);
  const removeFailsafe = installFailsafe(() => supervisor.emergencyStop(), log);

  const apiDeps = {
    supervisor,
    output,
    events: events.bus,
    shutdown: () => supervisor.shutdown('shutdown asked for by ctl'),
    readConfig,
    reload,
  };
  // No socket at all is a warning: stderr (SPEC §3); one in the temp dir instead is information.
  const control = await startControlServer(settings.socket, apiDeps, (text) => output.system(text, 'stderr'), log);
  const http = await startHttpListener(settings, apiDeps, log);
  if (http.address) log(`listening on http://${http.address}${settings.httpUsername ? '' : ' (probes and /metrics only: no http_username)'}`);
  if (control.socketPath) serverUrl = `unix://${control.socketPath}`;

  for (const w of config.warnings ?? []) log(`warning: ${formatProblem(w)}`);
  log(`ringmaster ${process.pid === 1 ? 'as PID 1' : `pid ${process.pid}`}, ${supervisor.processes.length} processes from ${config.files.join(', ')}`);
  // Supervising is the point even when nothing runs (e.g. every program ended, none critical).
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
  events.watch(supervisor);
  supervisor.start();
  const code = await supervisor.finished;
  clearInterval(keepAlive);
  events.close();
  await Promise.all([control.close(), http.close()]);
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
