/**
 * Benchmarks 1–4, in a BenchWorld (bench/platform.ts): the platform's runs against the
 * fixed-latency model, each checked to end `completed` (a run that does not is an error,
 * never a figure).
 * 1. governed overhead: one governed task vs a bare one-activity workflow, same model call;
 * 2. critical path: the 20-task DAG's run wall time ÷ the model latencies on its critical path;
 * 3. throughput: governed tasks per second sustained, and where the time goes;
 * 4. concurrency: many runs started at once, all completed; the worker's peak memory.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Client } from '@temporalio/client';
import { submitRun } from '../director/runs.js';
import type { RunOptions, RunReport } from '../governance/types.js';
import { taskWorkflowId } from '../workflows/definitions.js';
import { BARE_QUEUE } from './bare/activities.js';
import { type BenchResult, type Figure, formatNumber, median, percentile } from './figures.js';
import { histogramDelta, scrape, type HistogramTotal, type Samples } from './metrics.js';
import { benchPrd, DAG_CRITICAL_CALLS, DAG_LAYERS, planFor } from './model-server.js';
import type { BenchWorld } from './platform.js';
import { machineCpu, memoryOf, processCpu } from './proc.js';

type Log = (line: string) => void;

/** A run that did not end `completed`: counted as an error, never as a figure. */
export class RunNotCompleted extends Error {}

interface TimedRun {
  runId: string;
  workflowId: string;
  report: RunReport;
  /** The run workflow's start and close, as the Temporal server recorded them (ms since epoch). */
  start: number;
  close: number;
}

async function spanOf(client: Client, workflowId: string): Promise<{ start: number; close: number }> {
  const d = await client.workflow.getHandle(workflowId).describe();
  if (!d.closeTime) throw new Error(`${workflowId} has not closed`);
  return { start: d.startTime.getTime(), close: d.closeTime.getTime() };
}

async function startRun(world: BenchWorld, shape: string, options: RunOptions = {}) {
  return submitRun(world.client, { prd: benchPrd(shape), project: 'bench', options: { autoApprove: true, director: 'bench', ...options } });
}

async function awaitRun(world: BenchWorld, started: { runId: string; workflowId: string }): Promise<TimedRun> {
  const report = (await world.client.workflow.getHandle(started.workflowId).result()) as RunReport;
  if (report.status !== 'completed')
    throw new RunNotCompleted(`run ${started.runId} ended ${report.status}${report.reason ? `: ${report.reason}` : ''}`);
  return { ...started, report, ...(await spanOf(world.client, started.workflowId)) };
}

async function runToEnd(world: BenchWorld, shape: string, options: RunOptions = {}): Promise<TimedRun> {
  return awaitRun(world, await startRun(world, shape, options));
}

/** The bare baseline: one workflow, one activity, the same model call; its span on the server. */
async function bareCall(world: BenchWorld, i: number): Promise<number> {
  const workflowId = `bench-bare-${randomUUID()}`;
  const prompt = `You are a software engineer. Do task B${i}: Write the file of B${i}\n\nWrite out/B${i}.txt with one line naming the task.`;
  await world.client.workflow.execute('bareModelCall', { taskQueue: BARE_QUEUE, workflowId, args: [prompt] });
  const s = await spanOf(world.client, workflowId);
  return s.close - s.start;
}

const ms = (v: number) => `${formatNumber(v)} ms`;

/** Activity time per governed task, by activity type (from the worker's metrics). */
function activityBreakdown(
  activities: HistogramTotal[],
  tasks: number,
): { activity: string; calls: number; msPerTask: number; meanMs: number }[] {
  return activities.map((a) => ({ activity: a.group, calls: a.count, msPerTask: a.sum / tasks, meanMs: a.sum / a.count }));
}

