/** What a sandbox run may use, and the defaults a verification runs with. */
export interface CommandLimits {
  wallClockMs: number;
  cpuSeconds: number;
  memoryBytes: number;
  maxProcesses: number;
  maxFileBytes: number;
  /** Size caps of the sandbox's tmpfs: /workspace (the copy of the files included), /tmp, /dev/shm. */
  workspaceBytes: number;
  tmpBytes: number;
  shmBytes: number;
  /**
   * Files, folders and links (inodes) of those three tmpfs together, the copy of the files and
   * the three mount roots included; past it the run is stopped (the worker looks every 100 ms).
   */
  maxFiles: number;
  /** CPUs' worth of time per period (cgroup v2 cpu.max, where it applies). */
  cpus: number;
  /** Bytes of stdout+stderr kept (the tail); past `killAfterOutputBytes` the run is stopped. */
  keepOutputBytes: number;
  killAfterOutputBytes: number;
}

export const DEFAULT_LIMITS: CommandLimits = {
  wallClockMs: 60_000,
  cpuSeconds: 120,
  memoryBytes: 2 * 1024 ** 3,
  maxProcesses: 256,
  maxFileBytes: 64 * 1024 ** 2,
  workspaceBytes: 256 * 1024 ** 2,
  tmpBytes: 64 * 1024 ** 2,
  shmBytes: 16 * 1024 ** 2,
  // An empty file on tmpfs holds about 1 KiB of kernel memory and none of the byte caps: 100,000
  // are about 100 MB, which no real check needs (the files judged are tens to hundreds).
  maxFiles: 100_000,
  cpus: 1,
  keepOutputBytes: 16_384,
  killAfterOutputBytes: 8 * 1024 ** 2,
};
