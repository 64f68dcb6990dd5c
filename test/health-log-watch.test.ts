// The output observer behind `log` healthchecks (SPEC §2): whole lines across chunks and UTF-8
// boundaries, per stream, only for the watched process, and nothing once unwatched.
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { watchLog } from '../src/health/log-watch';
import { createOutput } from '../src/output/multiplexer';

const sink = () => new Writable({ write: (_c, _e, cb) => cb() });

describe('log healthcheck line watching', () => {
  it('matches a whole line split over chunks and inside a multi-byte character, once', () => {
    const seen: string[] = [];
    const observe = watchLog(/ready to accept connections$/, (line) => seen.push(line));
    const text = Buffer.from('starting…\nLOG:  ready to accept connections\r\nready to accept connections\n');
    for (let i = 0; i < text.length; i += 3) observe('stdout', text.subarray(i, i + 3));
    assert.deepEqual(seen, ['LOG:  ready to accept connections']);
  });

  it('keeps stdout and stderr lines apart: halves on two streams do not make a line', () => {
    const seen: string[] = [];
    const observe = watchLog(/^ready$/, (line) => seen.push(line));
    observe('stdout', Buffer.from('rea'));
    observe('stderr', Buffer.from('dy\n'));
    observe('stdout', Buffer.from('\n'));
    assert.deepEqual(seen, []);
    observe('stderr', Buffer.from('ready\n'));
    assert.deepEqual(seen, ['ready']);
  });

  it('the multiplexer hands the watched process\'s chunks to its observer, also after a restart, until unwatched', async () => {
    const output = createOutput({ stdout: sink(), stderr: sink(), color: 'never' });
    output.setNames(['db', 'web']);
    const got: string[] = [];
    const stop = output.observe('db', (stream, chunk) => got.push(`${stream}:${chunk}`));
    const run = async (name: string, stream: 'stdout' | 'stderr', text: string) => {
      const pipe = new PassThrough();
      const done = output.attach(name, stream, pipe);
      pipe.end(text);
      await done;
    };
    await run('db', 'stdout', 'one\n');
    await run('web', 'stdout', 'not mine\n');
    await run('db', 'stderr', 'two\n'); // a new pipe: the observer follows the name
    stop();
    await run('db', 'stdout', 'three\n');
    assert.deepEqual(got, ['stdout:one\n', 'stderr:two\n']);
    await output.close();
  });
});