// ---------------------------------------------------------------- 1. governed overhead
export async function governedOverhead(world: BenchWorld, opts: { samples: number; log: Log }): Promise<BenchResult> {
  const { samples, log } = opts;
  log(`1. governed overhead: ${samples} single-task runs and ${samples} bare calls, one at a time (after one of each to warm up)`);
  await runToEnd(world, 'single');
  await bareCall(world, 0);
  const governed: number[] = [];
  const bare: number[] = [];
  const runs: number[] = [];
  const before = await scrape(world.metricsUrl);
  for (let i = 1; i <= samples; i++) {
    const run = await runToEnd(world, 'single');
    const task = await spanOf(world.client, taskWorkflowId(run.workflowId, 'T1'));
    governed.push(task.close - task.start);
    runs.push(run.close - run.start);
    bare.push(await bareCall(world, i));
  }
  const after = await scrape(world.metricsUrl);
  // Each step of a workflow is events in its history, each written by the server.
  const last = await runToEnd(world, 'single');
  const events = async (id: string) => (await world.client.workflow.getHandle(id).fetchHistory()).events?.length ?? null;
  const bareId = `bench-bare-${randomUUID()}`;
  await world.client.workflow.execute('bareModelCall', {
    taskQueue: BARE_QUEUE,
    workflowId: bareId,
    args: ['You are a software engineer. Do task B0: x'],
  });
  const historyEvents = {
    taskRun: await events(taskWorkflowId(last.workflowId, 'T1')),
    prdRun: await events(last.workflowId),
    bare: await events(bareId),
  };
  const g = median(governed);
  const b = median(bare);
  const r = median(runs);
  const perTask = activityBreakdown(
    histogramDelta(before, after, 'temporal_activity_execution_latency', ['workflow_type', 'activity_type']).filter((a) =>
      a.group.startsWith('taskRun'),
    ),
    samples,
  );
  // Between the activities: the workflow's own steps (workflow tasks) and the waits for a worker.
  const wfTasks = histogramDelta(before, after, 'temporal_workflow_task_execution_latency', ['workflow_type']).find(
    (w) => w.group === 'taskRun',
  );
  const wfWait = histogramDelta(before, after, 'temporal_workflow_task_schedule_to_start_latency', []);
  const actWait = histogramDelta(before, after, 'temporal_activity_schedule_to_start_latency', []);
  const between = {
    workflowTasksPerTask: wfTasks ? wfTasks.count / samples : null,
    workflowTaskMeanMs: wfTasks ? wfTasks.sum / wfTasks.count : null,
    workflowTaskScheduleToStartMeanMs: wfWait[0] ? wfWait[0].sum / wfWait[0].count : null,
    activityScheduleToStartMeanMs: actWait[0] ? actWait[0].sum / actWait[0].count : null,
  };
  const text = [
    `1. one governed task (median of ${samples}): ${ms(g)}; its activities, mean time each (from the worker's metrics):`,
    `   ${perTask.map((a) => `${a.activity.replace('taskRun / ', '')} ${formatNumber(a.msPerTask)}`).join(', ')} ms;`,
    `   activities ${ms(perTask.reduce((x, a) => x + a.msPerTask, 0))} in all, the rest between them (workflow tasks, scheduling, progress signals to the run);`,
    `   ${formatNumber(between.workflowTasksPerTask)} workflow tasks per governed task, ${formatNumber(between.workflowTaskMeanMs)} ms each (mean); waits for a worker (schedule-to-start, mean over every queue): workflow tasks ${formatNumber(between.workflowTaskScheduleToStartMeanMs)} ms, activities ${formatNumber(between.activityScheduleToStartMeanMs)} ms;`,
    `   history events: the governed task's workflow ${historyEvents.taskRun}, its one-task run's ${historyEvents.prdRun}; the bare workflow ${historyEvents.bare}`,
  ];
  return {
    figures: [
      {
        bench: '1',
        key: 'overheadRatio',
        label: `governed task ÷ bare workflow, ${world.latencyMs} ms model`,
        value: g / b,
        unit: '×',
        goal: { kind: 'max', value: 1.5 },
        note: `medians of ${samples}: governed task (its taskRun workflow, start to close on the server) ${ms(g)}, bare one-activity workflow ${ms(b)}`,
      },
      { bench: '1', key: 'overheadAddedMs', label: 'governed task: time added per task', value: g - b, unit: 'ms' },
      {
        bench: '1',
        key: 'singleTaskRunMs',
        label: 'one-task run, end to end (plan + task + verify + report)',
        value: r,
        unit: 'ms',
        note: `2 model calls of ${world.latencyMs} ms; median of ${samples}`,
      },
    ],
    details: {
      samples,
      governedTaskMs: governed,
      bareMs: bare,
      singleTaskRunMs: runs,
      governedTaskActivities: perTask,
      historyEvents,
      between,
    },
    text,
  };
}

