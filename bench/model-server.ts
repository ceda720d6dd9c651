/**
 * The benchmarks' model: a local server speaking the OpenAI chat-completions wire protocol
 * (test/fixtures/fake-model-server.ts) that answers every call after a fixed latency, so what
 * the benchmarks measure is the orchestration around the calls, not a model.
 *
 * - A planner prompt is answered with the plan its PRD asks for, by a line `bench-plan: <shape>`:
 *   `single` (one task), `flat <n>` (n independent tasks), `dag20` (the 20-task DAG of
 *   DAG_LAYERS below: each layer depends on the whole layer before it).
 * - A tester's prompt ("Write the acceptance tests for task <key>:") is answered with
 *   `check/<key>.test.sh`, which fails until `out/<key>.txt` names the task (red, then green).
 * - A task prompt ("Do task <key>:") is answered with one small file, `out/<key>.txt`, inside the
 *   task's scope; the acceptance command is `sh check/<key>.test.sh` (a grep: as cheap a real
 *   check as there is), the final verification `test -d out`.
 *
 * Run alone it prints its URL:  node --import tsx bench/model-server.ts [--latency MS] [--port N]
 */
import { FakeModelServer, requestPrompt, type Behaviour, type RecordedRequest } from '../test/fixtures/fake-model-server.js';

/** Widths of the DAG's layers: 20 tasks, critical path 5 task calls, at most 6 tasks able to run at once. */
export const DAG_LAYERS = [2, 6, 6, 4, 2] as const;
/** Model calls on the critical path of a `dag20` run: the planner's, then one per layer. */
export const DAG_CRITICAL_CALLS = 1 + DAG_LAYERS.length;

export function benchPrd(shape: string): string {
  return `# Benchmark\n\nA workload for the benchmarks: each task writes one small file.\n\nbench-plan: ${shape}\n`;
}

interface PlannedTask {
  id: string;
  dependsOn: string[];
}

function tasksOf(shape: string): PlannedTask[] {
  const [kind, n] = shape.trim().split(/\s+/);
  if (kind === 'single') return [{ id: 'T1', dependsOn: [] }];
  if (kind === 'flat') return Array.from({ length: Number(n) }, (_, i) => ({ id: `T${i + 1}`, dependsOn: [] }));
  if (kind === 'dag20') {
    const tasks: PlannedTask[] = [];
    let previous: string[] = [];
    DAG_LAYERS.forEach((width, l) => {
      const layer = Array.from({ length: width }, (_, i) => `L${l + 1}-${i + 1}`);
      for (const id of layer) tasks.push({ id, dependsOn: previous });
      previous = layer;
    });
    return tasks;
  }
  throw new Error(`unknown bench plan shape "${shape}"`);
}

export function planFor(shape: string) {
  return {
    summary: `Benchmark workload (${shape}): each task writes one file under out/.`,
    tasks: tasksOf(shape).map((t) => ({
      id: t.id,
      title: `Write the file of ${t.id}`,
      instructions: `Write out/${t.id}.txt with one line naming the task.`,
      capability: 'coder',
      scope: [`out/${t.id}.txt`, `check/${t.id}.test.sh`],
      criteria: [`out/${t.id}.txt holds a line naming the task: task ${t.id}`],
      tests: [`check/${t.id}.test.sh`],
      dependsOn: t.dependsOn,
      allowedDependencies: [],
      acceptance: { command: `sh check/${t.id}.test.sh`, timeoutMs: 30_000 },
      timeLimitMs: 60_000,
    })),
    verification: { command: 'test -d out', timeoutMs: 30_000 },
  };
}

/** A tester's acceptance test: fails while out/<key>.txt is missing or wrong. */
export function testsAnswer(key: string) {
  return { summary: `The check of ${key}.`, files: [{ path: `check/${key}.test.sh`, content: `grep -qx 'task ${key}' out/${key}.txt\n` }] };
}

/** The coder's answer; left to test itself (no frozen tests in its prompt) it writes the check too. */
export function taskAnswer(key: string, selfTested = false) {
  const files = [{ path: `out/${key}.txt`, content: `task ${key}\n` }];
  if (selfTested) files.push(testsAnswer(key).files[0]!);
  return { summary: `Wrote out/${key}.txt.`, files };
}

/** The responder: every answer after `latencyMs`, tokens counted from the text (about 4 characters each). */
export function benchModel(latencyMs: number) {
  let calls = 0;
  return Object.assign(
    (req: RecordedRequest): Behaviour => {
      calls += 1;
      const prompt = requestPrompt(req);
      if (/You are the planner/.test(prompt)) {
        const shape = /^bench-plan: (.+)$/m.exec(prompt)?.[1];
        if (!shape)
          return {
            status: 400,
            body: { error: { message: 'the bench model plans only bench PRDs (a "bench-plan:" line)', type: 'invalid_request_error' } },
          };
        return { reply: planFor(shape), delayMs: latencyMs };
      }
      const testsFor = /Write the acceptance tests for task (\S+):/.exec(prompt)?.[1];
      if (testsFor) return { reply: testsAnswer(testsFor), delayMs: latencyMs };
      const key = /Do task (\S+):/.exec(prompt)?.[1];
      if (key) return { reply: taskAnswer(key, !prompt.includes('FROZEN ACCEPTANCE TESTS')), delayMs: latencyMs };
      return {
        status: 400,
        body: { error: { message: 'the bench model answers planner and task prompts only', type: 'invalid_request_error' } },
      };
    },
    { calls: () => calls },
  );
}

export async function startBenchModel(latencyMs: number, port = 0) {
  const model = benchModel(latencyMs);
  const server = new FakeModelServer().setDefault(model);
  // The server keeps every request it saw; a benchmark makes tens of thousands.
  const requests = server.requests;
  const started = await server.start(port);
  const trim = setInterval(() => requests.splice(0, requests.length), 5_000);
  trim.unref();
  return { url: started.url, calls: model.calls, close: () => (clearInterval(trim), started.close()) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
  const server = await startBenchModel(flag('--latency', 200), flag('--port', 0));
  // One JSON line: the parent reads the URL from it.
  console.log(JSON.stringify({ url: server.url, pid: process.pid }));
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
