// What a decision rests on, drawn from the API's answers: the plan with each task's
// instructions and the PRD, the plan rounds the rules sent back, who checked whom, the code under
// judgement and its diff, the failing test output (once), the Auditor's verdicts and incidents,
// and a finished run's report. Everything from a PRD or a model is set as text.
import { card, collapsible, h, meter, money, status, table, time } from './dom.js';
import { compareFiles } from './diff.js';

/** Which check a verification was: the red run (tests before any code), a green run, or the plan's own command. */
export const checkName = (phase) => (phase === 'red' ? 'red run' : phase === 'green' ? 'green run' : 'acceptance check');
export const redText = (red) =>
  red ? (red.passed ? 'red: PASSED before any code (the tests check nothing)' : 'red: failed, as it must') : 'red: -';
export const greenText = (green) => (green ? `green: ${green.passed ? 'passed' : 'failing'}` : 'green: -');

/**
 * Who checked whom in one task: the report's checks once the run ended, else what the rounds so
 * far say (the testers' answers with their red run, the coders' rounds with green and the review).
 */
export function checksOfTask(t, report, attempts) {
  const all = (attempts ?? []).filter((a) => a.taskKey === t.key);
  const generation = Math.max(1, ...all.map((a) => a.generation));
  const rows = all.filter((a) => a.generation === generation);
  const testers = rows.filter((a) => a.role === 'tester');
  const coders = rows.filter((a) => a.role === 'coder');
  const ended = report?.tasks?.find((x) => x.taskKey === t.key) ?? null;
  const done = ended?.checks ?? null;
  const lastRed = testers.filter((a) => a.phase === 'red' && a.passed !== null).at(-1);
  const lastGreen = coders.filter((a) => a.phase === 'green' && a.passed !== null).at(-1);
  const lastCoder = coders.at(-1);
  const independent = !!done || testers.length > 0 || !!t.testedBy || t.phase === 'tests';
  return {
    independent,
    testsBy: done?.tests
      ? `${done.tests.testerId} (v${done.tests.version})`
      : t.testedBy
        ? t.testedBy
        : t.phase === 'tests'
          ? `${t.assignedTo ?? '?'} (writing)`
          : (testers.at(-1)?.employeeId ?? null),
    codeBy: ended
      ? (ended.acceptedBy ?? ended.attempts.at(-1)?.employeeId ?? null)
      : (lastCoder?.employeeId ?? (t.phase === 'code' ? t.assignedTo : null)),
    summary: lastCoder?.summary ?? null,
    red: done?.tests ? done.tests.red : lastRed ? { passed: lastRed.passed, exitCode: lastRed.exitCode } : null,
    green: done ? done.green : lastGreen ? { passed: lastGreen.passed, exitCode: lastGreen.exitCode } : null,
    review: done?.review ?? lastCoder?.review ?? null,
    disputes: done?.disputes ?? [],
  };
}

/** Both sides of an escalated task with independent checks: the tests and the red run, the code and green, the review. */
export function bothSides(c) {
  if (!c?.independent && !c?.review) return '';
  return h(
    'div',
    { class: 'sides', 'aria-label': 'Both sides' },
    h('p', {}, h('b', {}, 'Tests: '), c.testsBy ? `by ${c.testsBy}` : 'none frozen yet', ` · ${redText(c.red)}`),
    h('p', {}, h('b', {}, 'Code: '), c.codeBy ? `by ${c.codeBy}` : 'none yet', ` · ${greenText(c.green)}`),
    c.summary ? h('p', {}, h('b', {}, "The coder's summary: "), c.summary) : '',
    c.review
      ? h('p', {}, h('b', {}, `Review by ${c.review.reviewerId}: `), c.review.verdict, c.review.comments ? ` — ${c.review.comments}` : '')
      : h('p', { class: 'muted' }, 'No review.'),
    c.disputes.map((d) =>
      h('p', {}, h('b', {}, `Dispute of ${d.test}: `), `${d.reason} → ${d.decision}${d.answer ? `: ${d.answer}` : ''}`),
    ),
  );
}

