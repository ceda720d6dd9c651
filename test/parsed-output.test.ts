/**
 * A task answer is parsed once, when its model call is recorded: the stored result is what
 * every reader gets (`taskOutputOf`), the same as parsing the stored text would give.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useThrowawayDatabase } from './helpers/database.js';
import { getModelRun, getTaskOutputs, recordModelRun, taskOutputOf, type NewModelRun } from '../db/repositories/model-runs.js';
import { parseTaskOutput } from '../governance/task-output.js';
import { verifyLedger } from '../integrity/verify.js';

const database = useThrowawayDatabase();

function call(kind: NewModelRun['kind'], output: string | null): NewModelRun {
  return {
    id: randomUUID(),
    idempotencyKey: `parsed-output/${randomUUID()}`,
    runId: null,
    taskId: null,
    employeeId: 'scripted-ada',
    kind,
    attempt: 1,
    prompt: 'p',
    promptVersion: 'task/1',
    output,
    inputTokens: 1,
    outputTokens: 1,
    costUsd: 0,
    latencyMs: 1,
    finishReason: 'stop',
    error: null,
  };
}

const GOOD = JSON.stringify({ summary: 'adds tally', files: [{ path: 'lib/tally.mjs', content: 'export const n = 1;\n' }] });

describe('a task answer parsed once', () => {
  it('stores the parsed output of a well-formed answer, and why a malformed one is not', async () => {
    const db = database.db;
    const good = await recordModelRun(db, call('task', GOOD));
    const bad = await recordModelRun(db, call('task', '{"summary": "x"'));
    const wrongShape = await recordModelRun(db, call('task', JSON.stringify({ summary: 'x' })));
    const rows = new Map(
      (
        await db
          .selectFrom('model_runs')
          .select(['id', 'parsed_output', 'parse_error'])
          .where('id', 'in', [good, bad, wrongShape])
          .execute()
      ).map((r) => [r.id, r]),
    );
    expect(rows.get(good)).toMatchObject({ parsed_output: JSON.parse(GOOD), parse_error: null });
    expect(rows.get(bad)!.parsed_output).toBeNull();
    expect(rows.get(bad)!.parse_error).toMatch(/^not JSON: /);
    expect(rows.get(wrongShape)!.parse_error).toMatch(/^files: /);
    // What the readers get is what parsing the stored text gives.
    const outputs = await getTaskOutputs(db, [good, bad, wrongShape]);
    for (const id of [good, bad, wrongShape]) expect(outputs.get(id)).toEqual(parseTaskOutput((await getModelRun(db, id))!.output!));
    expect(await verifyLedger(db)).toMatchObject({ intact: true });
  });

  it('leaves plans, reviews and failed calls unparsed', async () => {
    const db = database.db;
    const ids = [
      await recordModelRun(db, call('plan', GOOD)),
      await recordModelRun(db, call('review', GOOD)),
      await recordModelRun(db, call('task', null)),
    ];
    const rows = await db.selectFrom('model_runs').select(['parsed_output', 'parse_error']).where('id', 'in', ids).execute();
    expect(rows).toEqual([
      { parsed_output: null, parse_error: null },
      { parsed_output: null, parse_error: null },
      { parsed_output: null, parse_error: null },
    ]);
  });

  it('leaves an answer whose parse JSONB cannot hold exactly (an escaped NUL) to the reader, who parses the text', async () => {
    const db = database.db;
    const withNul = JSON.stringify({ summary: 'nul', files: [{ path: 'a.txt', content: 'a\u0000b' }] }); // "\u0000" as an escape
    const id = await recordModelRun(db, call('task', withNul));
    const row = (await getModelRun(db, id))!;
    expect([row.parsed_output, row.parse_error]).toEqual([null, null]);
    const read = taskOutputOf(row);
    expect(read.ok && read.output.files[0]!.content).toBe('a\u0000b');
  });

  it('reads rows recorded before answers were parsed (both columns null) by parsing their text', () => {
    expect(taskOutputOf({ output: GOOD, parsed_output: null, parse_error: null })).toEqual(parseTaskOutput(GOOD));
    expect(taskOutputOf({ output: null })).toEqual(parseTaskOutput(''));
  });
});
