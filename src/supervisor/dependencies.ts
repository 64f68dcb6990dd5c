// depends_on at runtime (SPEC §2, §4): which processes may start now, why the others wait, and
// the order of the shutdown. Everything is computed from the current process list on each call,
// so processes added or removed at runtime (reload) are taken as they are.
import type { Dependency } from '../config/types';
import type { HealthState, Log } from '../types';
import type { SupervisedProcess } from './process';

export interface DependencyView {
  readonly processes: readonly SupervisedProcess[];
  healthOf(p: SupervisedProcess): HealthState | undefined;
}

export interface GateHooks {
  /** Start the process (its dependencies are met). */
  start(p: SupervisedProcess): void;
  /** False during the shutdown: nothing more is started. */
  mayStart(): boolean;
  log: Log;
  /**
   * A dependency ended for good without meeting its condition: `p` can never start on its own.
   * The exit policy treats it as ended with the dependency's code.
   */
  blocked(p: SupervisedProcess, code: number, why: string): void;
}

type Verdict = { met: true } | { met: false; why: string; blockedCode?: number };

/** Whether `q` ended for good (not running, no restart pending) and with one of its expected codes. */
function endedForGood(q: SupervisedProcess): { expected: boolean; code: number } | null {
  if (q.active) return null;
  if (q.state === 'FATAL') return { expected: false, code: q.exitCode() };
  if (q.state === 'EXITED' && q.lastExit) return { expected: q.spec.program.exitcodes.includes(q.exitCode()) && q.lastExit.signal === null, code: q.exitCode() };
  return null;
}

function check(d: Dependency, q: SupervisedProcess, view: DependencyView): Verdict {
  const ended = endedForGood(q);
  const name = q.spec.namespec;
  switch (d.condition) {
    case 'started':
      if (q.state === 'RUNNING' || ended?.expected) return { met: true };
      break;
    case 'healthy': {
      const health = view.healthOf(q);
      if (q.state === 'RUNNING' && health?.status === 'healthy') return { met: true };
      if (q.state === 'RUNNING' && health) return { met: false, why: `${name} is ${health.status}${health.output ? ` (${health.output})` : ''}` };
      if (ended) return { met: false, why: `${name} ended (exit code ${ended.code}) without becoming healthy`, blockedCode: ended.code };
      break;
    }
    case 'completed':
      if (ended?.expected) return { met: true };
      break;
  }
  if (ended && !ended.expected) {
    const how = q.state === 'FATAL' ? 'entered FATAL' : `exited with code ${ended.code}`;
    return { met: false, why: `${name} ${how}`, blockedCode: ended.code };
  }
  return { met: false, why: `${name} is ${q.state}` };
}

/**
 * Holds processes whose dependencies are not met yet and starts each as soon as they are. It
 * re-checks on every state and health change, so a dependency that recovers after a transient
 * failure still releases its dependents (process-compose #544, #189): a process waits until its
 * conditions hold at one moment, whatever happened before. A waiting process is in the `waiting`
 * sub-state of STOPPED, with the reason; the gate keeps only the list of them.
 */
export class DependencyGate {
  private readonly waiting = new Set<SupervisedProcess>();
  private readonly reportedBlocked = new Set<SupervisedProcess>();
  private busy = false;
  private again = false;

  constructor(
    private readonly view: DependencyView,
    private readonly hooks: GateHooks,
  ) {}

  /** Start `p` now if its dependencies are met, else as soon as they are. */
  request(p: SupervisedProcess): void {
    this.waiting.add(p);
    p.waitForDependencies('');
    this.reevaluate();
  }

  /** Forget a waiting process (stopped by request, started by hand, removed); true if it waited. */
  cancel(p: SupervisedProcess): boolean {
    this.reportedBlocked.delete(p);
    p.stopWaiting();
    return this.waiting.delete(p);
  }

