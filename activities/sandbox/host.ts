/**
 * What this host's sandbox can do, and the little a process's sandboxes share: the user ids
 * handed to them and the names of their cgroups. One `SandboxHost` per process (see
 * isolation-probe.ts): its ids and names are unique within it, not across hosts.
 */

/** What this host's sandbox can do (probed once). */
export interface SandboxSupport {
  /** bwrap builds the sandbox (as the user it runs as). */
  jail: boolean;
  /** Why it cannot, or null. */
  problem: string | null;
  /** e.g. "bubblewrap 0.8.0". */
  bwrapVersion: string | null;
  /** The worker is root: each run drops to a user id of its own. */
  root: boolean;
  prlimit: boolean;
  /** A cgroup v2 folder to create each run's group in, or null and why not. */
  cgroup: { parent: string | null; why: string };
  /** Else a cgroup v1 memory folder to create each run's group in, or null and why not. */
  cgroupV1: { memory: string | null; why: string };
}

/** What a run will do: isolate, refuse, or (the operator's explicit choice) run unisolated. */
export type SandboxMode = 'bwrap' | 'refused' | 'unsafe';
/** Absolute paths, found once on the worker's PATH. */
export interface SandboxTools {
  bwrap: string | null;
  setpriv: string | null;
}

/** AURA_SANDBOX_UNSAFE as the configuration reads booleans. */
export function unsafeModeRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['true', '1', 'yes'].includes((env.AURA_SANDBOX_UNSAFE ?? '').trim());
}

/**
 * User ids handed to sandboxes as root, one per run in turn: high and unused by any account,
 * so nothing of the host belongs to them.
 */
const SANDBOX_UID_BASE = 1_700_000;
const SANDBOX_UID_SPAN = 60_000;

export class SandboxUids {
  private next: number;
  private readonly handedOut = new Set<number>();

  constructor(start = (process.pid * 97) % SANDBOX_UID_SPAN) {
    this.next = start;
  }

  take(): number {
    this.next = (this.next + 1) % SANDBOX_UID_SPAN;
    this.handedOut.add(SANDBOX_UID_BASE + this.next);
    return SANDBOX_UID_BASE + this.next;
  }

  /** The uids handed out (what a check for leftovers of these sandboxes looks for). */
  handed(): ReadonlySet<number> {
    return this.handedOut;
  }
}

export class SandboxHost {
  private cgroups = 0;

  constructor(
    readonly support: SandboxSupport,
    readonly tools: SandboxTools,
    /** bwrap is told `--disable-userns`: the code cannot make nested user namespaces. */
    readonly disableUserns: boolean,
    readonly uids: SandboxUids,
  ) {}

  /** Isolated when bwrap works; otherwise unsafe only when the operator asked for it. */
  mode(env: NodeJS.ProcessEnv = process.env): SandboxMode {
    if (this.support.jail) return 'bwrap';
    return unsafeModeRequested(env) ? 'unsafe' : 'refused';
  }

  /** A name for a run's cgroup, unique among this host's runs. */
  cgroupName(): string {
    return `aura-sandbox-${process.pid}-${++this.cgroups}`;
  }
}
