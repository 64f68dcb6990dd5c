import { setFlagsFromString } from 'node:v8';

/*
 * Imported first by the entry point, before any other module is evaluated. V8's memory reducer
 * arms itself while start-up grows the heap, then runs full GCs of its own ~8 s later and again
 * ~20-30 s later, each waking V8's GC threads (70 ms of CPU and ~100 context switches in an
 * otherwise idle 20 s with 100 programs). The memory trimmer (memory-trim.ts) already does a
 * full GC once ringmaster goes quiet, so the reducer's start is put off for good. The flag
 * `--no-memory-reducer` would say it better but is read only when the heap is set up; the
 * delay is read when the reducer arms, which is why this must run before the modules load.
 */
setFlagsFromString('--gc-memory-reducer-start-delay-ms=2000000000');