/** The lines of an output that say something (trimmed, blank ones dropped). */
const linesOf = (text) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/**
 * Whether `text` is output already shown as `shown`: one holds the other, or most of its lines
 * are the other's (the check's excerpt and the verdict's evidence cut the same output differently).
 */
export function sameOutput(text, shown) {
  if (shown.includes(text) || text.includes(shown)) return true;
  const a = linesOf(text);
  const b = new Set(linesOf(shown));
  return a.length > 0 && a.filter((l) => b.has(l)).length / a.length >= 0.8;
}

/**
 * Output the Director has already been shown once in this item is not shown again: the same
 * failing test output reaches the check, the verdict and the incident. `show(text, label)` gives
 * the first a collapsible block, later ones a pointer back.
 */
export function outputOnce(key) {
  const seen = new Map();
  return (text, label) => {
    const t = String(text ?? '').trim();
    if (!t) return '';
    for (const [shown, where] of seen) if (sameOutput(t, shown)) return h('p', { class: 'muted' }, `(the same output as ${where}, above)`);
    seen.set(t, label);
    return collapsible(`${label} (${t.split('\n').length} lines)`, h('pre', {}, t), { key: `${key}:${seen.size}` });
  };
}

/** Each task of a plan with what it must do: instructions, capability, scope, order and acceptance. */
export function planTasks(plan) {
  return table(
    ['Task', 'Title', 'Instructions', 'Capability', 'Scope', 'After', 'Acceptance'],
    plan.tasks.map((t) =>
      h(
        'tr',
        { 'data-task': t.id },
        h('td', {}, t.id),
        h('td', {}, t.title),
        h('td', { class: 'instructions' }, t.instructions ?? ''),
        h('td', {}, t.capability),
        h('td', {}, (t.scope ?? []).join(', ')),
        h('td', {}, (t.dependsOn ?? []).join(', ') || '-'),
        h('td', {}, h('code', {}, t.acceptance?.command ?? '')),
      ),
    ),
    'Plan tasks',
  );
}

/** The planning rounds the plan rules sent back, each with the rules it broke. */
export function planRounds(rounds) {
  if (!rounds?.length) return h('p', { class: 'muted' }, 'No plan round was sent back by the plan rules.');
  return h(
    'div',
    { 'aria-label': 'Plan rounds sent back' },
    h('p', {}, h('b', {}, `Plan rounds sent back by the rules (${rounds.length}):`)),
    h(
      'ul',
      { class: 'plain' },
      rounds.map((r) =>
        h(
          'li',
          {},
          `Round ${r.round}${r.planner ? ` by ${r.planner}` : ''} at ${time(r.at)}: `,
          h(
            'ul',
            { class: 'plain' },
            r.broken.map((b) => h('li', {}, b)),
          ),
        ),
      ),
    ),
  );
}

/** The PRD as text, open at a plan gate: the plan is judged against it. */
export const prdBlock = (prd, runId, open = true) =>
  prd ? collapsible('The PRD', h('pre', { class: 'prd', 'aria-label': 'PRD' }, prd), { key: `prd:${runId}`, open }) : '';

/**
 * The code under judgement (`code` from /api/runs/:run/tasks/:task/code): the last round's files
 * and what changed since the round before it.
 */
