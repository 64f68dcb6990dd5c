// SPEC §4, supervisor mode (`ringmaster run`): which signal does what, as PID 1 and not.
// USR1/USR2/WINCH (settings.forward_signals) reach every running program's process group, HUP
// reloads the config instead of reaching the programs, signal_rewrite applies to forwarded signals, SIGUSR1 never
// opens Node's debugger, and as PID 1 no other signal is acted on half-way.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { NO_UNSHARE, Ringmaster, canUnshare, childrenOf, sleep, writeConfig } from './support/ringmaster';

/** A program that prints `NAME got SIG` for each of `sigs`, and `NAME ready` once its traps are set. */
function trapper(name: string, sigs: string[]): string {
  const traps = sigs.map((s) => `trap "echo ${name} got ${s}" ${s};`).join(' ');
  return JSON.stringify(['sh', '-c', `${traps} echo ${name} ready; while :; do sleep 0.05; done`]);
}

function debuggerListening(): boolean {
  const tcp = readFileSync('/proc/net/tcp', 'utf8') + readFileSync('/proc/net/tcp6', 'utf8');
  return /:2405 [0-9A-F:]+ 0A /.test(tcp);
}

for (const pid1 of [false, true]) {
  const where = pid1 ? 'as PID 1' : 'not PID 1';
  describe(`supervisor mode signals ${where} (SPEC §4)`, { skip: pid1 && !canUnshare() ? NO_UNSHARE : undefined }, () => {
    it('forwards USR1, USR2 and WINCH to every program, HUP reloads instead, and USR1 opens no debugger', async () => {
      const sigs = ['USR1', 'USR2', 'WINCH', 'HUP'];
      const rm = new Ringmaster({ pid1, args: ['-c', writeConfig(`programs:
  one: {command: ${trapper('one', sigs)}, startsecs: 0}
  two: {command: ${trapper('two', sigs)}, startsecs: 0}
`)] });
      await rm.waitFor(/one ready[\s\S]*two ready|two ready[\s\S]*one ready/);
      for (const s of sigs.slice(0, 3)) {
        await rm.signal(`SIG${s}` as NodeJS.Signals);
        await rm.waitFor(new RegExp(`one got ${s}`));
        await rm.waitFor(new RegExp(`two got ${s}`));
      }
      await rm.signal('SIGHUP');
      await rm.waitFor(/reloaded: nothing changed/);
      await sleep(200);
      assert.doesNotMatch(rm.stdout, /got HUP/);
      assert.equal(debuggerListening(), false, 'something listens on 9229 after SIGUSR1');
      assert.doesNotMatch(rm.stderr, /Debugger listening/);
      await rm.signal('SIGTERM');
      assert.equal((await rm.wait()).code, 0);
    });

    it('applies signal_rewrite to forwarded signals', async () => {
      const rm = new Ringmaster({ pid1, args: ['-c', writeConfig(`settings:
  signal_rewrite: {USR1: USR2}
programs:
  p: {command: ${trapper('p', ['USR1', 'USR2'])}, startsecs: 0}
`)] });
      await rm.waitFor(/p ready/);
      await rm.signal('SIGUSR1');
      await rm.waitFor(/p got USR2/);
      assert.doesNotMatch(rm.stdout, /p got USR1/);
      await rm.signal('SIGTERM');
      assert.equal((await rm.wait()).code, 0);
    });

    it('job-control signals never stop ringmaster itself', async () => {
      const rm = new Ringmaster({ pid1, args: ['-c', writeConfig(`programs:\n  p: {command: ${trapper('p', [])}, startsecs: 0}\n`)] });
      await rm.waitFor(/p ready/);
      const pid = await rm.ringmasterPid();
      for (const s of ['SIGTSTP', 'SIGTTIN', 'SIGTTOU'] as const) await rm.signal(s);
      await sleep(200);
      const state = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1][0];
      assert.notEqual(state, 'T');
      await rm.signal('SIGTERM');
      assert.equal((await rm.wait()).code, 0);
    });
  });
}

describe('supervisor mode as PID 1: other signals are ignored deliberately (SPEC §4)', { skip: canUnshare() ? undefined : NO_UNSHARE }, () => {
  it('ALRM, PWR and ABRT leave ringmaster and its programs running; TERM still shuts down', async () => {
    const rm = new Ringmaster({ pid1: true, args: ['-c', writeConfig(`programs:\n  p: {command: ${trapper('p', [])}, startsecs: 0}\n`)] });
    await rm.waitFor(/p ready/);
    const pid = await rm.ringmasterPid();
    const [child] = childrenOf(pid);
    for (const s of ['SIGALRM', 'SIGPWR', 'SIGABRT', 'SIGXCPU'] as const) await rm.signal(s);
    await sleep(300);
    assert.equal(rm.proc.exitCode, null, 'ringmaster exited');
    assert.ok(childrenOf(pid).includes(child), 'the program was stopped');
    await rm.signal('SIGTERM');
    assert.equal((await rm.wait()).code, 0);
  });
});