  /** Forget every waiting process (the shutdown). */
  clear(): void {
    for (const p of this.waiting) p.stopWaiting();
    this.waiting.clear();
    this.reportedBlocked.clear();
  }

  /** Why `p` waits, e.g. `waiting for migrate (completed): migrate is RUNNING`, or `blocked …`; '' if it does not. */
  reason(p: SupervisedProcess): string {
    return p.sub.kind === 'waiting' ? p.sub.reason : '';
  }

  isWaiting(p: SupervisedProcess): boolean {
    return this.waiting.has(p);
  }

  /** Look at every waiting process again; re-entrant calls (a start changes states) loop here. */
  reevaluate(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        for (const p of [...this.waiting.keys()]) if (this.waiting.has(p)) this.evaluate(p);
      } while (this.again);
    } finally {
      this.busy = false;
    }
  }

  private evaluate(p: SupervisedProcess): void {
    if (!this.view.processes.includes(p)) return void this.cancel(p); // removed meanwhile
    // Started or stopped by other means: the process's sub-state is the truth, the set only a list.
    if (p.sub.kind !== 'waiting' || p.active) return void this.cancel(p);
    if (!this.hooks.mayStart()) return;
    const unmet: string[] = [];
    let blocked: { code: number; why: string } | undefined;
    for (const d of p.spec.program.dependsOn) {
      const targets = this.view.processes.filter((q) => q.spec.program.name === d.program);
      if (targets.length === 0) unmet.push(`${d.program} (${d.condition}): no such program`);
      for (const q of targets) {
        const v = check(d, q, this.view);
        if (v.met) continue;
        unmet.push(`${q.spec.namespec} (${d.condition}): ${v.why}`);
        if (v.blockedCode !== undefined && !blocked) blocked = { code: v.blockedCode, why: v.why };
      }
    }
    if (unmet.length === 0) {
      this.cancel(p);
      if (p.spec.program.dependsOn.length > 0) this.hooks.log(`${p.name}: dependencies met, starting`);
      this.hooks.start(p);
      return;
    }
    const first = this.reason(p) === '';
    p.waitForDependencies(`${blocked ? 'blocked by' : 'waiting for'} ${unmet.join('; ')}`);
    if (first && !blocked) this.hooks.log(`${p.name} waits for ${unmet.join('; ')}`);
    if (!blocked) return void this.reportedBlocked.delete(p);
    if (this.reportedBlocked.has(p)) return;
    this.reportedBlocked.add(p);
    this.hooks.log(`${p.name} cannot start: ${blocked.why}`, 'warn');
    this.hooks.blocked(p, blocked.code, blocked.why);
  }
}

/**
 * Shutdown levels (SPEC §4): dependents before their dependencies, then the highest priority
 * number first; each level stops in parallel and is gone before the next. Without depends_on
 * this is the plain reverse priority order.
 */
export function stopLevels(processes: readonly SupervisedProcess[]): SupervisedProcess[][] {
  const programs = new Map(processes.map((p) => [p.spec.program.name, p.spec.program]));
  const depth = new Map<string, number>();
  const depthOf = (name: string, seen: Set<string>): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    const program = programs.get(name);
    if (!program || seen.has(name)) return 0; // removed, or a cycle (the config forbids them)
    seen.add(name);
    let d = 0;
    for (const dep of program.dependsOn) if (programs.has(dep.program)) d = Math.max(d, depthOf(dep.program, seen) + 1);
    seen.delete(name);
    depth.set(name, d);
    return d;
  };
  const levels = new Map<string, { depth: number; priority: number; members: SupervisedProcess[] }>();
  for (const p of processes) {
    const d = depthOf(p.spec.program.name, new Set());
    const key = `${d}/${p.spec.program.priority}`;
    if (!levels.has(key)) levels.set(key, { depth: d, priority: p.spec.program.priority, members: [] });
    levels.get(key)!.members.push(p);
  }
  return [...levels.values()].sort((a, b) => b.depth - a.depth || b.priority - a.priority).map((l) => l.members);
}
