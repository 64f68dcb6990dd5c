import { setFlagsFromString } from 'node:v8';

let enabled = false;

/**
 * A RegExp that V8 runs in linear time (its experimental engine, flag `l`), or a SyntaxError for
 * a pattern that cannot run so (backreferences, lookaround). A `log` healthcheck tests every line
 * a program prints on PID 1's event loop: with the backtracking engine, `(a+)+$` against a line of
 * 40 `a`s and a `!` blocked it for days (issue #12, "a catastrophic log healthcheck regex").
 */
export function linearRegExp(pattern: string, flags = ''): RegExp {
  if (!enabled) {
    // Read when a RegExp with the `l` flag is compiled; it changes nothing for other RegExps.
    setFlagsFromString('--enable-experimental-regexp-engine');
    enabled = true;
  }
  return new RegExp(pattern, flags.includes('l') ? flags : `${flags}l`);
}
