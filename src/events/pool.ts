import type { Readable, Writable } from 'node:stream';
import type { EventDispatch } from './dispatch';
import { payloadText, subscribes, type SupervisorEvent } from './types';
import type { Log } from '../types';

export interface PoolConfig {
  /** The pool's name: the `eventlisteners:` key, `pool:` in the header. */
  name: string;
  events: string[];
  bufferSize: number;
}

interface Buffered {
  event: SupervisorEvent;
  poolSerial: number;
}

/** Supervisor's listener states (reference §2.1), as seen from the protocol on the listener's stdout. */
export type ListenerState = 'ACKNOWLEDGED' | 'READY' | 'BUSY' | 'UNKNOWN';

const READY = Buffer.from('READY\n');
const RESULT_TOKEN_START = 'RESULT '.length;
/**
 * A listener's answer is `RESULT <len>\n` and <len> bytes (OK, FAIL): nothing near these bounds.
 * A listener past them breaks the protocol (UNKNOWN) instead of growing ringmaster's memory
 * without limit (a `RESULT` line that never ends, or `RESULT 99999999999`).
 */
const MAX_RESULT_LINE = 1024;
const MAX_RESULT_BYTES = 64 * 1024;

/** One running listener process: its stdin gets events, its stdout is the protocol channel. */
class Listener {
  state: ListenerState = 'ACKNOWLEDGED';
  /** Events go only to a listener whose process is RUNNING (past startsecs), as in Supervisor. */
  running = false;
  current: Buffered | undefined;
  private input: Buffer = Buffer.alloc(0);
  private resultLength: number | null = null;
  private result: Buffer = Buffer.alloc(0);

  constructor(
    readonly name: string,
    readonly stdin: Writable,
    private readonly pool: ListenerPool,
  ) {}

  /** Supervisor's dispatchers.PEventListenerDispatcher.handle_listener_state_change, on bytes. */
  onData(chunk: Buffer): void {
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
    while (this.input.length > 0) {
      if (this.state === 'UNKNOWN') {
        this.input = Buffer.alloc(0);
        return;
      }
      if (this.state === 'ACKNOWLEDGED') {
        if (this.input.length < READY.length) return;
        if (this.input.subarray(0, READY.length).equals(READY)) {
          this.input = this.input.subarray(READY.length);
          this.setState('READY');
        } else {
          this.input = Buffer.alloc(0);
          this.becomeUnknown();
        }
        continue;
      }
      if (this.state === 'READY') {
        // Anything written while waiting for an event breaks the protocol.
        this.input = Buffer.alloc(0);
        this.becomeUnknown();
        return;
      }
      // BUSY: a `RESULT <len>\n` line, then exactly <len> bytes.
      if (this.resultLength === null) {
        const nl = this.input.indexOf(0x0a);
        if (nl < 0 && this.input.length > MAX_RESULT_LINE) {
          this.pool.log(`${this.name}: result line longer than ${MAX_RESULT_LINE} bytes`, 'warn');
          this.input = Buffer.alloc(0);
          this.becomeUnknown();
          return;
        }
        if (nl < 0) return;
        const line = this.input.subarray(0, nl).toString('latin1');
        this.input = this.input.subarray(nl + 1);
        const length = line.slice(RESULT_TOKEN_START).trim();
        if (!/^[-+]?\d+$/.test(length) || Number(length) > MAX_RESULT_BYTES) {
          this.pool.log(`${this.name}: bad result line: '${line}'`, 'warn');
          this.input = Buffer.alloc(0);
          this.becomeUnknown();
          return;
        }
        this.resultLength = Number(length);
        this.result = Buffer.alloc(0);
      }
      const needed = this.resultLength - this.result.length;
      if (needed > 0) {
        this.result = Buffer.concat([this.result, this.input.subarray(0, needed)]);
        this.input = this.input.subarray(needed);
      }
      if (this.result.length < this.resultLength) return;
      const result = this.result.toString('latin1');
      this.resultLength = null;
      this.result = Buffer.alloc(0);
      this.handleResult(result);
    }
  }

  /** Supervisor's default_handler: OK accepts; anything else rejects, and the event comes back. */
  private handleResult(result: string): void {
    const event = this.current;
    this.current = undefined;
    this.setState('ACKNOWLEDGED');
    if (result !== 'OK' && event) {
      this.pool.log(`${this.name}: event was rejected`);
      this.pool.rebuffer(event);
    }
    this.pool.dispatchSoon();
  }

