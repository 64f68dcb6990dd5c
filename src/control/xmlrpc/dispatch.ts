import { RawXml, type RpcStruct, type RpcValue } from './codec';
import { SupervisorError } from '../../errors';
import { RpcFault, faultOf } from './faults';
import { SUPERVISOR_METHODS, type Method, type RpcDeps } from './methods';

// Method lookup, argument checks and the system.* namespace (supervisor/xmlrpc.py).

const SYSTEM_METHODS: Record<string, Method> = {
  listMethods: {
    params: [],
    returns: 'array',
    help: 'Return an array listing the available method names\n@return array result An array of method names available (strings).',
    duringShutdown: true,
    run: () => allMethodNames(),
  },
  methodHelp: {
    params: ['string'],
    returns: 'string',
    help: "Return a string showing the method's documentation\n@param string name The name of the method.\n@return string result The documentation for the method name.",
    duringShutdown: true,
    run: (_deps, [name]) => findMethod(name as string).help,
  },
  methodSignature: {
    params: ['string'],
    returns: 'array',
    help: 'Return an array describing the method signature in the form [rtype, ptype, ptype...] where rtype is the return data type of the method, and ptypes are the parameter data types that the method accepts in method argument order.\n@param string name The name of the method.\n@return array result The result.',
    duringShutdown: true,
    run(_deps, [name]) {
      const m = findMethod(name as string);
      return [m.returns, ...m.params.map((p) => (p === 'signal' || p === 'chars' ? 'string' : p))];
    },
  },
  multicall: {
    params: ['array'],
    returns: 'array',
    help: "Process an array of calls, and return an array of results. Calls should be structs of the form {'methodName': string, 'params': array}. Each result will either be a single-item array containing the result value, or a struct of the form {'faultCode': int, 'faultString': string}. This is useful when you need to make lots of small calls without lots of round trips.\n@param array calls An array of call requests\n@return array result An array of results",
    duringShutdown: true,
    run: (deps, [calls]) => multicall(deps, calls as RpcValue[]),
  },
};

const NAMESPACES: Record<string, Record<string, Method>> = { supervisor: SUPERVISOR_METHODS, system: SYSTEM_METHODS };

export function allMethodNames(): string[] {
  return Object.entries(NAMESPACES)
    .flatMap(([ns, methods]) => Object.keys(methods).map((m) => `${ns}.${m}`))
    .sort();
}

/** A method by its dotted name, looked up in own properties only (`__proto__.toString` is no method). */
function lookupMethod(name: string): Method | undefined {
  const parts = name.split('.');
  if (parts.length !== 2 || parts[1].startsWith('_') || !Object.hasOwn(NAMESPACES, parts[0])) return undefined;
  const namespace = NAMESPACES[parts[0]];
  return Object.hasOwn(namespace, parts[1]) ? namespace[parts[1]] : undefined;
}

function findMethod(name: string): Method {
  const method = lookupMethod(name);
  if (!method) throw new RpcFault('SIGNATURE_UNSUPPORTED');
  return method;
}

function matches(type: Method['params'][number], v: RpcValue): boolean {
  switch (type) {
    case 'string':
      return typeof v === 'string';
    case 'int':
      return typeof v === 'number' && Number.isInteger(v);
    case 'boolean':
      // Python's truthiness lets clients send 0/1 for a boolean.
      return typeof v === 'boolean' || v === 0 || v === 1;
    case 'array':
      return Array.isArray(v);
    case 'struct':
      return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
    case 'signal':
      return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
    case 'chars':
      return typeof v === 'string' || Buffer.isBuffer(v);
  }
}

