import '../pid1/v8-flags';
import { parseArgs } from 'node:util';
import pkg from '../../package.json';
import { holdEarlySignals, replayEarlySignals } from '../pid1/signals';
import { check } from './check';
import { convert } from './convert';
import { ctl, healthcheck } from './ctl';
import { pidproxy, PIDPROXY_HELP } from './pidproxy';
import { run } from './run';
import { single } from './single';

const USAGE = `Usage:
  ringmaster [run] [-c FILE]          supervise the programs of the config (the ENTRYPOINT)
  ringmaster check [-c FILE]          validate a config, print every problem, exit 0 or 2
  ringmaster [options] -- CMD [ARGS…] no config: be the init of one command (like tini) and exit
                                      with its status; options --grace DURATION (default 10s),
                                      -r FROM:TO (signal rewrite); more: ringmaster --help --
  ringmaster ctl [-s SOCKET] VERB [NAME…]   control a running ringmaster (ringmaster ctl --help)
  ringmaster convert supervisord.conf print the equivalent YAML of a Supervisor INI config or a Procfile
  ringmaster healthcheck              exit 0 if the running ringmaster is ready, else 1
  ringmaster pidproxy PIDFILE CMD…    Supervisor's pidproxy: signals go to the pid in PIDFILE
  ringmaster --version | --help

-c may name a supervisord.conf (*.conf, *.ini, or a file starting with a [section]) or a Procfile
(Procfile, *.procfile): it runs as is.
The config comes from -c, else $RINGMASTER_CONFIG, else $RINGMASTER_CONFIG_YAML (inline),
else /etc/ringmaster.yaml, else ./ringmaster.yaml.
`;

const VERB_HELP: Record<string, string> = {
  run: 'Usage: ringmaster run [-c FILE]\n\nSupervise the programs of the config in the foreground until the exit policy or a\nsignal ends it. TERM/INT/QUIT shut down in order; a second one kills at once.\n',
  healthcheck: 'Usage: ringmaster healthcheck [-c FILE]\n\nAsk the running ringmaster (over its control socket) whether it is ready: every\nautostarted program RUNNING or finished as expected. Exit 0 if so, else 1. For HEALTHCHECK.\n',
  convert: 'Usage: ringmaster convert supervisord.conf|Procfile\n\nPrint the equivalent ringmaster YAML of a Supervisor INI config (with the files its\n[include] names) or of a Procfile (a file named Procfile or *.procfile) on stdout.\nComments list what has no equivalent. Problems go to stderr and make the exit code 2.\n',
  pidproxy: PIDPROXY_HELP,
  check: 'Usage: ringmaster check [-c FILE]\n\nValidate the config without starting anything. Prints every problem as\nFILE:LINE:COL: key: message and exits 2, or exits 0 when the config is good.\n',
};

// Before anything else: a shutdown signal while the config is read is kept, not lost (PID 1).
const releaseEarlySignals = holdEarlySignals();

async function main(argv: string[]): Promise<number> {
  // pidproxy takes CMD's arguments as they are (a `--` among them too); its signals are all forwarded.
  if (argv[0] === 'pidproxy') return pidproxy(argv.slice(1), releaseEarlySignals);
  const dashes = argv.indexOf('--');
  if (dashes >= 0) return single(argv.slice(0, dashes), argv.slice(dashes + 1), releaseEarlySignals);
  // ctl has flags of its own: hand it everything after the verb (and signals their default meaning).
  const ctlAt = argv[0] === 'ctl' ? 0 : (argv[0] === '-c' || argv[0] === '--config') && argv[2] === 'ctl' ? 2 : -1;
  if (ctlAt >= 0) {
    replayEarlySignals(releaseEarlySignals);
    return ctl(argv.slice(ctlAt + 1), ctlAt === 2 ? argv[1] : undefined);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    });
  } catch (err) {
    process.stderr.write(`ringmaster: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const verb = positionals[0] ?? 'run';
  // Only `run` handles them itself; every other verb gets a held signal's default meaning back.
  if (verb !== 'run' || values.help || values.version) replayEarlySignals(releaseEarlySignals);
  if (values.version) {
    process.stdout.write(`ringmaster ${pkg.version}\n`);
    return 0;
  }
  if (values.help) {
    // `ringmaster --help` is the overview; `ringmaster run --help` the run verb's.
    process.stdout.write((positionals[0] !== undefined && VERB_HELP[positionals[0]]) || USAGE);
    return 0;
  }
  if (verb === 'convert') {
    if (positionals.length > 2) {
      process.stderr.write(`ringmaster convert: unexpected argument "${positionals[2]}"\n`);
      return 2;
    }
    return convert(positionals[1] ?? values.config);
  }
  if (positionals.length > 1) {
    process.stderr.write(`ringmaster ${verb}: unexpected argument "${positionals[1]}"\n`);
    return 2;
  }
  switch (verb) {
    case 'run':
      return run(values.config, releaseEarlySignals);
    case 'check':
      return check(values.config);
    case 'healthcheck':
      return healthcheck(values.config);
    default:
      process.stderr.write(`ringmaster: unknown command "${verb}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Listeners (signals, the reaper's timer) may still hold the loop; the work is done.
    setImmediate(() => process.exit(code));
  },
  (err) => {
    process.stderr.write(`ringmaster: ${(err as Error).stack ?? err}\n`);
    process.exit(70);
  },
);
