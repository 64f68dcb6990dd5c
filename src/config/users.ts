import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** The primary group and every group listing the user as a member. */
  groups: number[];
  name?: string;
  home?: string;
}

function readTable(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/** `name`, `uid` or `uid:gid`, looked up in /etc/passwd and /etc/group. Throws for an unknown name. */
export function resolveUser(spec: string, etcDir = '/etc'): ResolvedUser {
  const [userPart, groupPart] = spec.split(':');
  const passwd = readTable(path.join(etcDir, 'passwd'));
  const numeric = /^\d+$/.test(userPart);
  const entry = passwd.find((f) => (numeric ? f[2] === userPart : f[0] === userPart));
  if (!entry && !numeric) throw new Error(`no such user "${userPart}"`);
  const uid = numeric ? Number(userPart) : Number(entry![2]);
  let gid = entry ? Number(entry[3]) : uid;
  if (groupPart !== undefined) {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = readTable(path.join(etcDir, 'group')).find((f) => f[0] === groupPart);
      if (!g) throw new Error(`no such group "${groupPart}"`);
      gid = Number(g[2]);
    }
  }
  const groups = [gid];
  const name = entry?.[0];
  if (name) {
    for (const g of readTable(path.join(etcDir, 'group'))) {
      const members = (g[3] ?? '').split(',').map((m) => m.trim());
      if (members.includes(name) && !groups.includes(Number(g[2]))) groups.push(Number(g[2]));
    }
  }
  return { uid, gid, groups, name, home: entry?.[5] };
}

/**
 * Why ringmaster cannot run a program as `user` (SPEC §10), or undefined: as root it can switch
 * to anyone; as any other user (an arbitrary `--user 12345`, an OpenShift uid) only to itself
 * with its own group: a switch of group needs setgroups(2), which needs root.
 */
export function switchProblem(user: ResolvedUser, spec: string): string | undefined {
  const uid = process.geteuid?.();
  const gid = process.getegid?.();
  if (uid === undefined || uid === 0) return undefined;
  if (user.uid !== uid || user.gid !== gid) {
    return `ringmaster runs as uid ${uid}:${gid}, not root, so it can run programs only as itself, not as "${spec}" (${user.uid}:${user.gid}); remove user: or run ringmaster as root`;
  }
  return undefined;
}
