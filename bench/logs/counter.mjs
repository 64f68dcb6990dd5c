// Reads a multiplexed stream on stdin and checks every line without storing it: each must end in
// exactly one original line "p<P> <8-digit i> yyy…" (whatever prefix the contender put before
// it), and each program's i must go up by one. Prints one JSON verdict line when stdin ends.
//   node counter.mjs PROGRAMS LINES_PER_PROGRAM
const programs = Number(process.argv[2]);
const expected = Number(process.argv[3]);
const next = new Array(programs).fill(0);
const PAYLOAD = 99; // bytes before the newline
let lines = 0;
let mixed = 0;
let partial = null;
let t0 = 0n;
let received = 0;

function check(buf, start, end) {
  // Lines of the contender itself (ringmaster's own messages, …) do not end in the payload's 'y'.
  if (buf[end - 1] !== 0x79 /* y */) return;
  lines++;
  const len = end - start;
  if (len < PAYLOAD) return void mixed++;
  const o = end - PAYLOAD; // the original line is the last 99 bytes
  if (buf[o] !== 0x70 /* p */ || buf[o + 2] !== 0x20) return void mixed++;
  const p = buf[o + 1] - 48;
  let i = 0;
  for (let k = 3; k < 11; k++) i = i * 10 + (buf[o + k] - 48);
  if (p < 0 || p >= programs || i !== next[p] || buf[end - 1] !== 0x79 /* y */) return void mixed++;
  next[p]++;
  if (++received === programs * expected) finish();
}

process.stdin.on('data', (chunk) => {
  if (t0 === 0n) t0 = process.hrtime.bigint(); // from the first byte: start-up is not throughput
  let buf = chunk;
  if (partial) {
    buf = Buffer.concat([partial, chunk]);
    partial = null;
  }
  let s = 0;
  for (let nl = buf.indexOf(10, s); nl >= 0; nl = buf.indexOf(10, s)) {
    check(buf, s, nl);
    s = nl + 1;
  }
  if (s < buf.length) partial = buf.subarray(s);
});

let done = false;
function finish() {
  if (done) return;
  done = true;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({ lines: received, lost: programs * expected - received, mixed, seconds }) + '\n');
  // Everything arrived (supervisord never exits on its own): leave now.
  if (received === programs * expected) process.exit(0);
}
process.stdin.on('end', finish);
// A contender that loses lines and keeps running (supervisord) gets its verdict after 3 s of quiet.
const quiet = setTimeout(finish, 3000);
process.stdin.on('data', () => quiet.refresh());