// ---------------------------------------------------------------- 2. critical path
export async function criticalPath(world: BenchWorld, opts: { parallels: number[]; log: Log }): Promise<BenchResult> {
  const { parallels, log } = opts;
  const latency = world.latencyMs;
  const widest = Math.max(...DAG_LAYERS);
  const critical = DAG_CRITICAL_CALLS * latency;
  const keys = planFor('dag20').tasks.map((t) => t.id);
  const figures: Figure[] = [];
  const rows: Record<string, unknown>[] = [];
  for (const maxParallel of parallels) {
    log(`2. critical path: the 20-task DAG (layers ${DAG_LAYERS.join('-')}), maxParallel ${maxParallel}`);
    const run = await runToEnd(world, 'dag20', { maxParallel });
    const spans = await Promise.all(keys.map((k) => spanOf(world.client, taskWorkflowId(run.workflowId, k))));
    const tasksWall = Math.max(...spans.map((s) => s.close)) - Math.min(...spans.map((s) => s.start));
    const wall = run.close - run.start;
    const taskMedian = median(spans.map((s) => s.close - s.start));
    rows.push({ maxParallel, runWallMs: wall, tasksWallMs: tasksWall, taskMedianMs: taskMedian });
    figures.push({
      bench: '2',
      key: `criticalPathRatio_p${maxParallel}`,
      label: `20-task DAG, maxParallel ${maxParallel}: run wall ÷ critical path`,
      value: wall / critical,
      unit: '×',
      ...(maxParallel >= widest ? { goal: { kind: 'max' as const, value: 1.1 } } : {}),
      note: `run ${ms(wall)}; critical path ${DAG_CRITICAL_CALLS} calls × ${latency} ms = ${ms(critical)} (plan + ${DAG_LAYERS.length} layers); the tasks alone ${ms(tasksWall)} ÷ ${ms(DAG_LAYERS.length * latency)} = ${(tasksWall / (DAG_LAYERS.length * latency)).toFixed(2)}×; a task ${ms(taskMedian)} (median)${maxParallel >= widest ? '' : `; below the widest layer (${widest}), so no goal`}`,
    });
  }
  return { figures, details: { latencyMs: latency, layers: DAG_LAYERS, criticalPathMs: critical, runs: rows } };
}

// ---------------------------------------------------------------- 3. throughput
interface Snapshot {
  at: number;
  accepted: number;
  metrics: Samples;
  cpu: Record<string, { self: number; children: number } | null>;
  machine: { busy: number; total: number } | null;
  dbActiveMs: number | null;
}

async function snapshot(world: BenchWorld): Promise<Snapshot> {
  const [accepted, metrics, active] = await Promise.all([
    sql<{ n: number }>`SELECT count(*)::int AS n FROM task_queue WHERE status = 'accepted'`.execute(world.db),
    scrape(world.metricsUrl),
    sql<{ ms: number | null }>`SELECT active_time AS ms FROM pg_stat_database WHERE datname = current_database()`
      .execute(world.db)
      .catch(() => null),
  ]);
  return {
    at: performance.now(),
    accepted: accepted.rows[0]!.n,
    metrics,
    cpu: {
      worker: processCpu(world.workerPid),
      temporal: processCpu(world.temporalPid),
      postgres: processCpu(world.postgresPid),
      model: processCpu(world.modelPid),
      bench: processCpu(process.pid),
    },
    machine: machineCpu(),
    dbActiveMs: active?.rows[0]?.ms ?? null,
  };
}

const ROLE_OF: Record<string, string> = {
  performTask: 'employee (model call)',
  planWithEmployee: 'employee (model call)',
  reviewOutput: 'employee (model call)',
  verifyTaskOutput: 'sandbox',
  verifyWorkspace: 'sandbox',
  exportWorkspace: 'sandbox',
  auditAttempt: 'auditor',
  inspectRound: 'auditor',
  applyPolicy: 'HR',
  scoreAttempt: 'accountant',
  employeeRoster: 'accountant',
};

