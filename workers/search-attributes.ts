/**
 * Aura's search attributes (run id, status, whether a run waits for the Director) must exist on
 * the Temporal server before the Manager sets them. The dev server is started with them; on a
 * server of your own they are added here.
 */
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../workflows/definitions.js';

/** On a server we did not start, make sure Aura's search attributes exist (idempotent). */
export async function registerSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = Object.values(SEARCH_ATTRIBUTES).filter((k) => existing.customAttributes?.[k.name] === undefined);
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, 2 /* KEYWORD */])),
    });
  } finally {
    await connection.close();
  }
}
