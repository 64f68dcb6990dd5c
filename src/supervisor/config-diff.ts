import type { Config, ProgramConfig } from '../config/types';

/** Programs (or groups) of a newly read config compared with the running ones, by name. */
export interface ConfigDiff {
  added: string[];
  changed: string[];
  removed: string[];
}

/** JSON with sorted keys, so the order keys were written in never counts as a change. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/** What a program runs as, without where it was written (moving a line is not a change). */
export function programKey(p: ProgramConfig): string {
  const { source: _source, dependsOn, healthcheck, ...rest } = p;
  return canonical({
    ...rest,
    dependsOn: dependsOn.map(({ source: _s, ...d }) => d),
    healthcheck: healthcheck && { ...healthcheck, source: undefined },
  });
}

function diffBy<T>(current: Map<string, T>, next: Map<string, T>, same: (a: T, b: T) => boolean): ConfigDiff {
  const added = [...next.keys()].filter((n) => !current.has(n)).sort();
  const removed = [...current.keys()].filter((n) => !next.has(n)).sort();
  const changed = [...next.keys()].filter((n) => current.has(n) && !same(current.get(n)!, next.get(n)!)).sort();
  return { added, changed, removed };
}

/** Per program: what `ringmaster ctl reload` and SIGHUP apply. */
export function diffPrograms(current: readonly ProgramConfig[], next: readonly ProgramConfig[]): ConfigDiff {
  const byName = (list: readonly ProgramConfig[]) => new Map(list.map((p) => [p.name, programKey(p)]));
  return diffBy(byName(current), byName(next), (a, b) => a === b);
}

/** Programs of each group, keyed by group name. */
export function programsByGroup(programs: readonly ProgramConfig[]): Map<string, ProgramConfig[]> {
  const groups = new Map<string, ProgramConfig[]>();
  for (const p of programs) {
    const list = groups.get(p.group) ?? [];
    list.push(p);
    groups.set(p.group, list);
  }
  return groups;
}

/** Per group, as Supervisor's reloadConfig reports it (a group changes when any member does). */
export function diffGroups(current: readonly ProgramConfig[], next: Config): ConfigDiff {
  const key = (list: ProgramConfig[]) => list.map(programKey).sort().join('\n');
  const byGroup = (programs: readonly ProgramConfig[]) => new Map([...programsByGroup(programs)].map(([g, list]) => [g, key(list)]));
  return diffBy(byGroup(current), byGroup(next.programs), (a, b) => a === b);
}