export async function throughput(
  world: BenchWorld,
  opts: { seconds: number; warmupSeconds: number; runsInFlight: number; tasksPerRun: number; log: Log },
): Promise<BenchResult> {
  const { seconds, warmupSeconds, runsInFlight, tasksPerRun, log } = opts;
  log(
    `3. throughput: ${runsInFlight} runs of ${tasksPerRun} independent tasks in flight (maxParallel ${tasksPerRun}), a new one as each ends; ${warmupSeconds} s warm-up, then ${seconds} s measured`,
  );
  let stopping = false;
  const errors: string[] = [];
  let completedRuns = 0;
  const loop = async () => {
    while (!stopping) {
      try {
        await runToEnd(world, `flat ${tasksPerRun}`, { maxParallel: tasksPerRun });
        completedRuns += 1;
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
        if (!(err instanceof RunNotCompleted)) await sleep(1_000);
      }
    }
  };
  const loops = Array.from({ length: runsInFlight }, loop);
  await sleep(warmupSeconds * 1000);
  const a = await snapshot(world);
  await sleep(seconds * 1000);
  const b = await snapshot(world);
  stopping = true;
  log('3. throughput: measured; letting the runs in flight finish');
  await Promise.all(loops);

  const elapsed = (b.at - a.at) / 1000;
  const tasks = b.accepted - a.accepted;
  const rate = tasks / elapsed;
  const perTask = (v: number) => (tasks > 0 ? (v * 1000) / tasks : NaN);

  // Activity time per task, grouped by role; workflow task time (the Manager's own code).
  const byType = histogramDelta(a.metrics, b.metrics, 'temporal_activity_execution_latency', ['activity_type']);
  const byRole = new Map<string, number>();
  for (const t of byType) {
    const role =
      ROLE_OF[t.group] ?? (t.group.startsWith('record') || t.group === 'runUsage' || t.group === 'closeOpenTasks' ? 'ledger' : t.group);
    byRole.set(role, (byRole.get(role) ?? 0) + t.sum);
  }
  const workflowTasks = histogramDelta(a.metrics, b.metrics, 'temporal_workflow_task_execution_latency', ['workflow_type']);
  const waits = histogramDelta(a.metrics, b.metrics, 'temporal_activity_schedule_to_start_latency', ['task_queue']);
  const wfWaits = histogramDelta(a.metrics, b.metrics, 'temporal_workflow_task_schedule_to_start_latency', ['task_queue']);
  const cpuDelta = (k: string, part: 'self' | 'children') => {
    const x = a.cpu[k]?.[part];
    const y = b.cpu[k]?.[part];
    return x === undefined || y === undefined ? null : y - x;
  };
  const cpu: Record<string, number | null> = {
    'worker process (Manager workflows, activities, clients)': cpuDelta('worker', 'self'),
    'sandbox processes (bwrap + sh, children of the worker)': cpuDelta('worker', 'children'),
    'PostgreSQL (server and backends)':
      a.cpu.postgres && b.cpu.postgres
        ? b.cpu.postgres.self + b.cpu.postgres.children - a.cpu.postgres.self - a.cpu.postgres.children
        : null,
    'Temporal dev server':
      a.cpu.temporal && b.cpu.temporal
        ? b.cpu.temporal.self + b.cpu.temporal.children - a.cpu.temporal.self - a.cpu.temporal.children
        : null,
    'model server': cpuDelta('model', 'self'),
    'this benchmark (client)': cpuDelta('bench', 'self'),
  };
  const machineBusy = a.machine && b.machine ? b.machine.busy - a.machine.busy : null;
  const machineTotal = a.machine && b.machine ? b.machine.total - a.machine.total : null;
  const accounted = Object.values(cpu).reduce<number>((s, v) => s + (v ?? 0), 0);
  const dbActive = a.dbActiveMs !== null && b.dbActiveMs !== null ? b.dbActiveMs - a.dbActiveMs : null;

  const text = [
    `3. where the time goes, per governed task (${tasks} tasks in ${elapsed.toFixed(1)} s):`,
    `   CPU, from /proc (ms of CPU per task; ${machineTotal ? `the machine's ${(machineTotal / elapsed).toFixed(1)} cores were ${((100 * (machineBusy ?? 0)) / machineTotal).toFixed(0)}% busy` : 'no /proc'}):`,
    ...Object.entries(cpu).map(([k, v]) => `     ${k.padEnd(58)} ${v === null ? '—' : formatNumber(perTask(v)).padStart(8)}`),
    ...(machineBusy !== null
      ? [`     ${'anything else on the machine'.padEnd(58)} ${formatNumber(perTask(machineBusy - accounted)).padStart(8)}`]
      : []),
    `   activity execution time, by role (ms per task, wall time; they overlap):`,
    ...[...byRole.entries()].sort((x, y) => y[1] - x[1]).map(([k, v]) => `     ${k.padEnd(58)} ${formatNumber(v / tasks).padStart(8)}`),
    `   workflow tasks (the Manager's code, on the worker): ${workflowTasks.map((w) => `${w.group} ${formatNumber(w.sum / tasks)} ms/task (${w.count} tasks, mean ${formatNumber(w.sum / w.count)} ms)`).join('; ')}`,
    `   waiting for a worker slot (schedule-to-start, mean): activities ${waits.map((w) => `${w.group} ${formatNumber(w.sum / w.count)} ms`).join(', ')}; workflow tasks ${wfWaits.map((w) => `${w.group} ${formatNumber(w.sum / w.count)} ms`).join(', ')}`,
    `   PostgreSQL statements of this database (pg_stat_database.active_time): ${dbActive === null ? '—' : `${formatNumber(dbActive / tasks)} ms per task`}`,
  ];
  return {
    figures: [
      {
        bench: '3',
        key: 'throughputTasksPerSecond',
        label: `governed tasks per second, sustained ${Math.round(elapsed)} s`,
        value: rate,
        unit: '/s',
        goal: { kind: 'min', value: 20 },
        note: `${tasks} tasks accepted in ${elapsed.toFixed(1)} s; ${runsInFlight} runs of ${tasksPerRun} in flight, ${world.latencyMs} ms model, acceptance "test -f out/<task>.txt"; ${completedRuns} runs completed${errors.length ? `, ${errors.length} ERRORS` : ', none failed'}`,
      },
      {
        bench: '3',
        key: 'throughputErrors',
        label: 'throughput: runs not completed',
        value: errors.length,
        unit: '',
        goal: { kind: 'max', value: 0 },
      },
    ],
    details: {
      seconds: elapsed,
      tasks,
      runsInFlight,
      tasksPerRun,
      completedRuns,
      errors: errors.slice(0, 20),
      cpuSecondsByProcess: cpu,
      machineBusySeconds: machineBusy,
      machineTotalSeconds: machineTotal,
      dbActiveMs: dbActive,
      activityMsByRole: Object.fromEntries(byRole),
      activities: byType,
      workflowTasks,
      scheduleToStart: waits,
      workflowTaskScheduleToStart: wfWaits,
    },
    text,
  };
}

