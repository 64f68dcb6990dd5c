// Supervisor's INI dialect: Python's RawConfigParser as supervisord sets it up
// (inline_comment_prefixes=(';', '#'), strict=False). Kept byte-for-byte close to configparser's
// _read so that a file means here what it means to supervisord.

/** One `key = value` of a section, with where its key and value start in the file's text. */
export interface IniOption {
  /** Lower-cased, as configparser's optionxform does. */
  key: string;
  /** Continuation lines joined with "\n", trailing blank lines dropped. */
  value: string;
  keyOffset: number;
  valueOffset: number;
}

export interface IniSection {
  /** Case-sensitive, as in configparser. */
  name: string;
  /** Where the name starts (just after `[`). */
  offset: number;
  options: Map<string, IniOption>;
}

export interface IniProblem {
  offset: number;
  message: string;
}

export interface IniFile {
  /** In order of first appearance; a section repeated later in the file adds to the first. */
  sections: IniSection[];
  problems: IniProblem[];
  /** Offsets of the start of every line (for line and column numbers). */
  lineStarts: number[];
}

const SECTION_RE = /^\[(.+)\]/;
const OPTION_RE = /^(.*?)\s*([=:])\s*(.*)$/s;

/** Whether a config file should be read as Supervisor's INI rather than as YAML. */
export function looksLikeIni(file: string, text: string): boolean {
  if (/\.(conf|ini)$/i.test(file)) return true;
  // The first line that is neither blank nor a comment is a `[section]` header.
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) continue;
    return /^\[[^\]]+\]\s*([;#].*)?$/.test(t) && !t.startsWith('[[');
  }
  return false;
}

export function parseIni(text: string): IniFile {
  const sections: IniSection[] = [];
  const byName = new Map<string, IniSection>();
  const problems: IniProblem[] = [];
  const lineStarts: number[] = [];

  let section: IniSection | undefined;
  let option: { opt: IniOption; lines: string[] } | undefined;
  let indentLevel = 0;
  const finish = () => {
    if (option) option.opt.value = option.lines.join('\n').replace(/\s+$/, '');
    option = undefined;
  };

  let offset = 0;
  for (const raw of text.split('\n')) {
    const lineOffset = offset;
    lineStarts.push(lineOffset);
    offset += raw.length + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;

    // A full-line comment starts with ';' or '#' after optional whitespace; an inline one is a
    // ';' or '#' that follows whitespace (even inside quotes: Supervisor's known trap).
    let commentStart = -1;
    const trimmedStart = line.trimStart();
    if (trimmedStart.startsWith(';') || trimmedStart.startsWith('#')) commentStart = 0;
    else {
      for (let i = 1; i < line.length; i++) {
        if ((line[i] === ';' || line[i] === '#') && /\s/.test(line[i - 1])) {
          commentStart = i;
          break;
        }
      }
    }
    const content = (commentStart >= 0 ? line.slice(0, commentStart) : line).trim();
    if (content === '') {
      // A truly blank line inside a value is kept (and trimmed at the end); a comment line is not.
      if (commentStart < 0 && option) option.lines.push('');
      continue;
    }
    const indent = line.length - line.trimStart().length;
    if (section && option && indent > indentLevel) {
      option.lines.push(content);
      continue;
    }
    indentLevel = indent;
    const header = SECTION_RE.exec(content);
    if (header) {
      finish();
      const name = header[1];
      const existing = byName.get(name);
      if (existing) section = existing;
      else {
        section = { name, offset: lineOffset + indent + 1, options: new Map() };
        byName.set(name, section);
        sections.push(section);
      }
      continue;
    }
    if (!section) {
      problems.push({ offset: lineOffset + indent, message: `expected a [section] header before "${content}"` });
      continue;
    }
    const m = OPTION_RE.exec(content);
    if (!m || m[1] === '') {
      finish();
      problems.push({ offset: lineOffset + indent, message: `expected "key = value" or a [section] header, got "${content}"` });
      continue;
    }
    finish();
    const [, key, , value] = m;
    const valueOffset = lineOffset + indent + content.length - value.length;
    const opt: IniOption = { key: key.trim().toLowerCase(), value, keyOffset: lineOffset + indent, valueOffset };
    section.options.set(opt.key, opt);
    option = { opt, lines: [value] };
  }
  finish();
  return { sections, problems, lineStarts };
}
