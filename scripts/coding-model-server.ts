/**
 * Serves the test suite's coding model (test/fixtures/coding-model.ts) over the OpenAI wire
 * protocol on 127.0.0.1, to try the repair loop end to end without a key:
 *
 *   node --import tsx scripts/coding-model-server.ts [port]        # prints its base URL
 *   OPENAI_API_KEY=local OPENAI_BASE_URL=<url>/v1 npm run aura -- up
 *   npm run aura -- submit samples/tally/PRD.md --auto-approve --follow
 *
 * It is a stand-in that answers from what its prompt contains (a bug it fixes only when shown
 * its code and the failing test; a call that is right only when the called module's code is in
 * the prompt), not a model.
 */
import { FakeModelServer } from '../test/fixtures/fake-model-server.js';
import { codingModel } from '../test/fixtures/coding-model.js';

const port = Number(process.argv[2] ?? 0);
const server = await new FakeModelServer().setDefault(codingModel()).start(port);
console.log(`coding model on ${server.url} (OpenAI protocol: OPENAI_BASE_URL=${server.url}/v1)`);
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