export function codeUnderJudgement(code, key) {
  if (!code) return '';
  const { current, previous } = code;
  if (!current) return h('p', { class: 'muted' }, 'No coder round has an answer to show.');
  const who = (r) => `${r.employeeId}, attempt ${r.attempt ?? '-'} round ${r.round ?? 1}, ${time(r.at)}`;
  const parts = [h('h3', {}, `The code under judgement (${who(current)})`)];
  if (!current.files) {
    parts.push(h('p', { class: 'error' }, `The answer did not parse: ${current.parseError ?? 'malformed'}`));
    return h('div', { class: 'code', 'aria-label': 'Code under judgement' }, parts);
  }
  parts.push(
    h(
      'ul',
      { class: 'plain files' },
      current.files.map((f) =>
        h(
          'li',
          {},
          collapsible(`${f.path} (${f.content.split('\n').length} lines)`, h('pre', {}, f.content), { key: `${key}:file:${f.path}` }),
        ),
      ),
    ),
  );
  if (previous?.files) {
    const changes = compareFiles(previous.files, current.files);
    parts.push(h('h3', {}, `Changes since the round before (${who(previous)})`));
    parts.push(
      changes.every((c) => c.change === 'same')
        ? h('p', { class: 'muted' }, 'Nothing changed: the same files as the round before.')
        : h(
            'div',
            { class: 'diff', 'aria-label': 'Diff against the previous round' },
            changes.filter((c) => c.change !== 'same').map((c) => fileDiff(c)),
          ),
    );
  } else {
    parts.push(
      h(
        'p',
        { class: 'muted' },
        previous ? 'The round before did not parse: nothing to compare.' : 'The first round: nothing to compare with.',
      ),
    );
  }
  return h('div', { class: 'code', 'aria-label': 'Code under judgement' }, parts);
}

/** One file's change: its path and the lines, removed and added marked (as text, with classes for colour). */
export function fileDiff(c) {
  return h(
    'div',
    { class: 'file-diff' },
    h('p', {}, h('b', {}, c.path), ` — ${c.change}`),
    c.lines.length
      ? h(
          'pre',
          {},
          c.lines.map((l) =>
            h(
              'span',
              { class: l.op === '+' ? 'add' : l.op === '-' ? 'del' : l.op === '…' ? 'gap' : '' },
              l.op === '…' ? '…\n' : `${l.op} ${l.text}\n`,
            ),
          ),
        )
      : '',
  );
}

