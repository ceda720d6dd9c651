/**
 * Reviewers are scored like anyone: a judgement that did not hold (a rejection that the tests
 * and a second reviewer cleared, an approval of work the final verification failed) is an
 * attempt of capability `reviewer` that was not accepted, and an event says which.
 */
import * as roles from './activity-proxies.js';

export async function chargeReviewer(c: {
  runId: string;
  taskId: string;
  taskKey: string;
  reviewerId: string;
  action: 'review.overruled' | 'review.approved_failing_work';
  why: string;
}): Promise<void> {
  await roles.accountant(`score reviewer ${c.reviewerId}`).scoreAttempt({
    runId: c.runId,
    taskId: c.taskId,
    taskKey: c.taskKey,
    employeeId: c.reviewerId,
    capability: 'reviewer',
    accepted: false,
    violations: [],
    modelRunId: null,
    rounds: 1,
  });
  await roles.ledger('reviewer judged').recordEvent({
    runId: c.runId,
    taskId: c.taskId,
    action: c.action,
    severity: 'warning',
    description: `task ${c.taskKey}: ${c.reviewerId} ${c.why}`,
    details: { reviewerId: c.reviewerId },
  });
}
