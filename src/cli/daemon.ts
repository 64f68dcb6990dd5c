// `pidfile:` (SPEC §9): after a daemonizing command exited, find the daemon it left behind and
// hand it to the state machine as the process. The daemon is ringmaster's child by then (its
// parents exited and ringmaster is init or child subreaper), so its exit is reaped by the
// Reaper and comes here at once, with its real status, instead of as an unknown orphan.
import { readFileSync, statSync } from 'node:fs';
import type { ExitStatus, ProcessSpec } from '../types';
import { procInfo } from '../pid1/proc';
import { trackChild, untrackChild } from '../pid1/reaper';

export interface FoundDaemon {
  pid: number;
  /** Its process group (the pid itself when it leads one, as after setsid); 0 if it is ringmaster's. */
  pgid: number;
  exited: Promise<ExitStatus>;
  /** Stop listening for its exit (the start was given up on). */
  release(): void;
}

/** Between looks at the pid file while a start waits for it (only then; there is no event for "reparented"). */
const LOOK_MS = 25;
/**
 * A file's mtime comes from the kernel's coarse clock, which may lag Date.now() by a tick:
 * a pid file written just after the start must not look older than the start.
 */
const MTIME_SLACK_MS = 20;

/**
 * Wait (up to `waitMs`, at least one look) for `spec.program.pidfile` to name a live child of
 * ringmaster, written since `since`. Resolves with the daemon, or with why the start failed.
 */
export function findDaemon(spec: ProcessSpec, since: number, waitMs: number): Promise<FoundDaemon | { failure: string }> {
  const file = spec.program.pidfile!;
  const until = Date.now() + waitMs;
  return new Promise((resolve) => {
    const look = () => {
      const seen = lookAt(file, since);
      if (typeof seen === 'number') return resolve(adopt(seen));
      if (seen.final || Date.now() >= until) return resolve({ failure: seen.why });
      setTimeout(look, LOOK_MS);
    };
    look();
  });
}

/** The pid the file names, once it is a live child of ours; else why not, and whether waiting may help. */
function lookAt(file: string, since: number): number | { why: string; final: boolean } {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) return { why: `pidfile ${file} did not appear`, final: false };
  if (st.mtimeMs + MTIME_SLACK_MS < since) return { why: `pidfile ${file} was not written since this start (left from an earlier run?)`, final: false };
  let text: string;
  try {
    text = readFileSync(file, 'latin1').trim();
  } catch (err) {
    return { why: `cannot read pidfile ${file}: ${(err as NodeJS.ErrnoException).code}`, final: false };
  }
  // A daemon may create the file before it writes its pid: wait for the pid.
  if (!/^\d+$/.test(text) || Number(text) < 2) return { why: `pidfile ${file} holds no pid (${JSON.stringify(text.slice(0, 40))})`, final: false };
  const pid = Number(text);
  const info = procInfo(pid);
  if (!info || (info.state === 'Z' && info.ppid !== process.pid)) return { why: `pidfile ${file} names pid ${pid}, which is not running`, final: true };
  // Its parent may still be on its way out (a double fork): it comes to us once that exits.
  if (info.ppid !== process.pid) return { why: `pid ${pid} from ${file} is not a child of ringmaster (its parent is ${info.ppid}); ringmaster can only supervise a daemon it is init or subreaper of`, final: false };
  return pid;
}

function adopt(pid: number): FoundDaemon {
  let done!: (s: ExitStatus) => void;
  const exited = new Promise<ExitStatus>((resolve) => (done = resolve));
  // Synchronously after the check that it is our child: the Reaper cannot have taken its status
  // in between (it reaps on a later turn of the loop), so an exit even now comes to `exited`.
  trackChild(pid, done);
  const pgrp = procInfo(pid)?.pgrp ?? pid;
  // Never ringmaster's own group as the daemon's (a group signal would reach ringmaster): 0, none.
  const pgid = pgrp === procInfo(process.pid)?.pgrp ? 0 : pgrp;
  return { pid, pgid, exited, release: () => untrackChild(pid) };
}
