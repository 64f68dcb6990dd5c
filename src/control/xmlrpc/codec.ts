import { SaxesParser } from 'saxes';

/**
 * XML-RPC values as ringmaster handles them. Integers and doubles are both numbers; a response
 * writes whole numbers as <int> (clamped to int32, as Supervisor does) and others as <double>.
 */
export type RpcValue = string | number | boolean | null | Buffer | RawXml | RpcValue[] | RpcStruct;

/** A value already encoded as `<value>…</value>` (a cached answer), written as is. */
export class RawXml {
  constructor(readonly xml: string) {}
}
export interface RpcStruct {
  [key: string]: RpcValue;
}

export interface MethodCall {
  methodName: string;
  params: RpcValue[];
}

/** A request that is not a well-formed, reasonable XML-RPC call: answered with HTTP 400. */
export class BadRequest extends Error {}

export const LIMITS = {
  /** Elements deep: a value nested in 20 arrays or structs is still fine, 10 000 is an attack. */
  depth: 64,
  elements: 200_000,
};

interface Element {
  name: string;
  children: Element[];
  text: string;
}

/**
 * Parse a methodCall. The XML parser is saxes (strict, namespace-free here): a DOCTYPE is refused,
 * so no entity can be defined or expanded; only XML's five predefined entities and character
 * references are understood. Depth and element count are bounded before any tree is kept.
 */
export function parseCall(xml: string): MethodCall {
  const root = parseTree(xml);
  if (root.name !== 'methodCall') throw new BadRequest(`expected <methodCall>, got <${root.name}>`);
  const nameEl = root.children.find((c) => c.name === 'methodName');
  if (!nameEl || nameEl.text.trim() === '') throw new BadRequest('missing <methodName>');
  const paramsEl = root.children.find((c) => c.name === 'params');
  const params: RpcValue[] = [];
  for (const param of paramsEl?.children ?? []) {
    if (param.name !== 'param') throw new BadRequest(`unexpected <${param.name}> in <params>`);
    const value = param.children.find((c) => c.name === 'value');
    if (!value) throw new BadRequest('<param> without <value>');
    params.push(readValue(value));
  }
  return { methodName: nameEl.text.trim(), params };
}

