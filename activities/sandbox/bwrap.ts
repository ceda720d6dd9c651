/**
 * Building the sandbox: the run's own folder with its generated /etc files, everything bwrap is
 * told (namespaces, environment, a minimal read-only file system, size-capped tmpfs), and the
 * sandbox's first process, which copies the workspace in and lists what the command left.
 */
import { lstatSync, mkdirSync, mkdtempSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { CommandLimits } from './limits.js';
import { forceRemove } from './leftovers.js';
import { chownTreeSync, sandboxTempBase } from './workspace-dir.js';

/** The environment bwrap itself starts with (/proc/1/environ inside shows it): nothing secret. */
export const OUTER_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

export interface Run {
  uid: number;
  dir: string;
  etc: string;
  /** The files to copy into the sandbox's /workspace (bound read-only). */
  workspace: string;
  /** setpriv as root; nothing otherwise. */
  prefix: string[];
  cleanup: () => void;
}

/**
 * This run's own folder (0700) holding the few generated /etc files, read-only in the sandbox.
 * As root, it (and the workspace) belongs to the sandbox user, who must open them for bwrap.
 */
export function prepareRun(setpriv: string | null, uid: number | null, workspace?: string): Run {
  const dir = mkdtempSync(join(sandboxTempBase(), 'aura-sandbox-run-'));
  const etc = join(dir, 'etc');
  const ws = workspace ?? join(dir, 'workspace');
  mkdirSync(etc, { mode: 0o700 });
  if (!workspace) mkdirSync(ws, { mode: 0o700 });
  const id = uid ?? userInfo().uid;
  const gid = uid ?? userInfo().gid;
  const others = id === 65_534 ? '' : 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
  writeFileSync(join(etc, 'passwd'), `root:x:0:0:root:/root:/bin/sh\nsandbox:x:${id}:${gid}:aura sandbox:/workspace:/bin/sh\n${others}`);
  writeFileSync(join(etc, 'group'), `root:x:0:\nsandbox:x:${gid}:\n${gid === 65_534 ? '' : 'nogroup:x:65534:\n'}`);
  writeFileSync(join(etc, 'hosts'), '127.0.0.1 localhost aura-sandbox\n::1 localhost ip6-localhost ip6-loopback\n');
  writeFileSync(join(etc, 'nsswitch.conf'), 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n');
  if (uid !== null) chownTreeSync(dir, uid, uid);
  return { uid: id, dir, etc, workspace: ws, prefix: uid !== null ? dropTo(setpriv, uid) : [], cleanup: () => forceRemove(dir) };
}

/** As root: become the sandbox's user (no groups, no way back) before anything else runs. */
export function dropTo(setpriv: string | null, uid: number): string[] {
  return [setpriv ?? 'setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--no-new-privs', '--'];
}

/** Where the workspace copy is bound, read-only, to be copied into /workspace. */
const SOURCE = '/.source';

/** Everything bwrap is told, in order: namespaces, environment, the file system. */
export function bwrapArgs(run: Run, limits: CommandLimits, disableUserns: boolean): string[] {
  const node = realpathSync(process.execPath);
  const a = [
    '--unshare-all',
    '--unshare-user',
    ...(disableUserns ? ['--disable-userns'] : []),
    '--die-with-parent',
    '--new-session',
    '--hostname',
    'aura-sandbox',
    '--clearenv',
    '--setenv',
    'PATH',
    `${dirname(node)}:/usr/local/bin:/usr/bin:/bin`,
    '--setenv',
    'HOME',
    '/workspace',
    '--setenv',
    'TMPDIR',
    '/tmp',
    '--setenv',
    'LANG',
    'C.UTF-8',
    '--setenv',
    'CI',
    'true',
    '--ro-bind',
    '/usr',
    '/usr',
  ];
  for (const top of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    let st;
    try {
      st = lstatSync(top);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) a.push('--symlink', readlinkSync(top), top);
    else if (st.isDirectory()) a.push('--ro-bind', top, top);
  }
  for (const path of ['/etc/ld.so.cache', '/etc/alternatives']) a.push('--ro-bind-try', path, path);
  for (const file of ['passwd', 'group', 'hosts', 'nsswitch.conf']) a.push('--ro-bind', join(run.etc, file), `/etc/${file}`);
  // The node binary alone (not its folder's neighbours) when it lives outside /usr.
  if (!node.startsWith('/usr/')) a.push('--ro-bind', node, node);
  a.push(
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--ro-bind',
    run.workspace,
    SOURCE,
    // bwrap mounts each tmpfs nosuid and nodev; --size caps its bytes (ENOSPC past it).
    '--size',
    String(limits.workspaceBytes),
    '--tmpfs',
    '/workspace',
    '--size',
    String(limits.tmpBytes),
    '--tmpfs',
    '/tmp',
    '--size',
    String(limits.shmBytes),
    '--tmpfs',
    '/dev/shm',
    '--remount-ro',
    '/',
    '--remount-ro',
    '/dev',
    '--chdir',
    '/workspace',
  );
  return a;
}

/**
 * The sandbox's first process: copies the workspace in, runs the command (without fd 3), then
 * writes on fd 3 what is left in /tmp and /dev/shm (files, links, empty folders; NUL-separated).
 */
export const WRAPPER = [
  `cp -a ${SOURCE}/. /workspace/ || { echo "aura: the workspace could not be copied into the sandbox" >&2; exit 125; }`,
  '"$@" 3>&-',
  's=$?',
  // Most checks leave nothing: the shell's own globbing says so without starting a program.
  'left=',
  'for f in /tmp/* /tmp/.[!.]* /tmp/..?* /dev/shm/* /dev/shm/.[!.]* /dev/shm/..?*; do if [ -e "$f" ] || [ -L "$f" ]; then left=1; break; fi; done',
  'for d in /tmp /dev/shm; do [ -r "$d" ] && [ -x "$d" ] || left=1; done',
  'if [ -n "$left" ]; then',
  '  chmod -R u+rwx /tmp /dev/shm 2>/dev/null',
  '  find /tmp /dev/shm -mindepth 1 \\( ! -type d -o -empty \\) -print0 >&3 2>/dev/null',
  'fi',
  'exit $s',
].join('\n');
