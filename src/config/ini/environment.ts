// `environment=A="x,y",B=z`: Supervisor's datatypes.dict_of_key_value_pairs, which tokenizes with
// Python's non-POSIX shlex (extra word characters `/.+-():`) and takes KEY = VALUE triples, one
// separator token between them, surrounding quotes stripped from the value.

const WORD = /[A-Za-z0-9_ßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞ/.+\-():]/;
const SPACE = /[ \t\r\n]/;

/** Non-POSIX shlex tokens: words, quoted strings (quotes kept), single punctuation characters. */
function shlexTokens(text: string): { tokens: string[]; error?: string } {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (SPACE.test(c)) {
      i++;
    } else if (c === '#') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
    } else if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) return { tokens, error: 'No closing quotation' };
      tokens.push(text.slice(i, end + 1));
      i = end + 1;
    } else if (WORD.test(c)) {
      // In a word, quotes are just characters; '#' drops the rest of the line.
      let word = '';
      while (i < text.length) {
        const d = text[i];
        if (WORD.test(d) || d === '"' || d === "'") {
          word += d;
          i++;
        } else if (d === '#') {
          const nl = text.indexOf('\n', i);
          i = nl < 0 ? text.length : nl + 1;
        } else break;
      }
      tokens.push(word);
    } else {
      tokens.push(c);
      i++;
    }
  }
  return { tokens };
}

/** The KEY=VALUE pairs, in order; an error worded like supervisord's when they don't parse. */
export function parseSupervisorEnvironment(text: string): { env: Array<[string, string]>; error?: string } {
  const { tokens, error } = shlexTokens(text);
  if (error) return { env: [], error: `${error} in environment value '${text}'` };
  const env: Array<[string, string]> = [];
  for (let i = 0; i < tokens.length; i += 4) {
    const triple = tokens.slice(i, i + 3);
    if (triple.length !== 3 || triple[1] !== '=') return { env, error: `Unexpected end of key/value pairs in value '${text}'` };
    env.push([triple[0], triple[2].replace(/^['"]+|['"]+$/g, '')]);
  }
  return { env };
}
