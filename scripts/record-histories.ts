/**
 * Records the workflow histories that the replay test keeps replaying: the sample PRD run
 * (with its re-plan, reassignment and final verification) and its T1 task workflow. With a
 * name ending in "-repair", a run of the coding model instead (test/fixtures/coding-model.ts,
 * over the OpenAI wire protocol): planners routed around, a repair round in T1 and a repair
 * task after a failed final verification. With a name ending in "-checks", a run of the confident
 * model (test/fixtures/confident-model.ts) with acceptance tests by a tester: red before green, a
 * disputed test upheld and re-frozen, a reviewer's opinion within the rounds. With a name ending in
 * "-director", the sample run steered by the Director: approved at the plan gate with a signed
 * Update, paused from a client without a proof (recorded as unauthenticated), resumed signed.
 * Re-record only on purpose, e.g. when adding a new history next to the old ones; histories
 * of earlier versions must keep replaying, which is what `patched()` is for.
 *
 *   node --import tsx scripts/record-histories.ts [name]
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { createDb } from '../db/connect.js';
import { QUEUES, pauseUpdate } from '../workflows/definitions.js';
import { retentionPurgeWorkflowId } from '../workflows/retention-purge.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { loadConfig, PROJECT_ROOT } from '../config/config.js';
import { startStack } from '../local/stack.js';
import { approvePlan, resumeRun, runStatus, submitRun, waitForReport } from '../director/runs.js';
import { Client } from '@temporalio/client';
import type { RunProgress } from '../governance/types.js';
import { readPrd, SAMPLE_PRD } from '../client/cli.js';
import { installSdkLogger } from '../workers/logging.js';
import { findTemporalCli } from '../local/temporal-cli.js';

const name = process.argv[2] ?? 'v1';
const coding = name.endsWith('-repair');
const checks = name.endsWith('-checks');
const steered = name.endsWith('-director');
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

installSdkLogger('WARN');
let modelServer: { url: string; close(): Promise<void> } | null = null;
if (coding || checks) {
  const { FakeModelServer } = await import('../test/fixtures/fake-model-server.js');
  const { codingModel } = await import('../test/fixtures/coding-model.js');
  const { confidentModel } = await import('../test/fixtures/confident-model.js');
  modelServer = await new FakeModelServer().setDefault(checks ? confidentModel() : codingModel()).start();
}
const config = loadConfig({
  ...process.env,
  ...(modelServer
    ? {
        OPENAI_API_KEY: 'sk-record',
        OPENAI_BASE_URL: `${modelServer.url}/v1`,
        AURA_EMPLOYEES_FILE: join(PROJECT_ROOT, 'test', 'fixtures', checks ? 'independent' : 'converging', 'employees.json'),
        AURA_INDEPENDENT_TESTS: checks ? 'true' : 'false',
      }
    : {}),
  AURA_HOME: mkdtempSync(join(tmpdir(), 'aura-record-')),
  AURA_TEMPORAL_PORT: String(await freePort()),
  AURA_TEMPORAL_UI_PORT: String(await freePort()),
  AURA_EMBEDDED_POSTGRES_PORT: String(await freePort()),
  TEMPORAL_ADDRESS: '',
});
const cli = findTemporalCli(config.temporal.cliPath);
if (!cli) throw new Error('the temporal CLI is needed to export histories');
const stack = await startStack(config, console.log, { databaseName: 'aura_record', recreateDatabase: true });
try {
  const submission = checks
    ? {
        prd: '# Word tally\n\nA module that tallies words, and a report on it.\n\nScenario: disputed test\n',
        project: 'checks-record',
        options: { autoApprove: true, director: 'recorder' },
      }
    : coding
      ? {
          prd: '# Word tally\n\nA module that tallies words, and a report on it.\n\nEdge cases: unicode\n',
          project: 'tally-record',
          options: { autoApprove: true, director: 'recorder', planTimeLimitMs: 2_000 },
        }
      : { prd: readPrd(SAMPLE_PRD), project: 'wordfreq-record', options: { autoApprove: !steered, director: 'recorder' } };
  const { runId, workflowId } = await submitRun(stack.client, submission);
  if (steered) await steer(runId, workflowId);
  const report = await waitForReport(stack.client, runId);
  const expected = checks
    ? report.tasks[0]?.checks?.disputes.some((d) => d.decision === 'uphold') === true
    : coding
      ? (report.repairRounds ?? 0) >= 1 && (report.verificationRepairs ?? 0) >= 1
      : report.reassignments >= 1;
  if (report.status !== 'completed' || !expected) throw new Error(`unexpected run: ${JSON.stringify(report)}`);
  for (const [file, id] of [
    [`prd-run-${name}.json`, workflowId],
    [`task-run-${name}.json`, `${workflowId}.task-T1`],
  ] as const) {
    // The CLI writes the history in the proto3 JSON form that the SDK's replayer reads.
    const json = execFileSync(cli, ['workflow', 'show', '--workflow-id', id, '--output', 'json', '--address', stack.temporalAddress], {
      encoding: 'utf8',
    });
    save(file, id, JSON.parse(json));
  }
  if (!coding && !checks && !steered) await recordPurge();
} finally {
  await stack.stop();
  await modelServer?.close();
}

/** The plan gate answered with a signed Update; a pause without proof; a signed resume. */
async function steer(runId: string, workflowId: string): Promise<void> {
  const until = async (ok: (s: RunProgress) => boolean, what: string) => {
    for (let i = 0; i < 600; i++) {
      if (ok(await runStatus(stack.client, runId))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  await until((s) => s.status === 'awaiting_approval', 'the plan gate');
  await approvePlan(stack.client, runId, 'recorder', 'recording');
  await until((s) => s.tasks.some((t) => t.status === 'running'), 'a running task');
  const bare = new Client({ connection: stack.client.connection, namespace: config.temporal.namespace });
  await bare.workflow.getHandle(workflowId).executeUpdate(pauseUpdate, { args: [{ by: 'web-ui', reason: 'typed in' }] });
  await resumeRun(stack.client, runId, 'recorder', 'go on');
}

function save(file: string, id: string, history: { events: unknown[] }): void {
  // The workflow id is kept beside the history: replay must use the same one.
  writeFileSync(join(PROJECT_ROOT, 'test', 'histories', file), `${JSON.stringify({ workflowId: id, history }, null, 1)}\n`);
  console.log(`recorded ${id} → test/histories/${file} (${history.events.length} events)`);
}

/** A retention purge through every step: the ledger's clock is moved on past retention first. */
async function recordPurge(): Promise<void> {
  const owner = createDb(stack.database.ownerUrl ?? stack.database.url, 1);
  try {
    await sql`UPDATE aura_settings SET value = '400 days' WHERE key = 'clock_offset'`.execute(owner);
    const purgeId = randomUUID();
    const id = retentionPurgeWorkflowId(purgeId);
    const before = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const result = await stack.client.workflow.execute('retentionPurge', {
      taskQueue: QUEUES.manager,
      workflowId: id,
      args: [{ purgeId, before, reason: 'recording', director: 'recorder' }],
    });
    if (result.horizonSeq === null) throw new Error('the purge found nothing to purge');
    const json = execFileSync(cli!, ['workflow', 'show', '--workflow-id', id, '--output', 'json', '--address', stack.temporalAddress], {
      encoding: 'utf8',
    });
    save(`retention-purge-${name}.json`, id, JSON.parse(json));
  } finally {
    await owner.destroy();
  }
}