  private becomeUnknown(): void {
    this.setState('UNKNOWN');
    this.pool.log(`${this.name}: has entered the UNKNOWN state and will no longer receive events, this usually indicates the process violated the eventlistener protocol`, 'warn');
    const event = this.current;
    this.current = undefined;
    if (event) this.pool.rebuffer(event);
  }

  setState(state: ListenerState): void {
    this.state = state;
    if (state === 'READY') this.pool.dispatchSoon();
  }
}

/**
 * An event listener pool (Supervisor's EventListenerPool): a FIFO of at most buffer_size events
 * (the oldest dropped on overflow), each sent to the first listener of the pool that is RUNNING
 * and READY, one event per listener at a time, resent on FAIL.
 */
export class ListenerPool {
  private readonly buffer: Buffered[] = [];
  private poolSerial = 0;
  private readonly listeners = new Map<string, Listener>();
  private dispatchPending = false;
  private closed = false;

  constructor(
    readonly config: PoolConfig,
    private readonly bus: EventDispatch,
    readonly log: Log,
  ) {}

  /** Offered every published event; keeps the ones the pool subscribes to. */
  offer(event: SupervisorEvent): void {
    if (this.closed || !subscribes(this.config.events, event.name)) return;
    if (event.serial === null) event.serial = this.bus.takeSerial();
    const poolSerial = this.poolSerial;
    this.poolSerial = this.poolSerial >= Number.MAX_SAFE_INTEGER ? 0 : this.poolSerial + 1;
    this.accept({ event, poolSerial }, false);
    // At once, not on the next turn: SUPERVISOR_STATE_CHANGE_STOPPING is written to a READY
    // listener before the shutdown signals anything.
    this.dispatch();
  }

  /** A rejected (or undelivered) event goes back to the head, with its serials. */
  rebuffer(e: Buffered): void {
    this.accept(e, true);
    this.dispatchSoon();
  }

  private accept(e: Buffered, head: boolean): void {
    if (this.buffer.length >= this.config.bufferSize) {
      const dropped = this.buffer.shift()!;
      this.log(`pool ${this.config.name} event buffer overflowed, discarding event ${dropped.event.serial}`, 'warn');
    }
    if (head) this.buffer.unshift(e);
    else this.buffer.push(e);
  }

  /** A new child of one of the pool's processes: a fresh protocol state on its pipes. */
  attach(processName: string, stdin: Writable, stdout: Readable): void {
    const listener = new Listener(processName, stdin, this);
    const previous = this.listeners.get(processName);
    if (previous?.current) this.rebuffer(previous.current);
    listener.running = previous?.running ?? false;
    this.listeners.set(processName, listener);
    stdin.on('error', () => {}); // EPIPE from a listener that died: its exit rebuffers the event
    stdout.on('data', (chunk: Buffer) => listener.onData(chunk));
    const gone = () => {
      if (this.listeners.get(processName) !== listener) return;
      listener.running = false;
      const event = listener.current;
      listener.current = undefined;
      if (event) this.rebuffer(event);
    };
    stdout.on('close', gone);
    stdout.on('end', gone);
  }

  /** The supervised state of one of the pool's processes changed. */
  processState(processName: string, state: string): void {
    const listener = this.listeners.get(processName);
    if (!listener) return;
    listener.running = state === 'RUNNING';
    if (listener.running) this.dispatchSoon();
  }

  dispatchSoon(): void {
    if (this.dispatchPending || this.closed) return;
    this.dispatchPending = true;
    setImmediate(() => {
      this.dispatchPending = false;
      this.dispatch();
    });
  }

  /** Oldest first, each to the first eligible listener; stops at the first that cannot be placed. */
  private dispatch(): void {
    while (this.buffer.length > 0 && !this.closed) {
      const listener = [...this.listeners.values()]
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .find((l) => l.running && l.state === 'READY');
      if (!listener) return;
      const e = this.buffer.shift()!;
      listener.current = e;
      listener.setState('BUSY');
      listener.stdin.write(this.envelope(e));
    }
  }

  /** Header line and payload, byte for byte as supervisord writes them (reference §4.1). */
  private envelope(e: Buffered): Buffer {
    const payload = payloadText(e.event);
    // len: is Python's len() of the str payload: characters (code points), not bytes.
    const length = [...payload].length;
    const header = `ver:3.0 server:supervisor serial:${e.event.serial} pool:${this.config.name} poolserial:${e.poolSerial} eventname:${e.event.name} len:${length}\n`;
    return Buffer.from(header + payload, 'utf8');
  }

  close(): void {
    this.closed = true;
  }
}
