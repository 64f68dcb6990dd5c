import type { Supervisor } from '../supervisor/supervisor';

/**
 * SPEC §6 /readyz: ready when every autostarted program is RUNNING and passes its healthcheck
 * (if it has one), or has ended with an expected code and is not to be restarted (a finished
 * migration). The reasons when not.
 */
export function readiness(sup: Supervisor): { ready: boolean; reasons: string[] } {
  const reasons: string[] = [];
  if (sup.isShuttingDown) reasons.push('ringmaster is shutting down');
  for (const p of sup.processes) {
    const program = p.spec.program;
    if (!program.autostart || program.disabled) continue;
    if (p.state === 'RUNNING') {
      const health = sup.healthOf(p);
      if (!program.healthcheck || health?.status === 'healthy') continue;
      reasons.push(`${p.spec.namespec} is RUNNING but ${health?.status ?? 'not checked yet'}${health?.output ? ` (${health.output})` : ''}`);
      continue;
    }
    const waiting = sup.waitingReason(p);
    if (waiting) {
      reasons.push(`${p.spec.namespec} is ${waiting}`);
      continue;
    }
    if (p.state === 'EXITED' && !p.active && p.lastExit && program.exitcodes.includes(p.exitCode())) continue;
    reasons.push(`${p.spec.namespec} is ${p.state}${p.description ? ` (${p.description})` : ''}`);
  }
  return { ready: reasons.length === 0, reasons };
}
