// State-changing calls for real program names, valid and broken, through XML-RPC and the JSON API
// (issue #12, "keep it fixed"). One request at a time against the built bundle, with a model of
// what every process must be after it: a valid stop stops, a valid start starts (a new pid), a
// signal, a fault or a 4xx changes nothing. After every request the real state (GET /v1/status)
// must equal the model's, every answer must be well-formed (XML that parses, a fault with the
// predicted code, JSON), nothing may print a stack trace, and RSS stays bounded.
// Reproduce: FUZZ_SEED=<printed seed>; FUZZ_STATE_COUNT changes the number of requests.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SaxesParser } from 'saxes';
import { encodeCall, type RpcValue } from '../src/control/xmlrpc/codec';
import { rngFor, type Rng } from './support/config-fuzz';
import { Ringmaster, tempDir, writeConfig } from './support/ringmaster';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const COUNT = Number(process.env.FUZZ_STATE_COUNT ?? 300) || 300;

const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)];

/** Every process: Supervisor's name for it, its group, and whether it starts on its own. */
const PROCESSES = ['sa', 'sb', 'spool:spool_00', 'spool:spool_01', 'sidle'] as const;
type Name = (typeof PROCESSES)[number];
const GROUP_OF: Record<Name, string> = { sa: 'sa', sb: 'sb', 'spool:spool_00': 'spool', 'spool:spool_01': 'spool', sidle: 'sidle' };
/** Names a request may use, and which processes each one means. */
const TARGETS: Record<string, Name[]> = {
  sa: ['sa'], sb: ['sb'], sidle: ['sidle'], 'spool:spool_00': ['spool:spool_00'], spool_01: ['spool:spool_01'], 'spool:*': ['spool:spool_00', 'spool:spool_01'],
};
const NAMES = Object.keys(TARGETS);

interface Model {
  running: Record<Name, boolean>;
  pid: Record<Name, number>;
  /** Processes a valid start has restarted since the last check: their pid is allowed to change. */
  restarted: Set<Name>;
}

interface Answer {
  status: number;
  body: string;
}