function parseTree(xml: string): Element {
  const parser = new SaxesParser({ position: false });
  const stack: Element[] = [];
  let root: Element | undefined;
  let count = 0;
  parser.on('error', (err) => {
    throw new BadRequest(`malformed XML: ${err.message}`);
  });
  parser.on('doctype', () => {
    throw new BadRequest('a DOCTYPE is not accepted');
  });
  parser.on('opentag', (tag) => {
    if (stack.length >= LIMITS.depth) throw new BadRequest(`XML nested deeper than ${LIMITS.depth} elements`);
    if (++count > LIMITS.elements) throw new BadRequest(`more than ${LIMITS.elements} XML elements`);
    const el: Element = { name: tag.name, children: [], text: '' };
    if (stack.length > 0) stack[stack.length - 1].children.push(el);
    else root = el;
    stack.push(el);
  });
  parser.on('text', (text) => {
    if (stack.length > 0) stack[stack.length - 1].text += text;
  });
  parser.on('cdata', (text) => {
    if (stack.length > 0) stack[stack.length - 1].text += text;
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.write(xml).close();
  if (!root) throw new BadRequest('empty document');
  return root;
}

function readValue(value: Element): RpcValue {
  if (value.children.length === 0) return value.text; // a bare value is a string
  const typed = value.children[0];
  const text = typed.text;
  switch (typed.name) {
    case 'string':
      return text;
    case 'int':
    case 'i4':
    case 'i8': {
      if (!/^\s*[-+]?\d+\s*$/.test(text)) throw new BadRequest(`bad <${typed.name}>: "${text}"`);
      return Number(text);
    }
    case 'double': {
      const n = Number(text.trim());
      if (text.trim() === '' || Number.isNaN(n)) throw new BadRequest(`bad <double>: "${text}"`);
      return n;
    }
    case 'boolean': {
      const t = text.trim();
      if (t !== '0' && t !== '1') throw new BadRequest(`bad <boolean>: "${text}"`);
      return t === '1';
    }
    case 'nil':
      return null;
    case 'base64':
      return Buffer.from(text.replace(/\s+/g, ''), 'base64');
    case 'dateTime.iso8601':
      return text.trim();
    case 'array': {
      const data = typed.children.find((c) => c.name === 'data');
      return (data?.children ?? []).filter((c) => c.name === 'value').map(readValue);
    }
    case 'struct': {
      const out: RpcStruct = Object.create(null);
      for (const member of typed.children) {
        if (member.name !== 'member') continue;
        const name = member.children.find((c) => c.name === 'name');
        const v = member.children.find((c) => c.name === 'value');
        if (!name || !v) throw new BadRequest('<member> needs <name> and <value>');
        out[name.text] = readValue(v);
      }
      return out;
    }
    default:
      throw new BadRequest(`unknown value type <${typed.name}>`);
  }
}

// XML 1.0 forbids most control characters even as references; Python's parser rejects them, so
// a program's stray control bytes in a log would break supervisorctl. They become U+FFFD.
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

// Most strings (names, states, descriptions) need nothing: one test, no copy.
// eslint-disable-next-line no-control-regex
const NEEDS_WORK = /[&<>\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;

export function escapeXml(text: string): string {
  if (!NEEDS_WORK.test(text)) return text;
  let out = text.replace(INVALID_XML, '\uFFFD');
  if (/[&<>]/.test(out)) out = out.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return out;
}

const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);

// The same few struct keys come back in every getAllProcessInfo: their markup is made once.
const memberOpenings = new Map<string, string>();
function memberOpening(key: string): string {
  let opening = memberOpenings.get(key);
  if (opening === undefined) {
    opening = `<member>\n<name>${escapeXml(key)}</name>\n`;
    if (memberOpenings.size < 1000) memberOpenings.set(key, opening);
  }
  return opening;
}

// Appending to one string lets V8 build a rope; cheaper than thousands of array pieces joined.
function valueXml(v: RpcValue): string {
  if (typeof v === 'string') return `<value><string>${escapeXml(v)}</string></value>`;
  if (typeof v === 'number') {
    return Number.isInteger(v) ? `<value><int>${Math.min(INT32_MAX, Math.max(INT32_MIN, v))}</int></value>` : `<value><double>${v}</double></value>`;
  }
  if (typeof v === 'boolean') return v ? '<value><boolean>1</boolean></value>' : '<value><boolean>0</boolean></value>';
  if (v === null) return '<value><nil/></value>';
  if (Buffer.isBuffer(v)) return `<value><base64>${v.toString('base64')}</base64></value>`;
  if (v instanceof RawXml) return v.xml;
  let out: string;
  if (Array.isArray(v)) {
    out = '<value><array><data>\n';
    for (const item of v) out += valueXml(item);
    return out + '</data></array></value>';
  }
  out = '<value><struct>\n';
  for (const key in v) out += memberOpening(key) + valueXml(v[key]) + '</member>\n';
  return out + '</struct></value>';
}

export function encodeValue(value: RpcValue): RawXml {
  return new RawXml(valueXml(value));
}

export function encodeResponse(value: RpcValue): string {
  return `<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n${valueXml(value)}\n</param>\n</params>\n</methodResponse>\n`;
}

export function encodeFault(code: number, text: string): string {
  return `<?xml version='1.0'?>\n<methodResponse>\n<fault>\n${valueXml({ faultCode: code, faultString: text })}\n</fault>\n</methodResponse>\n`;
}

/** A call, as a client writes it (tests, bench and fuzzing use this). */
export function encodeCall(methodName: string, params: RpcValue[]): string {
  let out = `<?xml version='1.0'?>\n<methodCall>\n<methodName>${escapeXml(methodName)}</methodName>\n<params>\n`;
  for (const p of params) out += `<param>\n${valueXml(p)}\n</param>\n`;
  return out + '</params>\n</methodCall>\n';
}
