// Issue #11: the shape of src/ lasts because this test reads its import graph and fails on any
// import that breaks the rules of shared/STYLE.md ("What may import what"), as ringmaster has them.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './support/ringmaster';

const SRC = path.join(ROOT, 'src');

/** Every src file (relative, without extension) -> the src files it imports (type imports included). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of readdirSync(SRC, { recursive: true }).map(String).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(path.join(SRC, file), 'utf8');
    const from = file.replace(/\.ts$/, '');
    const targets: string[] = [];
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^'";]*?from\s+'(\.[^']+)'/gm)) {
      // A file bundled as text (the web page's CSS and script) is an asset, not a module.
      if (/\.(css|js)$/.test(m[1])) continue;
      let target = path.normalize(path.join(path.dirname(from), m[1]));
      if (readdirSync(path.join(SRC, path.dirname(target))).includes(`${path.basename(target)}.ts`)) targets.push(target);
      else targets.push(path.join(target, 'index'));
    }
    graph.set(from, targets);
  }
  return graph;
}

const graph = importGraph();
const folder = (f: string) => (f.includes('/') ? f.slice(0, f.indexOf('/')) : '');
/** The leaves everyone may import: the vocabulary, the bus, the error catalog, signal names and kill(2), exit-code arithmetic. */
// cron: the schedule arithmetic (croner), shared by config/ to check and supervisor/ to arm timers.
const LEAVES = new Set(['types', 'bus', 'errors', 'signal-util', 'exit-status', 'cron']);

function violations(rule: (from: string, to: string) => string | null): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const why = rule(from, to);
      if (why) out.push(`src/${from}.ts imports src/${to}.ts: ${why}`);
    }
  }
  return out;
}

describe('the import graph of src/ (issue #11)', () => {
  it('reads the graph (the test itself sees the imports it judges)', () => {
    assert.ok(graph.size > 50, `only ${graph.size} files`);
    assert.ok(graph.get('cli/run')!.includes('supervisor/supervisor'), 'run.ts builds the Supervisor');
    assert.ok(graph.get('control/json-api')!.includes('supervisor/api'));
  });

  it('the leaves import nothing but each other and config types', () => {
    assert.deepEqual(violations((from, to) => (LEAVES.has(from) && !LEAVES.has(to) && to !== 'config/types' ? 'a leaf imports only leaves' : null)), []);
  });

  it('config/ imports no other folder', () => {
    assert.deepEqual(violations((from, to) => (folder(from) === 'config' && folder(to) !== 'config' && !LEAVES.has(to) ? 'config stands alone' : null)), []);
  });

  it('supervisor/ imports config types, the leaves and itself only (spawning, output, users are handed in)', () => {
    assert.deepEqual(
      violations((from, to) => (folder(from) === 'supervisor' && folder(to) !== 'supervisor' && !LEAVES.has(to) && to !== 'config/types' ? 'the core hands out nothing it does not own' : null)),
      [],
    );
  });

  it('output/ and pid1/ import only the leaves, config types and their own folder', () => {
    assert.deepEqual(
      violations((from, to) => (['output', 'pid1'].includes(folder(from)) && folder(to) !== folder(from) && !LEAVES.has(to) && to !== 'config/types' ? 'a low layer' : null)),
      [],
    );
  });

  it('ready/ (the programs\' readiness channels) imports only the leaves, config types, pid1/ and itself', () => {
    assert.deepEqual(
      violations((from, to) => (folder(from) === 'ready' && !['ready', 'pid1'].includes(folder(to)) && !LEAVES.has(to) && to !== 'config/types' ? 'a channel owns no program state' : null)),
      [],
    );
  });

  it('front ends see the supervisor only through supervisor/api.ts', () => {
    const frontEnds = new Set(['control', 'health', 'events', 'watch']);
    assert.deepEqual(
      violations((from, to) => {
        const front = frontEnds.has(folder(from)) || from === 'cli/ctl';
        return front && folder(to) === 'supervisor' && to !== 'supervisor/api' ? 'one door: SupervisorApi' : null;
      }),
      [],
    );
  });

  it('only cli/run.ts (the composition root) imports the Supervisor class and the local API', () => {
    assert.deepEqual(
      violations((from, to) => ((to === 'supervisor/supervisor' || to === 'supervisor/local-api') && folder(from) !== 'supervisor' && from !== 'cli/run' ? 'composition root only' : null)),
      [],
    );
  });

  it('the web interface (control/web/) is reached only from json-api.ts and sees the supervisor only as SupervisorApi', () => {
    // What it may use of control/: reading bodies and HTTP errors, Supervisor's description.
    const allowed = new Set(['supervisor/api', 'control/http-util', 'control/xmlrpc/calls']);
    assert.deepEqual(
      violations((from, to) => {
        const web = (f: string) => f.startsWith('control/web/');
        if (web(from) && !web(to) && !LEAVES.has(to) && !allowed.has(to)) return 'the web page uses SupervisorApi and a few control helpers only';
        if (!web(from) && web(to) && !(from === 'control/json-api' && to === 'control/web/routes')) return 'the web page is served through json-api.ts';
        return null;
      }),
      [],
    );
    assert.ok(graph.get('control/json-api')!.includes('control/web/routes'));
  });

  it('the stage runner drives processes and nothing else; the hook runner knows nothing of the supervisor (issue #15)', () => {
    assert.deepEqual(graph.get('supervisor/stages')!.filter((t) => !['config/types', 'types', 'supervisor/process'].includes(t)), []);
    assert.deepEqual(graph.get('cli/hooks')!.filter((t) => folder(t) === 'supervisor'), []);
    assert.deepEqual(graph.get('config/lifecycle')!.filter((t) => folder(t) !== 'config'), []);
  });

  it('nothing outside supervisor/ touches a SupervisedProcess, except launch handing it a child', () => {
    assert.deepEqual(
      violations((from, to) => (to === 'supervisor/process' && folder(from) !== 'supervisor' && from !== 'cli/launch' ? 'program state is the supervisor\'s' : null)),
      [],
    );
  });
});
