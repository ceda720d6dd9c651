/**
 * One NUL byte or lone surrogate never stalls governance: whatever text reaches the record
 * (a model's output, a test's output, a path, a PRD) is stored, readable, with NUL shown as ␀.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useThrowawayDatabase } from './helpers/database.js';
import { insertRun, upsertProject } from '../db/repositories/runs.js';
import { recordModelRun } from '../db/repositories/model-runs.js';
import { appendEvent } from '../db/repositories/ledger.js';
import { recordVerification } from '../db/repositories/verifications.js';
import { storableJson, storableText } from '../db/storable.js';

const database = useThrowawayDatabase();

const HOSTILE = `before\u0000after \ud800 lone, fine: é ✓`;

describe('storable text', () => {
  it('replaces NUL with ␀ and a lone surrogate with U+FFFD, and nothing else', () => {
    expect(storableText(HOSTILE)).toBe('before\u2400after \ufffd lone, fine: é ✓');
    expect(storableText('plain')).toBe('plain');
    expect(JSON.parse(storableJson({ a: [HOSTILE], n: 1 }))).toEqual({ a: ['before\u2400after \ufffd lone, fine: é ✓'], n: 1 });
  });

  it('stores such text in TEXT and JSONB columns through the repositories', async () => {
    const db = database.db;
    const runId = randomUUID();
    await insertRun(db, {
      id: runId,
      projectId: await upsertProject(db, 'nul'),
      workflowId: `prd-run-${runId}`,
      prd: `# PRD ${HOSTILE}`,
      options: { note: HOSTILE },
      status: 'planning',
      idempotencyKey: `nul/${runId}`,
    });
    const modelRunId = await recordModelRun(db, {
      id: randomUUID(),
      idempotencyKey: `nul/${runId}/mr`,
      runId,
      taskId: null,
      employeeId: 'scripted-ada',
      kind: 'task',
      attempt: 1,
      prompt: HOSTILE,
      promptVersion: 'task/2',
      output: `{"summary": "${HOSTILE}", "files": []}`,
      inputTokens: 1,
      outputTokens: 1,
      costUsd: 0,
      latencyMs: 1,
      finishReason: 'stop',
      error: null,
    });
    await appendEvent(db, {
      idempotencyKey: `nul/${runId}/ev`,
      actor: 'auditor',
      action: 'audit.violations',
      source: 'auditor',
      description: HOSTILE,
      runId,
      details: { excerpt: HOSTILE },
    });
    await recordVerification(db, {
      idempotencyKey: `nul/${runId}/v`,
      runId,
      taskId: null,
      modelRunId,
      kind: 'task',
      command: 'node --test',
      result: {
        ran: true,
        passed: false,
        exitCode: 1,
        timedOut: false,
        durationMs: 5,
        excerpt: HOSTILE,
        skippedReason: null,
        refusedPaths: [HOSTILE],
        isolation: [],
      },
    });
    const run = await db.selectFrom('orchestra_runs').select(['prd', 'options']).where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run.prd).toContain('before\u2400after');
    expect(run.options).toEqual({ note: 'before\u2400after \ufffd lone, fine: é ✓' });
    const mr = await db.selectFrom('model_runs').select(['prompt', 'output']).where('id', '=', modelRunId).executeTakeFirstOrThrow();
    expect(mr.prompt).toBe('before\u2400after \ufffd lone, fine: é ✓');
    const ev = await db
      .selectFrom('audit_events')
      .select(['description', 'details'])
      .where('idempotency_key', '=', `nul/${runId}/ev`)
      .executeTakeFirstOrThrow();
    expect(ev.details).toEqual({ excerpt: 'before\u2400after \ufffd lone, fine: é ✓' });
    const v = await db
      .selectFrom('verifications')
      .select('excerpt')
      .where('idempotency_key', '=', `nul/${runId}/v`)
      .executeTakeFirstOrThrow();
    expect(v.excerpt).toBe('before\u2400after \ufffd lone, fine: é ✓');
  });
});