/** Run one call: UNKNOWN_METHOD, INCORRECT_PARAMETERS and SHUTDOWN_STATE are decided here. */
export async function invoke(deps: RpcDeps, methodName: string, params: RpcValue[]): Promise<RpcValue> {
  const method = lookupMethod(methodName);
  if (!method) throw new RpcFault('UNKNOWN_METHOD');
  const required = method.params.length - (method.optional ?? 0);
  if (params.length < required || params.length > method.params.length) throw new RpcFault('INCORRECT_PARAMETERS');
  const args = params.map((v, i) => (method.params[i] === 'boolean' && typeof v === 'number' ? v === 1 : v));
  if (!params.every((v, i) => matches(method.params[i], v))) throw new RpcFault('INCORRECT_PARAMETERS');
  if (!method.duringShutdown && (await deps.api.status()).state === 'SHUTDOWN') throw new RpcFault('SHUTDOWN_STATE');
  return method.run(deps, args);
}

/** More calls than this in one multicall is refused whole: no client needs them, and each costs memory. */
export const MAX_MULTICALL_CALLS = 1000;
/** Past this many bytes of answers, the remaining calls of a multicall are not run but faulted. */
export const MAX_MULTICALL_ANSWER = 16 * 1024 * 1024;

/** About how many bytes a value takes in the answer (strings by length; tags counted roughly). */
function answerSize(v: RpcValue): number {
  if (typeof v === 'string') return v.length + 32;
  if (Buffer.isBuffer(v)) return Math.ceil(v.length * 1.4) + 32;
  if (v instanceof RawXml) return v.xml.length;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + answerSize(x), 32);
  if (typeof v === 'object' && v !== null) return Object.entries(v).reduce((n, [k, x]) => n + k.length + 48 + answerSize(x as RpcValue), 32);
  return 48;
}

/**
 * system.multicall with Supervisor's quirk: a success is the raw value, not wrapped in a
 * one-element array; a failure is a fault struct. Calls run one after another, each awaited, and
 * the event loop gets a turn between them (a long multicall must not stall the supervisor).
 * Bounded: at most MAX_MULTICALL_CALLS calls, and once the answers reach MAX_MULTICALL_ANSWER
 * bytes the rest fault with FAILED instead of growing the answer (issue #12: 1,000 log reads in
 * one call answered 112 MB and peaked at 1 GB).
 */
async function multicall(deps: RpcDeps, calls: RpcValue[]): Promise<RpcValue[]> {
  if (calls.length > MAX_MULTICALL_CALLS) throw new RpcFault('INCORRECT_PARAMETERS', `at most ${MAX_MULTICALL_CALLS} calls in one system.multicall, got ${calls.length}`);
  const results: RpcValue[] = [];
  let size = 0;
  for (const call of calls) {
    if (results.length > 0) await new Promise((resolve) => setImmediate(resolve));
    if (size > MAX_MULTICALL_ANSWER) {
      results.push(faultStruct(new RpcFault('FAILED', `not run: the answers of this multicall passed ${MAX_MULTICALL_ANSWER} bytes`)));
      continue;
    }
    try {
      if (typeof call !== 'object' || call === null || Array.isArray(call) || Buffer.isBuffer(call)) {
        throw new RpcFault('INCORRECT_PARAMETERS', 'a call is a struct {methodName, params}');
      }
      const { methodName, params } = call as RpcStruct;
      if (typeof methodName !== 'string') throw new RpcFault('INCORRECT_PARAMETERS', 'No methodName');
      if (methodName === 'system.multicall') throw new RpcFault('INCORRECT_PARAMETERS', 'Recursive system.multicall forbidden');
      if (params !== undefined && !Array.isArray(params)) throw new RpcFault('INCORRECT_PARAMETERS');
      const value = await invoke(deps, methodName, params ?? []);
      size += answerSize(value);
      results.push(value);
    } catch (err) {
      results.push(faultStruct(err));
    }
  }
  return results;
}

export function faultStruct(err: unknown): RpcStruct {
  if (err instanceof SupervisorError) err = faultOf(err);
  if (err instanceof RpcFault) return { faultCode: err.code, faultString: err.message };
  return { faultCode: 30, faultString: `FAILED: ${(err as Error)?.message ?? String(err)}` };
}
