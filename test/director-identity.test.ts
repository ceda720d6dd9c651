/**
 * One identity rule for every client. A Director command through the CLI or the API carries a
 * signed proof and is recorded under its name; one from the Temporal Web UI or a bare client
 * (any name typed in) is recorded under the name it claims, marked unauthenticated, or refused
 * and recorded where the deployment requires proof. A refused Update is recorded whoever sent
 * it, and the refusal it answers carries no stack trace.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { approvePlan, cancelRun, runStatus, submitRun, toWorkflowId } from '../director/runs.js';
import { approvePlanUpdate, pauseSignal, pauseUpdate, resumeUpdate } from '../workflows/definitions.js';
import { COMMAND_PROOF_HEADER, checkCommandProof, signCommand } from '../integrity/command-proof.js';
import { loadOrCreateSigningKey } from '../integrity/signing.js';
import { SAMPLE_PRD_FILE, eventually, startTestEnv, type TestEnv } from './helpers/env.js';

const prd = readFileSync(SAMPLE_PRD_FILE, 'utf8');

async function atGate(env: TestEnv, project: string): Promise<string> {
  const { runId } = await submitRun(env.client, { prd, project, options: { director: 'identity-tester' } });
  await eventually(async () => (await runStatus(env.client, runId)).status === 'awaiting_approval', 60_000, 'the plan gate');
  return runId;
}

/** A client as the Web UI or `temporal workflow update` is: no proof of identity. */
const bare = (env: TestEnv) => new Client({ connection: env.client.connection, namespace: 'default' });

async function actions(env: TestEnv, runId: string) {
  return env.db
    .selectFrom('director_actions')
    .select(['action', 'director_id', 'reason', 'details'])
    .where('run_id', '=', runId)
    .orderBy('created_at')
    .execute();
}

describe('the proof itself', () => {
  it('vouches for exactly one command: another run, Update id, name, argument or key does not match', () => {
    const key = loadOrCreateSigningKey(`/tmp/aura-identity-${process.pid}/key.pem`);
    const other = loadOrCreateSigningKey(`/tmp/aura-identity-${process.pid}/other.pem`);
    const c = { workflowId: 'prd-run-1', updateId: 'u1', update: 'approvePlan', args: [{ by: 'dana', reason: 'ok' }] };
    const proof = signCommand(key, c, 'cli');
    expect(checkCommandProof(proof, c, [key.publicKeyPem])).toEqual({ authenticated: true, channel: 'cli' });
    for (const changed of [
      { ...c, workflowId: 'prd-run-2' },
      { ...c, updateId: 'u2' },
      { ...c, update: 'rejectPlan' },
      { ...c, args: [{ by: 'mallory', reason: 'ok' }] },
    ])
      expect(checkCommandProof(proof, changed, [key.publicKeyPem]).authenticated).toBe(false);
    expect(checkCommandProof(proof, c, [other.publicKeyPem]).authenticated).toBe(false);
    expect(checkCommandProof({ ...proof, channel: 'api' }, c, [key.publicKeyPem]).authenticated).toBe(false);
    expect(checkCommandProof(null, c, [key.publicKeyPem])).toMatchObject({
      authenticated: false,
      why: expect.stringContaining('without a proof'),
    });
    expect(checkCommandProof('unreadable', c, [key.publicKeyPem])).toMatchObject({
      authenticated: false,
      why: expect.stringContaining('malformed'),
    });
  });
});

