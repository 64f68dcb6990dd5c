// `ringmaster convert`: the INI mapping as one YAML file, with comments for what has no equivalent.
import { Document, Pair, Scalar, YAMLMap, YAMLSeq, type Node } from 'yaml';
import type { IniMapping, IniNotice, Out } from './map';

export function mappingToYaml(mapping: IniMapping): string {
  const doc = new Document();
  const root = new YAMLMap();
  for (const t of mapping.top) root.items.push(new Pair(new Scalar(t.key), node(t.value)));
  doc.contents = root;
  const main = mapping.files[0];
  const header = [
    ` Converted from ${main.file}${mapping.files.length > 1 ? ` and ${mapping.files.slice(1).map((f) => f.file).join(', ')}` : ''} by ringmaster convert.`,
    ' Every program\'s output goes to ringmaster\'s stdout/stderr (docker logs); log files only where',
    ' the config names one. A stop signals the program\'s whole process group unless',
    ' stopasgroup: false (supervisord signals only the process by default).',
  ];
  if (mapping.warnings.length > 0) {
    header.push('', ' Not converted (no meaning or no equivalent here):');
    for (const w of mapping.warnings) header.push(`   ${where(w)}: ${w.path ? `${w.path}: ` : ''}${w.message}`);
  }
  doc.commentBefore = header.join('\n');
  return doc.toString({ lineWidth: 0 });
}

function where(n: IniNotice): string {
  const before = n.at.file.text.slice(0, n.at.offset);
  const line = before.split('\n').length;
  return `${n.at.file.file}:${line}`;
}

function node(o: Out): Node {
  if (o.kind === 'scalar') return new Scalar(o.value);
  if (o.kind === 'seq') {
    const seq = new YAMLSeq();
    seq.flow = o.items.every((i) => i.kind === 'scalar');
    for (const item of o.items) seq.items.push(node(item));
    return seq;
  }
  const map = new YAMLMap();
  for (const e of o.entries) {
    const key = new Scalar(e.key);
    if (e.notes.length > 0) key.commentBefore = e.notes.map((n) => ` ${n}`).join('\n');
    map.items.push(new Pair(key, node(e.value)));
  }
  return map;
}
