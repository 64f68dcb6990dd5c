import type { RpcStruct, RpcValue } from './codec';
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

function findMethod(name: string): Method {
  const parts = name.split('.');
  const method = parts.length === 2 && !parts[1].startsWith('_') ? NAMESPACES[parts[0]]?.[parts[1]] : undefined;
  if (!method || !Object.hasOwn(NAMESPACES[parts[0]], parts[1])) throw new RpcFault('SIGNATURE_UNSUPPORTED');
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
  const parts = methodName.split('.');
  if (parts.length !== 2 || parts[1].startsWith('_')) throw new RpcFault('UNKNOWN_METHOD');
  const namespace = NAMESPACES[parts[0]];
  if (!namespace || !Object.hasOwn(namespace, parts[1])) throw new RpcFault('UNKNOWN_METHOD');
  const method = namespace[parts[1]];
  const required = method.params.length - (method.optional ?? 0);
  if (params.length < required || params.length > method.params.length) throw new RpcFault('INCORRECT_PARAMETERS');
  const args = params.map((v, i) => (method.params[i] === 'boolean' && typeof v === 'number' ? v === 1 : v));
  if (!params.every((v, i) => matches(method.params[i], v))) throw new RpcFault('INCORRECT_PARAMETERS');
  if (!method.duringShutdown && (await deps.api.status()).state === 'SHUTDOWN') throw new RpcFault('SHUTDOWN_STATE');
  return method.run(deps, args);
}

/**
 * system.multicall with Supervisor's quirk: a success is the raw value, not wrapped in a
 * one-element array; a failure is a fault struct. Calls run one after another, each awaited.
 */
async function multicall(deps: RpcDeps, calls: RpcValue[]): Promise<RpcValue[]> {
  const results: RpcValue[] = [];
  for (const call of calls) {
    try {
      if (typeof call !== 'object' || call === null || Array.isArray(call) || Buffer.isBuffer(call)) {
        throw new RpcFault('INCORRECT_PARAMETERS', 'a call is a struct {methodName, params}');
      }
      const { methodName, params } = call as RpcStruct;
      if (typeof methodName !== 'string') throw new RpcFault('INCORRECT_PARAMETERS', 'No methodName');
      if (methodName === 'system.multicall') throw new RpcFault('INCORRECT_PARAMETERS', 'Recursive system.multicall forbidden');
      if (params !== undefined && !Array.isArray(params)) throw new RpcFault('INCORRECT_PARAMETERS');
      results.push(await invoke(deps, methodName, params ?? []));
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
