/**
 * The Temporal SDK's log level for this process. Set before the first worker or connection
 * is created. Two start-up warnings are dropped: a queue with only activities (or only
 * workflows) is how Aura splits work, not a mistake.
 */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

const EXPECTED = ['No activities registered', 'No workflows registered'];

export function installSdkLogger(level: LogLevel): void {
  const logger = new DefaultLogger(level, (entry) => {
    if (EXPECTED.some((m) => entry.message.startsWith(m))) return;
    const meta = entry.meta && Object.keys(entry.meta).length ? ` ${JSON.stringify(entry.meta)}` : '';
    console.error(`[temporal ${entry.level.toLowerCase()}] ${entry.message}${meta}`);
  });
  try {
    Runtime.install({ logger });
  } catch {
    /* already installed in this process (tests): keep the first */
  }
}
