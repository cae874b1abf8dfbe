// A typed consumer of the package's entry points: `tsc --noEmit`
// checks it against the hand-written .d.ts (tests/package.test.js), and the
// packed-tarball test compiles and runs it in a blank project.
import http from 'node:http';
import { createEngine, EngineError, jsMemoryStore, manualClock, sequentialIds, type HandlerJob, type Handlers } from 'rebatch';
import { createRequestHandler, createServer } from 'rebatch/server';
import { type PostgresStore, postgresStore } from 'rebatch/postgres';
import { SqliteStore, sqliteStore } from 'rebatch/sqlite';

const handlers: Handlers = {
  chargeCard: async (job: HandlerJob): Promise<void> => {
    if (job.retries > 1) throw new Error(`card declined for ${job.processInstanceId}`);
  },
};

export async function main(): Promise<string> {
  const engine = await createEngine({
    store: jsMemoryStore(),
    clock: manualClock(Date.UTC(2024, 0, 1)),
    ids: sequentialIds('ts-'),
    handlers,
  });
  engine.createDeployment({
    name: 'typed',
    processes: [
      {
        key: 'invoice',
        activities: [
          { id: 'start', type: 'startEvent' },
          { id: 'charge', type: 'serviceTask', asyncBefore: true, delegateExpression: '${chargeCard}' },
          { id: 'end', type: 'endEvent' },
        ],
        flows: [
          { id: 'f1', source: 'start', target: 'charge' },
          { id: 'f2', source: 'charge', target: 'end' },
        ],
      },
    ],
  });
  engine.startProcessInstanceByKey('invoice', { businessKey: 'order-1' });
  engine.executeDueJobs({ maxJobs: 10 });
  await engine.jobHandlers?.idle();
  const jobs: Array<{ exceptionMessage: string | null }> = engine.getJobs({ retries: 2 });
  try {
    engine.getJob('no-such-job');
  } catch (err) {
    if (!(err instanceof EngineError) || err.status !== 404) throw err;
  }

  const server = createServer({ engine, web: false, jobExecutor: false });
  const { port } = await server.listen(0, '127.0.0.1');
  const version = (await (await fetch(`http://127.0.0.1:${port}/engine-rest/version`)).json()) as { version: string };
  await server.close();

  const rest = createRequestHandler({ engine, basePath: '/camunda/engine-rest', jobExecutor: false });
  const app = http.createServer((req, res) => rest(req, res));
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const address = app.address();
  const appPort = typeof address === 'object' && address ? address.port : 0;
  const count = (await (await fetch(`http://127.0.0.1:${appPort}/camunda/engine-rest/job/count`)).json()) as { count: number };
  rest.close();
  await new Promise((resolve) => app.close(resolve));
  engine.close();

  const open: (path: string) => SqliteStore = sqliteStore;
  void open;
  const connect: (url: string) => PostgresStore = postgresStore;
  void connect;
  return `${jobs[0]?.exceptionMessage} ${version.version} ${count.count}`;
}