/** What a pending decision rests on (`p` from /api/intervention, with `p.sides` and `p.code` when known). */
export function evidenceOf(p) {
  const e = p.evidence ?? {};
  const key = `${p.kind}:${p.runId}:${p.taskKey ?? ''}`;
  const once = outputOnce(key);
  const parts = [];
  if (p.kind === 'plan_approval' || p.kind === 'plan_escalated') parts.push(prdBlock(e.prd, p.runId));
  if (e.plan) {
    parts.push(h('p', {}, h('b', {}, 'Plan: '), e.plan.summary, ` (round ${e.planAttempts})`));
    parts.push(planTasks(e.plan));
    if (e.plan.verification) parts.push(h('p', {}, 'Final verification: ', h('code', {}, e.plan.verification.command)));
  }
  if (e.planErrors?.length && !e.plan)
    parts.push(
      h('p', {}, h('b', {}, `Plan rules still broken after ${e.planAttempts} rounds:`)),
      h(
        'ul',
        { class: 'plain' },
        e.planErrors.map((x) => h('li', {}, x)),
      ),
    );
  if (p.kind === 'plan_approval' || p.kind === 'plan_escalated') parts.push(planRounds(e.planRounds));
  if (p.kind === 'budget') {
    const b = e.budget ?? { maxTokens: 0, maxCostUsd: 0 };
    parts.push(
      h(
        'p',
        {},
        'Spent ',
        meter(e.spend?.tokens ?? 0, b.maxTokens, `${e.spend?.tokens ?? 0} of ${b.maxTokens} tokens`),
        ' · ',
        meter(e.spend?.costUsd ?? 0, b.maxCostUsd, `${money(e.spend?.costUsd)} of ${money(b.maxCostUsd)}`),
      ),
    );
  }
  if (e.verification)
    parts.push(
      h(
        'p',
        {},
        h('b', {}, 'Final verification: '),
        h('code', {}, e.verification.command),
        ` exited ${e.verification.exitCode}${e.verification.timedOut ? ' (timed out)' : ''}`,
      ),
      once(e.verification.excerpt, 'its output'),
    );
  if (e.pausedBy) parts.push(h('p', {}, `Paused by ${e.pausedBy.by} at ${time(e.pausedBy.at)}: ${e.pausedBy.reason}`));
  if (p.kind === 'task') {
    for (const x of e.escalation ?? []) parts.push(h('p', {}, h('b', {}, 'Escalated: '), x));
    parts.push(bothSides(p.sides));
    parts.push(codeUnderJudgement(p.code, key));
    if (e.lastCheck)
      parts.push(
        h(
          'p',
          {},
          h('b', {}, `Auditor's evidence — last ${checkName(e.lastCheck.phase)}: `),
          h('code', {}, e.lastCheck.command),
          ` ${e.lastCheck.passed ? 'passed' : `failed (exit ${e.lastCheck.exitCode})`}`,
        ),
        once(e.lastCheck.excerpt, e.lastCheck.passed ? 'the test output' : 'the failing test output'),
      );
    for (const v of e.verdicts ?? []) {
      parts.push(
        h('p', {}, h('b', {}, `Verdict on ${v.employeeId}`), ` (${time(v.at)}${v.rounds > 1 ? `, after ${v.rounds} rounds` : ''}):`),
      );
      parts.push(
        h(
          'ul',
          { class: 'plain' },
          (v.violations ?? []).map((x) => h('li', {}, `${x.type}: ${x.message}`, once(x.evidence?.excerpt, `the evidence of ${x.type}`))),
        ),
      );
    }
    for (const i of e.incidents ?? [])
      parts.push(
        h(
          'p',
          {},
          h('b', {}, `Incident: ${i.violation}`),
          ` by ${i.employeeId ?? '(infrastructure)'}, severity ${i.severity}: ${i.message}`,
        ),
        (Array.isArray(i.evidence) ? i.evidence : []).map((x, n) =>
          once(x?.excerpt ?? JSON.stringify(x), `the incident's evidence ${n + 1}`),
        ),
      );
  }
  return h('div', { class: 'evidence', 'aria-label': 'Evidence' }, parts);
}

/** A finished run's report: how it ended, the final verification, what it cost, who overrode what. */
export function reportCard(report, verification) {
  const v = report.verification ?? verification;
  return card(
    'Report',
    h('p', {}, status(report.status), report.reason ? ` — ${report.reason}` : ''),
    v
      ? [
          h(
            'p',
            {},
            h('b', {}, 'Final verification: '),
            h('code', {}, v.command),
            ` ${v.passed ? 'passed' : `failed (exit ${v.exitCode})`}`,
          ),
          collapsible('Its output', h('pre', {}, v.excerpt ?? ''), { key: `report-verification:${report.runId}` }),
        ]
      : h('p', { class: 'muted' }, 'No final verification ran.'),
    report.verificationOverride
      ? h(
          'p',
          { class: 'error' },
          `Accepted despite the failing verification by ${report.verificationOverride.by}: ${report.verificationOverride.reason}`,
        )
      : '',
    h(
      'ul',
      { class: 'plain' },
      report.tasks.map((t) =>
        h(
          'li',
          {},
          `${t.taskKey}: ${t.status}${t.acceptedBy ? ` from ${t.acceptedBy}` : ''}${t.overriddenBy ? ` (override by ${t.overriddenBy})` : ''}, ${t.attempts.length} attempt(s)`,
        ),
      ),
    ),
    h(
      'p',
      { class: 'muted' },
      `${report.reassignments} reassignment(s), ${report.incidents} incident(s)`,
      report.repairRounds ? `, ${report.repairRounds} repair round(s)` : '',
      report.usage
        ? ` · ${report.usage.calls} model calls, ${report.usage.inputTokens + report.usage.outputTokens} tokens, ${money(report.usage.costUsd)}`
        : '',
    ),
  );
}
