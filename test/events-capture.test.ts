// Capture mode (reference §4.4): text between Supervisor's tokens becomes a
// PROCESS_COMMUNICATION event instead of output.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { CaptureFilter } from '../src/events/capture';

async function run(chunks: string[], maxBytes = 1024): Promise<{ out: string; captured: string[] }> {
  const captured: string[] = [];
  const source = new PassThrough();
  const filter = source.pipe(new CaptureFilter(maxBytes, (d) => captured.push(d.toString())));
  let out = '';
  filter.on('data', (d: Buffer) => (out += d.toString()));
  const ended = new Promise((resolve) => filter.on('end', resolve));
  for (const c of chunks) source.write(c);
  source.end();
  await ended;
  return { out, captured };
}

describe('capture mode (reference §4.4)', () => {
  it('takes the text between the tokens out of the output, even with tokens split across reads', async () => {
    const text = 'before <!--XSUPERVISOR:BEGIN-->secret one<!--XSUPERVISOR:END--> between <!--XSUPERVISOR:BEGIN-->two<!--XSUPERVISOR:END--> after\n';
    for (const size of [1, 3, 7, 24, text.length]) {
      const chunks = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      assert.deepEqual(await run(chunks), { out: 'before  between  after\n', captured: ['secret one', 'two'] }, `reads of ${size}`);
    }
  });

  it('keeps at most maxBytes of a capture, dropping the oldest bytes', async () => {
    assert.deepEqual((await run(['<!--XSUPERVISOR:BEGIN-->0123456789', 'abcdef<!--XSUPERVISOR:END-->'], 4)).captured, ['cdef']);
  });

  it('passes a partial token through at the end of the stream, and `<!--` that is no token at once', async () => {
    assert.deepEqual(await run(['a <!-- comment -->', ' <!--XSUPER']), { out: 'a <!-- comment --> <!--XSUPER', captured: [] });
  });
});
