import { processNames } from '../../src/config/process-name';
import type { ProgramConfig } from '../../src/config/types';
import type { ExitStatus } from '../../src/exit-status';

/** A ProgramConfig with Supervisor's defaults, for unit tests of the state machine. */
export function program(overrides: Partial<ProgramConfig> = {}): ProgramConfig {
  const p: ProgramConfig = {
    name: 'p',
    argv: ['true'],
    commandText: 'true',
    shell: false,
    environment: {},
    autostart: true,
    autorestart: 'unexpected',
    exitcodes: [0],
    startsecsMs: 1000,
    startretries: 3,
    backoff: { initialMs: 1000, maxMs: 30000, resetMs: 60000 },
    stopsignal: 'SIGTERM',
    stopwaitsecsMs: 10000,
    stopasgroup: true,
    killasgroup: true,
    priority: 999,
    numprocs: 1,
    numprocsStart: 0,
    processName: '%(program_name)s',
    redirectStderr: false,
    disabled: false,
    critical: false,
    stripAnsi: false,
    group: overrides.name ?? 'p',
    dependsOn: [],
    stage: 'main',
    hooks: {},
    hookTimeoutMs: 30000,
    source: { file: 'test.yaml', line: 1, col: 1 },
    processNames: [],
    ...overrides,
  };
  if (!overrides.processNames) p.processNames = processNames(p);
  return p;
}

// Pids above the kernel's pid_max: any signal sent to them fails with ESRCH.
let nextPid = 6_000_000;

/** ProcessDeps.spawn over scripted children (no OS process): `exits[i](status)` ends the i-th. */
export function scriptedChildren() {
  const exits: Array<(s: ExitStatus) => void> = [];
  const spawn = () => {
    let resolve!: (s: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((r) => (resolve = r));
    exits.push(resolve);
    return { pid: nextPid++, exited };
  };
  return { spawn, exits };
}
