// Reads a multiplexed stream on stdin and checks every line without storing it. A line is whole
// when it is exactly PREFIX(p) + the original line "p<p> <8-digit i> yyy…" (99 bytes before the
// '\n', or lines.mjs's mixed lengths with --mixed) of some program p and i, PREFIX being the
// contender's own prefix for that program (`{p}` stands for the program's number). Lines matching
// OWN (a regex: the contender's own messages) are skipped; every other line is mixed (cut, glued
// or wrongly prefixed). Lost = lines of the programs that never arrived whole. When stdin ends (or
// after 3 s of quiet: supervisord never exits on its own), prints one JSON verdict line and exits.
//   node counter.mjs PROGRAMS LINES_PER_PROGRAM PREFIX [OWN] [--mixed] [--until-complete]
import { HEAD, lineLength } from './lines.mjs';

const programs = Number(process.argv[2]);
const expected = Number(process.argv[3]);
const prefixes = Array.from({ length: programs }, (_, p) => Buffer.from(process.argv[4].replaceAll('{p}', String(p)), 'latin1'));
const own = process.argv[5] && !process.argv[5].startsWith('--') ? new RegExp(process.argv[5]) : null;
const MIXED = process.argv.includes('--mixed');
const PAYLOAD = 99; // bytes of an original line before its '\n' (fixed modes)
const Y = Buffer.alloc(2000, 'y');
const seen = Array.from({ length: programs }, () => new Uint8Array(expected));
const next = new Array(programs).fill(0);
let whole = 0;
let wholeBytes = 0; // of the original lines that arrived whole, '\n' included
let mixed = 0;
let duplicate = 0;
let outOfOrder = 0;
let ownLines = 0;
let bytes = 0;
let firstMixed = '';
let t0 = 0n; // the first line of a program (not the contender's own start-up messages)
let tLast = 0n;
let tChunk = 0n;
let partial = null;

const isOwn = (buf, s, end) => !!own && own.test(buf.toString('latin1', s, Math.min(end, s + 400)));

function digits(buf, o) {
  let i = 0;
  for (let k = o; k < o + 8; k++) {
    const d = buf[k] - 48;
    if (d < 0 || d > 9) return -1;
    i = i * 10 + d;
  }
  return i;
}

function check(buf, s, end) {
  if (t0 === 0n && !isOwn(buf, s, end)) t0 = tChunk;
  if (MIXED) return checkMixed(buf, s, end);
  const o = end - PAYLOAD; // where the original line must start
  if (o >= s && buf[o] === 0x70 /* p */ && buf[o + 2] === 0x20 && buf[o + 11] === 0x20) {
    const p = buf[o + 1] - 48;
    const i = digits(buf, o + 3);
    const pre = prefixes[p];
    if (p >= 0 && p < programs && i >= 0 && i < expected && o - s === pre.length && buf.compare(pre, 0, pre.length, s, o) === 0 && buf.compare(Y, 12, PAYLOAD, o + 12, end) === 0) {
      return seenWhole(p, i, PAYLOAD + 1);
    }
  }
  notWhole(buf, s, end);
}

/** Mixed lengths: the program (and so the prefix) is read after each candidate prefix, the length from i. */
function checkMixed(buf, s, end) {
  for (let p = 0; p < programs; p++) {
    const pre = prefixes[p];
    const o = s + pre.length;
    if (end - o < HEAD || buf[o] !== 0x70 || buf[o + 1] - 48 !== p || buf[o + 2] !== 0x20 || buf[o + 11] !== 0x20) continue;
    const i = digits(buf, o + 3);
    if (i < 0 || i >= expected) continue;
    const length = lineLength(i, true);
    if (end - o !== length || buf.compare(pre, 0, pre.length, s, o) !== 0 || buf.compare(Y, 0, length - HEAD, o + HEAD, end) !== 0) continue;
    return seenWhole(p, i, length + 1);
  }
  notWhole(buf, s, end);
}

function seenWhole(p, i, bytesOfLine) {
  if (seen[p][i]) duplicate++;
  else {
    seen[p][i] = 1;
    whole++;
    wholeBytes += bytesOfLine;
  }
  if (i !== next[p]) outOfOrder++;
  next[p] = i + 1;
}

function notWhole(buf, s, end) {
  if (isOwn(buf, s, end)) return void ownLines++;
  mixed++;
  if (!firstMixed) firstMixed = buf.toString('latin1', s, Math.min(end, s + 140));
}

process.stdin.on('data', (chunk) => {
  tChunk = tLast = process.hrtime.bigint();
  bytes += chunk.length;
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
  if (s < buf.length) partial = Buffer.from(buf.subarray(s));
  quiet.refresh();
  if (whole === programs * expected && stopWhenComplete) finish();
});

// With --until-complete (supervisord): the verdict as soon as every line arrived.
const stopWhenComplete = process.argv.includes('--until-complete');
let done = false;
function finish() {
  if (done) return;
  done = true;
  if (partial) {
    mixed++; // a last line without '\n'
    if (!firstMixed) firstMixed = partial.toString('latin1', 0, 140);
  }
  const seconds = t0 ? Number(tLast - t0) / 1e9 : 0;
  const lost = programs * expected - whole;
  process.stdout.write(JSON.stringify({ bytes, whole, wholeBytes, lost, mixed, duplicate, outOfOrder, ownLines, seconds, firstMixed }) + '\n');
  process.exit(0);
}
process.stdin.on('end', finish);
const quiet = setTimeout(finish, 3000);