// ---------------------------------------------------------------- 4. concurrency
export async function concurrency(world: BenchWorld, opts: { runs: number; log: Log }): Promise<BenchResult> {
  const { runs, log } = opts;
  log(`4. concurrency: ${runs} single-task runs started at once`);
  const peak = { worker: 0, temporal: 0 };
  const sampler = setInterval(() => {
    peak.worker = Math.max(peak.worker, memoryOf(world.workerPid)?.rssMiB ?? 0);
    peak.temporal = Math.max(peak.temporal, memoryOf(world.temporalPid)?.rssMiB ?? 0);
  }, 200);
  const rssBefore = memoryOf(world.workerPid)?.rssMiB ?? null;
  const before = await scrape(world.metricsUrl);
  const t0 = performance.now();
  const starts = await Promise.allSettled(Array.from({ length: runs }, () => startRun(world, 'single')));
  const submitMs = performance.now() - t0;
  const startErrors = starts.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason));
  const latencies: number[] = [];
  const ends = await Promise.allSettled(
    starts
      .filter((s) => s.status === 'fulfilled')
      .map(async (s) => {
        const run = await awaitRun(world, (s as PromiseFulfilledResult<{ runId: string; workflowId: string }>).value);
        latencies.push(performance.now() - t0);
        return run;
      }),
  );
  const allMs = performance.now() - t0;
  clearInterval(sampler);
  const after = await scrape(world.metricsUrl);
  const completed = ends.filter((e) => e.status === 'fulfilled').length;
  const runErrors = ends.filter((e) => e.status === 'rejected').map((e) => String((e as PromiseRejectedResult).reason));
  const hwm = memoryOf(world.workerPid)?.peakMiB ?? null;
  const wfWait = histogramDelta(before, after, 'temporal_workflow_task_schedule_to_start_latency', ['task_queue']);
  const actWait = histogramDelta(before, after, 'temporal_activity_schedule_to_start_latency', ['task_queue']);
  const mean = (h: HistogramTotal[]) => {
    const c = h.reduce((s, x) => s + x.count, 0);
    return c ? h.reduce((s, x) => s + x.sum, 0) / c : null;
  };
  const wfWaitMean = mean(wfWait);
  const text = [
    `4. ${runs} runs at once: started in ${ms(submitMs)}${startErrors.length ? ` (${startErrors.length} refused: ${startErrors[0]})` : ', none refused by the server'}; all ended after ${formatNumber(allMs / 1000)} s (p50 ${formatNumber(percentile(latencies, 50) / 1000)} s, p95 ${formatNumber(percentile(latencies, 95) / 1000)} s from the start);`,
    `   worker RSS ${rssBefore === null ? '—' : formatNumber(rssBefore)} MiB before, peak ${formatNumber(peak.worker)} MiB (VmHWM over the process's life ${hwm === null ? '—' : formatNumber(hwm)} MiB); Temporal dev server peak ${formatNumber(peak.temporal)} MiB;`,
    `   waiting for a worker (schedule-to-start, mean): workflow tasks ${wfWait.map((w) => `${w.group} ${formatNumber(w.sum / w.count)} ms`).join(', ')}; activities ${actWait.map((w) => `${w.group} ${formatNumber(w.sum / w.count)} ms`).join(', ')}`,
  ];
  return {
    figures: [
      {
        bench: '4',
        key: 'concurrentRunsCompleted',
        label: `runs started at once that completed`,
        value: completed,
        unit: 'runs',
        goal: { kind: 'min', value: runs },
        note: `${startErrors.length} starts refused, ${runErrors.length} runs not completed${runErrors.length ? ` (first: ${runErrors[0]})` : ''}; all done in ${formatNumber(allMs / 1000)} s`,
      },
      {
        bench: '4',
        key: 'concurrentWorkerPeakRssMiB',
        label: `worker process peak RSS, ${runs} runs at once`,
        value: peak.worker,
        unit: 'MiB',
        note: 'sampled every 200 ms from /proc (VmRSS); manager, governance, sandbox and employee workers in one process',
      },
      { bench: '4', key: 'concurrentAllDoneSeconds', label: `${runs} runs at once: all completed after`, value: allMs / 1000, unit: 's' },
      {
        bench: '4',
        key: 'concurrentWorkflowTaskWaitMs',
        label: `${runs} runs at once: workflow task schedule-to-start, mean`,
        value: wfWaitMean,
        unit: 'ms',
        note: `how long a workflow task waited for the worker; the dev server ${startErrors.length ? `refused ${startErrors.length} start(s)` : 'accepted every start and queued the backlog'}`,
      },
    ],
    details: {
      runs,
      completed,
      startErrors: startErrors.slice(0, 10),
      runErrors: runErrors.slice(0, 10),
      submitMs,
      allMs,
      latencyP50Ms: percentile(latencies, 50),
      latencyP95Ms: percentile(latencies, 95),
      workerRssBeforeMiB: rssBefore,
      workerPeakRssMiB: peak.worker,
      workerVmHwmMiB: hwm,
      temporalPeakRssMiB: peak.temporal,
      workflowTaskScheduleToStart: wfWait,
      activityScheduleToStart: actWait,
    },
    text,
  };
}
