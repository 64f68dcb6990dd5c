import { SaxesParser } from 'saxes';

/**
 * XML-RPC values as ringmaster handles them. Integers and doubles are both numbers; a response
 * writes whole numbers as <int> (clamped to int32, as Supervisor does) and others as <double>.
 */
export type RpcValue = string | number | boolean | null | Buffer | RpcValue[] | RpcStruct;
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

export function escapeXml(text: string): string {
  let out = text.replace(INVALID_XML, '\uFFFD');
  if (/[&<>]/.test(out)) out = out.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return out;
}

const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);

function writeValue(v: RpcValue, out: string[]): void {
  if (typeof v === 'string') out.push('<value><string>', escapeXml(v), '</string></value>');
  else if (typeof v === 'boolean') out.push('<value><boolean>', v ? '1' : '0', '</boolean></value>');
  else if (typeof v === 'number') {
    if (Number.isInteger(v)) out.push('<value><int>', String(Math.min(INT32_MAX, Math.max(INT32_MIN, v))), '</int></value>');
    else out.push('<value><double>', String(v), '</double></value>');
  } else if (v === null) out.push('<value><nil/></value>');
  else if (Buffer.isBuffer(v)) out.push('<value><base64>', v.toString('base64'), '</base64></value>');
  else if (Array.isArray(v)) {
    out.push('<value><array><data>\n');
    for (const item of v) writeValue(item, out);
    out.push('</data></array></value>');
  } else {
    out.push('<value><struct>\n');
    for (const key of Object.keys(v)) {
      out.push('<member>\n<name>', escapeXml(key), '</name>\n');
      writeValue(v[key], out);
      out.push('</member>\n');
    }
    out.push('</struct></value>');
  }
}

export function encodeResponse(value: RpcValue): string {
  const out = ["<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n"];
  writeValue(value, out);
  out.push('\n</param>\n</params>\n</methodResponse>\n');
  return out.join('');
}

export function encodeFault(code: number, text: string): string {
  const out = ["<?xml version='1.0'?>\n<methodResponse>\n<fault>\n"];
  writeValue({ faultCode: code, faultString: text }, out);
  out.push('\n</fault>\n</methodResponse>\n');
  return out.join('');
}

/** A call, as a client writes it (tests, bench and fuzzing use this). */
export function encodeCall(methodName: string, params: RpcValue[]): string {
  const out = ["<?xml version='1.0'?>\n<methodCall>\n<methodName>", escapeXml(methodName), '</methodName>\n<params>\n'];
  for (const p of params) {
    out.push('<param>\n');
    writeValue(p, out);
    out.push('\n</param>\n');
  }
  out.push('</params>\n</methodCall>\n');
  return out.join('');
}
