/**
 * Where the CLI writes and what it reads its settings from: this process's console, exit code and
 * environment, or — for one `main(argv, io)` call — those of its caller (the tests drive the CLI
 * in-process this way). Held per call in an AsyncLocalStorage, so that anything else running in
 * the same process (workers in a test, say) writes where it always did.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface CliIo {
  env: NodeJS.ProcessEnv;
  /** A line to standard output. */
  out(line: string): void;
  /** A line to standard error. */
  err(line: string): void;
  /** Text to standard output as it is. */
  write(text: string): void;
  /** Text to standard error as it is. */
  writeErr(text: string): void;
  exitCode: number | undefined;
  /** Something to close when the command is done (a connection); the process's own exit closes it otherwise. */
  defer(close: () => Promise<void>): void;
}

const processIo: CliIo = {
  get env() {
    return process.env;
  },
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  write: (text) => void process.stdout.write(text),
  writeErr: (text) => void process.stderr.write(text),
  get exitCode() {
    return typeof process.exitCode === 'number' ? process.exitCode : undefined;
  },
  set exitCode(code) {
    process.exitCode = code;
  },
  defer: () => {},
};

const current = new AsyncLocalStorage<CliIo>();

export function io(): CliIo {
  return current.getStore() ?? processIo;
}

export function withIo<T>(given: CliIo | undefined, fn: () => Promise<T>): Promise<T> {
  return given ? current.run(given, fn) : fn();
}

/** Closes what a captured command left open, in reverse order. */
export async function closeDeferred(given: { closing: (() => Promise<void>)[] }): Promise<void> {
  for (const close of given.closing.splice(0).reverse()) await close().catch(() => {});
}

export const print = (line: string): void => io().out(line);
export const printErr = (line: string): void => io().err(line);
/** The command failed in a way the caller should see in the exit code (1), after printing what it can. */
export const fail = (code = 1): void => {
  io().exitCode = code;
};

/** An io that keeps what the CLI writes (for tests), with `env` as its environment. */
export function capturedIo(env: NodeJS.ProcessEnv): CliIo & { stdout(): string; stderr(): string; closing: (() => Promise<void>)[] } {
  let stdout = '';
  let stderr = '';
  const closing: (() => Promise<void>)[] = [];
  return {
    closing,
    defer: (close) => void closing.push(close),
    env,
    out: (line) => void (stdout += `${line}\n`),
    err: (line) => void (stderr += `${line}\n`),
    write: (text) => void (stdout += text),
    writeErr: (text) => void (stderr += text),
    exitCode: undefined,
    stdout: () => stdout,
    stderr: () => stderr,
  };
}
