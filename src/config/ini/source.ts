// The INI mapping as config Sources: one per file, holding a YAML document built from the mapped
// keys, whose nodes carry offsets into that INI file. The ordinary validator then reads it and
// reports every problem at the INI line and column it came from.
import { Document, Pair, Scalar, YAMLMap, YAMLSeq, type Node } from 'yaml';
import { Source } from '../sources';
import type { ConfigProblem } from '../types';
import { mapIniFile, type IniMapping, type IniNotice, type IniText, type Loc, type Out, type OutEntry } from './map';

export function readIni(file: string, text: string, env: NodeJS.ProcessEnv): Source[] {
  return iniSources(mapIniFile(file, text, env));
}

export function iniSources(mapping: IniMapping): Source[] {
  const sources = mapping.files.map((f) => {
    const source = new Source(f.file, f.text, f.dir, buildDocument(mapping.top, f));
    for (const start of f.parsed.lineStarts) source.lines.addNewLine(start);
    return source;
  });
  const of = (n: IniNotice) => sources[mapping.files.indexOf(n.at.file)];
  const problem = (n: IniNotice): ConfigProblem => ({ file: n.at.file.file, ...of(n).lines.linePos(n.at.offset), path: n.path, message: n.message });
  for (const e of mapping.errors) of(e).readProblems.push(problem(e));
  for (const w of mapping.warnings) of(w).warnings.push(problem(w));
  return sources;
}

/** The part of the mapped config whose keys were written in `file`. */
function buildDocument(top: OutEntry[], file: IniText): Document {
  const doc = new Document();
  const root = new YAMLMap();
  for (const t of top) {
    if (t.value.kind !== 'map') continue;
    const mine = t.value.entries.filter((e) => e.keyAt.file === file);
    if (mine.length === 0) continue;
    root.items.push(new Pair(at(new Scalar(t.key), mine[0].keyAt), at(node({ ...t.value, entries: mine }), mine[0].keyAt)));
  }
  doc.contents = root;
  return doc;
}

function node(o: Out): Node {
  if (o.kind === 'scalar') return at(new Scalar(o.value), o.at);
  if (o.kind === 'seq') {
    const seq = new YAMLSeq();
    for (const item of o.items) seq.items.push(node(item));
    return at(seq, o.at);
  }
  const map = new YAMLMap();
  for (const e of o.entries) map.items.push(new Pair(at(new Scalar(e.key), e.keyAt), node(e.value)));
  return at(map, o.at);
}

function at<T extends Node>(n: T, loc: Loc): T {
  n.range = [loc.offset, loc.offset, loc.offset];
  return n;
}
