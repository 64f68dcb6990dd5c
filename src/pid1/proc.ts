// The one reader of processes from /proc: ringmaster's children and a process's group.
import { readdirSync, readFileSync } from 'node:fs';

/** Fields after the command name of /proc/PID/stat (it may hold spaces and parens): state ppid pgrp … */
function statFields(pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null; // gone meanwhile
  }
}

/**
 * Every live child of this process (of all its threads), from /proc/self/task/N/children; where
 * that file is missing (kernels without CONFIG_PROC_CHILDREN), by scanning /proc for our ppid.
 * Zombies only with `zombies` (the reaper wants them; a leftover hunt does not). Null when /proc
 * cannot be read at all.
 */
export function childPids(opts: { zombies: boolean }): number[] | null {
  try {
    const pids: number[] = [];
    for (const tid of readdirSync('/proc/self/task')) {
      for (const p of readFileSync(`/proc/self/task/${tid}/children`, 'latin1').split(' ')) {
        if (p && (opts.zombies || statFields(p)?.[0] !== 'Z')) pids.push(Number(p));
      }
    }
    return pids;
  } catch {
    return scanForChildren(opts.zombies);
  }
}

function scanForChildren(zombies: boolean): number[] | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  const me = String(process.pid);
  const pids: number[] = [];
  for (const entry of entries) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const f = statFields(entry);
    if (f && f[1] === me && (zombies || f[0] !== 'Z')) pids.push(Number(entry));
  }
  return pids;
}

/** The process group of `pid` (0 when it is gone). */
export function pgidOf(pid: number): number {
  return Number(statFields(pid)?.[2] ?? 0);
}

/** Every live process below `root` (children, their children, …), from one pass over /proc. */
export function descendantPids(root = process.pid): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const entry of entries) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const f = statFields(entry);
    if (!f || f[0] === 'Z') continue;
    const ppid = Number(f[1]);
    const list = children.get(ppid);
    if (list) list.push(Number(entry));
    else children.set(ppid, [Number(entry)]);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    for (const pid of children.get(todo.pop()!) ?? []) {
      out.push(pid);
      todo.push(pid);
    }
  }
  return out;
}

/** State letter, parent and process group of `pid`, or null when it is gone. */
export function procInfo(pid: number): { state: string; ppid: number; pgrp: number } | null {
  const f = statFields(pid);
  return f ? { state: f[0], ppid: Number(f[1]), pgrp: Number(f[2]) } : null;
}