describe('by default: commands without proof are marked', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await startTestEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('records a typed name as unauthenticated, a signed one as itself, and a refused Update from any client', async () => {
    const runId = await atGate(env, 'identity-marked');
    const handle = bare(env).workflow.getHandle(toWorkflowId(runId));

    // Refused by the run (pause at the plan gate), from a bare client: recorded, and no stack trace.
    const refused = await handle.executeUpdate(pauseUpdate, { args: [{ by: 'mallory', reason: 'hold' }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (refused as WorkflowUpdateFailedError).cause as Error;
    expect(cause.message).toMatch(/already waiting for the Director/);
    expect(cause.stack ?? '').not.toMatch(/\.ts:\d+|\/workflows\//);

    // Accepted from a bare client: it takes effect, under the claimed name marked.
    const answer = await handle.executeUpdate(approvePlanUpdate, { args: [{ by: 'dana', reason: 'typed in the Web UI' }] });
    expect(answer.status).toBe('running');

    // A signal (the Web UI's "Send a Signal"): marked too.
    await handle.signal(pauseSignal, { by: 'eve', reason: 'signal' });
    await eventually(async () => (await runStatus(env.client, runId)).status === 'paused', 30_000, 'the signalled pause');

    // Through the CLI's client (signed): recorded under its own name.
    await env.client.workflow.getHandle(toWorkflowId(runId)).executeUpdate(resumeUpdate, { args: [{ by: 'dana', reason: 'signed' }] });
    await cancelRun(env.client, runId, 'dana', 'done with it');

    const rows = await actions(env, runId);
    expect(rows.map((r) => [r.action, r.director_id])).toEqual([
      ['pause_refused', 'mallory (unauthenticated)'],
      ['approve_plan', 'dana (unauthenticated)'],
      ['pause_run', 'eve (unauthenticated)'],
      ['resume_run', 'dana'],
      ['cancel_run', 'dana'],
    ]);
    expect(rows[0]!.details).toMatchObject({ authenticated: false });
    const warnings = await env.db
      .selectFrom('audit_events')
      .select(['actor', 'description'])
      .where('run_id', '=', runId)
      .where('action', '=', 'director.unauthenticated_command')
      .orderBy('created_at')
      .execute();
    expect(warnings.map((w) => w.actor)).toEqual(['dana (unauthenticated)', 'eve (unauthenticated)']);
    expect(warnings[1]!.description).toContain('signal');
  });

  it('two approvals sent at once: one takes effect, the other is refused and recorded, whatever the order', async () => {
    const runId = await atGate(env, 'identity-concurrent');
    const handle = env.client.workflow.getHandle(toWorkflowId(runId));
    const answers = await Promise.allSettled(
      ['first', 'second'].map((reason) => handle.executeUpdate(approvePlanUpdate, { args: [{ by: 'dana', reason }] })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = answers.find((a) => a.status === 'rejected') as PromiseRejectedResult;
    expect(((refused.reason as WorkflowUpdateFailedError).cause as Error).message).toMatch(/approval needs awaiting_approval|already/);
    await cancelRun(env.client, runId, 'dana', 'done');
    const rows = (await actions(env, runId)).map((r) => [r.action, r.director_id]);
    expect(rows.filter(([a]) => a === 'approve_plan')).toEqual([['approve_plan', 'dana']]);
    expect(rows.filter(([a]) => a === 'approvePlan_refused')).toEqual([['approvePlan_refused', 'dana']]);
  });

  it('a proof copied onto another command, or made with another key, vouches for nothing', async () => {
    const runId = await atGate(env, 'identity-forged');
    const workflowId = toWorkflowId(runId);
    const stranger = loadOrCreateSigningKey(`/tmp/aura-identity-${process.pid}/stranger.pem`);
    const forged = signCommand(
      stranger,
      { workflowId, updateId: 'u-forged', update: 'approvePlan', args: [{ by: 'dana', reason: 'forged' }] },
      'cli',
    );
    const client = new Client({
      connection: env.client.connection,
      namespace: 'default',
      interceptors: {
        workflow: [
          {
            startUpdate: (input, next) =>
              next({
                ...input,
                options: { ...input.options, updateId: 'u-forged' },
                headers: { ...input.headers, [COMMAND_PROOF_HEADER]: defaultPayloadConverter.toPayload(forged) },
              }),
          },
        ],
      },
    });
    await client.workflow.getHandle(workflowId).executeUpdate(approvePlanUpdate, { args: [{ by: 'dana', reason: 'forged' }] });
    await cancelRun(env.client, runId, 'dana', 'done');
    expect((await actions(env, runId)).map((r) => [r.action, r.director_id])).toEqual([
      ['approve_plan', 'dana (unauthenticated)'],
      ['cancel_run', 'dana'],
    ]);
  });
});

describe('where the deployment requires proof', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await startTestEnv({ env: { AURA_DIRECTOR_COMMANDS: 'authenticated' } });
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('refuses and records a command without one; the signed command goes through', async () => {
    const runId = await atGate(env, 'identity-required');
    const handle = bare(env).workflow.getHandle(toWorkflowId(runId));
    const refused = await handle.executeUpdate(approvePlanUpdate, { args: [{ by: 'dana', reason: 'typed' }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (refused as WorkflowUpdateFailedError).cause as Error;
    expect(cause.message).toMatch(/approvePlan from dana \(unauthenticated\) refused: .*only from the CLI or the Manager API/);
    expect(cause.stack ?? '').not.toMatch(/\.ts:\d+/);
    // A signal without proof changes nothing either.
    await handle.signal(pauseSignal, { by: 'eve', reason: 'signal' });
    await eventually(async () => (await actions(env, runId)).length === 2, 30_000, 'the refused signal recorded');
    expect((await runStatus(env.client, runId)).status).toBe('awaiting_approval');

    await approvePlan(env.client, runId, 'dana', 'from the CLI');
    await cancelRun(env.client, runId, 'dana', 'done');
    expect((await actions(env, runId)).map((r) => [r.action, r.director_id])).toEqual([
      ['approvePlan_refused', 'dana (unauthenticated)'],
      ['pause_refused', 'eve (unauthenticated)'],
      ['approve_plan', 'dana'],
      ['cancel_run', 'dana'],
    ]);
  });
});