function post(socket: string, agent: Agent, urlPath: string, body: string, type: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, agent, method: 'POST', path: urlPath, headers: { 'content-type': type, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.setTimeout(20_000, () => req.destroy(new Error(`POST ${urlPath} not answered in 20 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A methodResponse that parses strictly; its fault code, or null for a value. */
function rpcFault(xml: string): number | null {
  const p = new SaxesParser();
  let root = '';
  p.on('opentag', (t) => (root ||= t.name));
  p.write(xml).close();
  assert.equal(root, 'methodResponse', `not a methodResponse: ${xml.slice(0, 300)}`);
  const m = /<fault>[\s\S]*?<name>faultCode<\/name>\s*<value><int>(-?\d+)<\/int>/.exec(xml);
  return m ? Number(m[1]) : null;
}

/** One step: the request, and what the model says it must answer and change. */
interface Step {
  what: string;
  send: () => Promise<Answer>;
  /** Checks the answer against the model as it was before, then moves the model. */
  apply: (a: Answer, m: Model) => void;
}

function stepFor(r: Rng, socket: string, agent: Agent): Step {
  const name = pick(r, NAMES);
  const procs = TARGETS[name];
  const rpc = (method: string, params: RpcValue[]) => () => post(socket, agent, '/RPC2', encodeCall(method, params), 'text/xml');
  const json = (route: string, body: unknown) => () => post(socket, agent, route, JSON.stringify(body), 'application/json');
  const single = !name.endsWith(':*');
  switch (int(r, 12)) {
    case 0:
    case 1: {
      // A valid stop: NOT_RUNNING (70) for a single stopped process; a group call answers an array.
      return {
        what: `stopProcess(${name})`,
        send: rpc('supervisor.stopProcess', [name, true]),
        apply: (a, m) => {
          assert.equal(a.status, 200);
          const fault = rpcFault(a.body);
          if (single) assert.equal(fault, m.running[procs[0]] ? null : 70, a.body);
          else assert.equal(fault, null, a.body);
          for (const p of procs) m.running[p] = false;
        },
      };
    }
    case 2:
    case 3: {
      return {
        what: `startProcess(${name})`,
        send: rpc('supervisor.startProcess', [name, true]),
        apply: (a, m) => {
          assert.equal(a.status, 200);
          const fault = rpcFault(a.body);
          if (single) assert.equal(fault, m.running[procs[0]] ? 60 : null, a.body);
          else assert.equal(fault, null, a.body);
          for (const p of procs) if (!m.running[p]) (m.running[p] = true), m.restarted.add(p);
        },
      };
    }
    case 4: {
      const verb = pick(r, ['stop', 'start'] as const);
      return {
        what: `POST /v1/${verb} ${name}`,
        send: json(`/v1/${verb}`, { names: [name], wait: true }),
        apply: (a, m) => {
          assert.equal(a.status, 200, a.body);
          const results = JSON.parse(a.body).results as Array<{ ok: boolean; fault?: string }>;
          if (single) assert.equal(results.length, 1, a.body);
          for (const [i, p] of procs.entries()) {
            const should = verb === 'stop' ? m.running[p] : !m.running[p];
            if (single) assert.equal(results[i]?.ok, should, a.body);
            if (verb === 'stop') m.running[p] = false;
            else if (!m.running[p]) (m.running[p] = true), m.restarted.add(p);
          }
        },
      };
    }
    case 5: {
      // A harmless signal to real processes: answers, changes nothing.
      const sig = pick(r, ['CONT', 'WINCH', 'URG', 18]);
      return {
        what: `signalProcess(${name}, ${sig})`,
        send: rpc('supervisor.signalProcess', [name, sig]),
        apply: (a, m) => {
          assert.equal(a.status, 200);
          const fault = rpcFault(a.body);
          if (single) assert.equal(fault, m.running[procs[0]] ? null : 70, a.body);
        },
      };
    }
    case 6: {
      // Broken calls that name a real process: each must fault (or 400) and change nothing.
      const broken: Array<[string, RpcValue[]]> = [
        ['supervisor.stopProcess', [7]],
        ['supervisor.stopProcess', [[name]]],
        ['supervisor.stopProcess', [{ name }]],
        ['supervisor.startProcess', [name, true, 3]],
        ['supervisor.startProcess', [name, 'yes']],
        ['supervisor.signalProcess', [name, pick(r, ['NOPE', '', -1, 999, 'KILLL', 'SIG'])]],
        ['supervisor.signalProcess', [name]],
        ['supervisor.StopProcess', [name]],
        ['supervisor.stopProcessGroup', [name + 'x']],
        ['supervisor.startProcess', [name + ':nosuch']],
        ['supervisor.startProcess', [`${name}\n`]],
        ['__proto__.stopProcess', [name]],
        ['supervisor.sendProcessStdin', [name, 5]],
      ];
      const [method, params] = pick(r, broken);
      return {
        what: `${method}(${JSON.stringify(params)})`,
        send: rpc(method, params),
        apply: (a) => {
          if (a.status === 400) return;
          assert.equal(a.status, 200);
          assert.notEqual(rpcFault(a.body), null, `a broken call succeeded: ${a.body.slice(0, 300)}`);
        },
      };
    }
    case 7: {
      // A valid call cut or bent somewhere: a 400 or a fault, never half an action.
      const xml = encodeCall(pick(r, ['supervisor.stopProcess', 'supervisor.startProcess']), [name, true]);
      const at = int(r, xml.length - 20);
      const bent = pick(r, [xml.slice(0, at), xml.slice(0, at) + '<' + xml.slice(at), xml.replace('<string>', '<int>'), xml.replace('</methodName>', '</methodname>'), xml.replace(/<param>/, '<param><value><string>x</string></value></param><param>')]);
      return {
        what: `bent XML ${JSON.stringify(bent.slice(0, 120))}`,
        send: () => post(socket, agent, '/RPC2', bent, 'text/xml'),
        apply: (a) => {
          if (a.status === 400) return;
          assert.equal(a.status, 200, a.body);
          assert.notEqual(rpcFault(a.body), null, `bent XML succeeded: ${bent}`);
        },
      };
    }
    case 8: {
      const route = pick(r, ['/v1/stop', '/v1/start', '/v1/signal']);
      const bodies: unknown[] = route === '/v1/signal'
        ? [{ signal: { toString: 'x' }, names: [name] }, { signal: ['HUP'], names: [name] }, { names: [name], signal: 'NOPE' }, { names: [name] }, { names: [name], signal: null }, { names: name, signal: 'CONT' }]
        : [{ names: name }, { names: [7] }, { names: [name], wait: 'yes' }, { names: [[name]] }, [name], null, 'x', {}];
      const body = pick(r, bodies);
      return {
        what: `POST ${route} ${JSON.stringify(body)}`,
        send: json(route, body),
        apply: (a) => {
          const parsed = JSON.parse(a.body);
          if (a.status === 200) {
            // Accepted as a request: then every target must have failed (BAD_NAME…), nothing done.
            assert.ok((parsed.results as Array<{ ok: boolean }>).every((x) => !x.ok), `a broken body did something: ${a.body}`);
          } else assert.ok(a.status >= 400 && a.status < 500, `${a.status} ${a.body}`);
        },
      };
    }
    case 9: {
      // A multicall mixing valid stops and starts with bad calls, run in order.
      const calls: Array<{ m: string; n: string; ok: boolean }> = Array.from({ length: 1 + int(r, 5) }, () => {
        const n = pick(r, NAMES.filter((x) => !x.endsWith(':*')));
        return pick(r, [{ m: 'supervisor.stopProcess', n, ok: true }, { m: 'supervisor.startProcess', n, ok: true }, { m: 'supervisor.stopProcess', n: n + 'x', ok: false }, { m: 'supervisor.nosuch', n, ok: false }]);
      });
      const params: RpcValue[] = [calls.map((c) => ({ methodName: c.m, params: [c.n, true] }))];
      return {
        what: `multicall ${calls.map((c) => `${c.m}(${c.n})`).join(', ')}`,
        send: rpc('system.multicall', params),
        apply: (a, m) => {
          assert.equal(a.status, 200);
          assert.equal(rpcFault(a.body), null, a.body);
          for (const c of calls) {
            if (!c.ok) continue;
            const p = TARGETS[c.n][0];
            if (c.m === 'supervisor.stopProcess') m.running[p] = false;
            else if (!m.running[p]) (m.running[p] = true), m.restarted.add(p);
          }
        },
      };
    }
    case 10: {
      const group = GROUP_OF[procs[0]];
      const verb = pick(r, ['stop', 'start'] as const);
      const members = PROCESSES.filter((p) => GROUP_OF[p] === group);
      return {
        what: `${verb}ProcessGroup(${group})`,
        send: rpc(`supervisor.${verb}ProcessGroup`, [group, true]),
        apply: (a, m) => {
          assert.equal(a.status, 200);
          assert.equal(rpcFault(a.body), null, a.body);
          for (const p of members) {
            if (verb === 'stop') m.running[p] = false;
            else if (!m.running[p]) (m.running[p] = true), m.restarted.add(p);
          }
        },
      };
    }
    default: {
      // Reads on real names in between: nothing changes.
      const [method, params] = pick(r, [
        ['supervisor.getProcessInfo', [name]],
        ['supervisor.readProcessStdoutLog', [name, 0, 100]],
        ['supervisor.tailProcessStderrLog', [name, 0, 100]],
        ['supervisor.getAllProcessInfo', []],
      ] as Array<[string, RpcValue[]]>);
      return {
        what: `${method}(${name})`,
        send: rpc(method, params),
        apply: (a) => {
          assert.equal(a.status, 200);
          rpcFault(a.body);
        },
      };
    }
  }
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

describe(`state-changing calls on real names (seed ${SEED}): the state is exactly what the accepted calls asked for`, () => {
  const dir = tempDir('rm-state-fuzz-');
  const socket = path.join(dir, 'rm.sock');
  let rm: Ringmaster;
  let agent: Agent;
  const model: Model = { running: { sa: true, sb: true, 'spool:spool_00': true, 'spool:spool_01': true, sidle: false }, pid: {} as Record<Name, number>, restarted: new Set() };

  const actual = async () => {
    const a = await new Promise<Answer>((resolve, reject) => {
      const req = request({ socketPath: socket, agent, path: '/v1/status' }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.setTimeout(20_000, () => req.destroy(new Error('status not answered')));
      req.on('error', reject);
      req.end();
    });
    const list = JSON.parse(a.body).processes as Array<{ namespec: string; statename?: string; state: string; pid: number }>;
    return new Map(list.map((p) => [p.namespec, { state: p.statename ?? p.state, pid: p.pid }]));
  };

  before(async () => {
    console.log(`state fuzz seed ${SEED} (reproduce with FUZZ_SEED=${SEED}), ${COUNT} requests`);
    rm = new Ringmaster({
      args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  sa: {command: ["sh", "-c", "echo started; exec sleep 1000"], startsecs: 0}
  sb: {command: "sleep 1000", startsecs: 0}
  spool: {command: "sleep 1000", numprocs: 2, startsecs: 0}
  sidle: {command: "sleep 1000", autostart: false, startsecs: 0}
`, dir)],
    });
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await rm.waitFor(/spool_01 entered RUNNING/, 15_000);
    await rm.waitFor(/sa entered RUNNING/, 15_000);
    await rm.waitFor(/sb entered RUNNING/, 15_000);
    for (const [n, p] of await actual()) model.pid[n as Name] = p.pid;
  });
  after(async () => {
    agent?.destroy();
    if (rm && rm.proc.exitCode === null) await rm.signal('SIGTERM').catch(() => {});
    await rm?.wait(20_000);
  });

  it(`${COUNT} requests, one at a time, each followed by a comparison of the real state with the model`, { timeout: 300_000 }, async () => {
    const rss0 = rssMb(await rm.ringmasterPid());
    for (let i = 0; i < COUNT; i++) {
      const step = stepFor(rngFor(SEED, i), socket, agent);
      const where = `FUZZ_SEED=${SEED} #${i} ${step.what}`;
      const answer = await step.send();
      try {
        step.apply(answer, model);
      } catch (err) {
        throw new Error(`${where}: ${(err as Error).message}`);
      }
      const now = await actual();
      for (const p of PROCESSES) {
        const got = now.get(p);
        assert.ok(got, `${where}: ${p} is missing from /v1/status`);
        const want = model.running[p] ? 'RUNNING' : 'STOPPED';
        assert.equal(got.state, want, `${where}: ${p} is ${got.state}, the calls asked for ${want}`);
        if (model.running[p]) {
          if (!model.restarted.has(p)) assert.equal(got.pid, model.pid[p], `${where}: ${p} has a new pid that no start asked for`);
          model.pid[p] = got.pid;
        }
      }
      model.restarted.clear();
    }
    const rss1 = rssMb(await rm.ringmasterPid());
    console.log(`# state fuzz figures: ${COUNT} requests, RSS ${rss0.toFixed(0)} -> ${rss1.toFixed(0)} MB`);
    assert.ok(rss1 < 200, `RSS ${rss1.toFixed(0)} MB`);
  });

  it('printed no stack trace and no internal error', () => {
    const out = rm.stdout + rm.stderr;
    assert.doesNotMatch(out, /\n\s+at .+:\d+:\d+|internal error|TypeError|ReferenceError/);
  });
});
