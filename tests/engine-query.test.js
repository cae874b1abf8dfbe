// Queries: filters, sorting and its validation, paging, counts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIN, assertEngineError, deploy, linear, newEngine } from './support/engine-helpers.js';

async function populated() {
  const ctx = await newEngine();
  const { engine } = ctx;
  deploy(engine, linear('alpha', [{ id: 'work', type: 'serviceTask', topic: 'work' }]));
  deploy(engine, linear('beta', [{ id: 'job', type: 'task', asyncBefore: true }]));
  for (const bk of ['order-3', 'order-1', 'invoice-2']) engine.startProcessInstanceByKey('alpha', { businessKey: bk, variables: { n: { value: bk.length } } });
  for (const bk of ['order-2', 'other']) engine.startProcessInstanceByKey('beta', { businessKey: bk });
  return ctx;
}

test('process instance filters, sorting, paging and counts', async () => {
  const { engine } = await populated();
  try {
    const keys = (list) => list.map((p) => p.businessKey);
    assert.equal(engine.getProcessInstancesCount().count, 5);
    assert.deepEqual(keys(engine.getProcessInstances({ sortBy: 'businessKey', sortOrder: 'asc' })), [
      'invoice-2', 'order-1', 'order-2', 'order-3', 'other',
    ]);
    assert.deepEqual(keys(engine.getProcessInstances({ sortBy: 'businessKey', sortOrder: 'desc' })), [
      'other', 'order-3', 'order-2', 'order-1', 'invoice-2',
    ]);
    assert.deepEqual(keys(engine.getProcessInstances({ processDefinitionKey: 'beta', sortBy: 'businessKey', sortOrder: 'asc' })), ['order-2', 'other']);
    assert.deepEqual(keys(engine.getProcessInstances({ businessKeyLike: 'order-%', sortBy: 'businessKey', sortOrder: 'asc' })), ['order-1', 'order-2', 'order-3']);
    assert.deepEqual(keys(engine.getProcessInstances({ businessKey: 'order-1' })), ['order-1']);
    assert.equal(engine.getProcessInstancesCount({ businessKeyLike: 'order-%', processDefinitionKey: 'alpha' }).count, 2);
    assert.equal(engine.getProcessInstancesCount({ processDefinitionKeyIn: 'alpha,beta' }).count, 5);
    assert.equal(engine.getProcessInstancesCount({ processDefinitionKeyNotIn: 'alpha' }).count, 2);
    assert.equal(engine.getProcessInstancesCount(undefined, { variables: [{ name: 'n', operator: 'gt', value: 7 }] }).count, 1);
    assert.equal(engine.getProcessInstancesCount({ variables: 'n_eq_7' }).count, 2);
    // paging
    const page = (firstResult, maxResults) =>
      keys(engine.getProcessInstances({ sortBy: 'businessKey', sortOrder: 'asc', firstResult, maxResults }));
    assert.deepEqual(page(1, 2), ['order-1', 'order-2']);
    assert.deepEqual(page(4, 10), ['other']);
    assert.deepEqual(page(5, 10), []);
    assert.deepEqual(page(0, 0), []);
    // the body's sorting array, several keys
    const sorted = engine.getProcessInstances(undefined, {
      sorting: [
        { sortBy: 'definitionKey', sortOrder: 'desc' },
        { sortBy: 'businessKey', sortOrder: 'asc' },
      ],
    });
    assert.deepEqual(keys(sorted), ['order-2', 'other', 'invoice-2', 'order-1', 'order-3']);
  } finally {
    engine.close();
  }
});

test('sort and paging parameters are validated with Camunda\'s messages', async () => {
  const { engine } = await populated();
  try {
    const bad = (query, message, op = 'getProcessInstances') =>
      assertEngineError(() => engine[op](query), { status: 400, type: 'InvalidRequestException', message, code: null });
    bad({ sortBy: 'nonsense', sortOrder: 'asc' }, "Cannot set query parameter 'sortBy' to value 'nonsense'");
    bad({ sortBy: 'businessKey', sortOrder: 'up' }, "Cannot set query parameter 'sortOrder' to value 'up'");
    bad({ sortBy: 'businessKey' }, 'Only a single sorting parameter specified. sortBy and sortOrder required');
    bad({ sortOrder: 'asc' }, 'Only a single sorting parameter specified. sortBy and sortOrder required');
    bad({ sortBy: 'jobRetries' }, 'Only a single sorting parameter specified. sortBy and sortOrder required', 'getJobs');
    bad({ sortBy: 'businessKey', sortOrder: 'asc' }, "Cannot set query parameter 'sortBy' to value 'businessKey'", 'getJobs');
    bad({ sortBy: 'incidentId', sortOrder: 'sideways' }, "Cannot set query parameter 'sortOrder' to value 'sideways'", 'getIncidents');
    bad({ firstResult: 'abc' }, "Cannot set query parameter 'firstResult' to value 'abc'");
    bad({ maxResults: -1 }, "Cannot set query parameter 'maxResults' to value '?'");
    // counts validate sorting too (Camunda parses the whole query)
    bad({ sortBy: 'nonsense', sortOrder: 'asc' }, "Cannot set query parameter 'sortBy' to value 'nonsense'", 'getProcessInstancesCount');
    // every valid key of each resource is accepted
    for (const by of ['instanceId', 'definitionKey', 'definitionId', 'tenantId', 'businessKey']) {
      assert.equal(engine.getProcessInstances({ sortBy: by, sortOrder: 'desc' }).length, 5);
    }
    for (const by of ['jobId', 'executionId', 'processInstanceId', 'processDefinitionId', 'processDefinitionKey', 'jobPriority', 'jobRetries', 'jobDueDate', 'tenantId']) {
      assert.equal(engine.getJobs({ sortBy: by, sortOrder: 'asc' }).length, 2);
    }
  } finally {
    engine.close();
  }
});

test('external task, job, incident and history queries filter and count', async () => {
  const { engine, failing, clock } = await populated();
  try {
    assert.equal(engine.getExternalTasksCount({ topicName: 'work' }).count, 3);
    assert.equal(engine.getExternalTasksCount({ topicName: 'none' }).count, 0);
    const [locked] = engine.fetchAndLock({ workerId: 'w', maxTasks: 1, topics: [{ topicName: 'work', lockDuration: MIN }] });
    assert.equal(engine.getExternalTasksCount({ locked: true }).count, 1);
    assert.equal(engine.getExternalTasksCount({ notLocked: true }).count, 2);
    assert.deepEqual(engine.getExternalTasks({ workerId: 'w' }).map((t) => t.id), [locked.id]);
    engine.handleExternalTaskFailure(locked.id, { workerId: 'w', errorMessage: 'ext broke', retries: 0 });
    assert.equal(engine.getExternalTasksCount({ noRetriesLeft: true }).count, 1);
    assert.equal(engine.getExternalTasksCount({ withRetriesLeft: true }).count, 2);
    assert.deepEqual(
      engine.getExternalTasks({ sortBy: 'id', sortOrder: 'desc' }).map((t) => t.id),
      engine.getExternalTasks({ sortBy: 'id', sortOrder: 'asc' }).map((t) => t.id).reverse(),
    );

    failing.set('job', 'job broke');
    for (let i = 0; i < 3; i++) engine.executeDueJobs({ maxJobs: 1 });
    // maxJobs 1 three times: the first job (id order) failed thrice
    assert.deepEqual(engine.getJobs({ sortBy: 'jobRetries', sortOrder: 'asc' }).map((j) => j.retries), [0, 3]);
    assert.equal(engine.getJobsCount({ withException: true }).count, 1);
    assert.equal(engine.getJobsCount({ exceptionMessage: 'job broke' }).count, 1);
    assert.equal(engine.getJobsCount({ messages: true }).count, 2);
    assert.equal(engine.getJobsCount({ timers: true }).count, 0);

    assert.equal(engine.getIncidentsCount().count, 2);
    assert.deepEqual(
      engine.getIncidents({ sortBy: 'incidentType', sortOrder: 'asc' }).map((i) => i.incidentType),
      ['failedExternalTask', 'failedJob'],
    );
    assert.deepEqual(engine.getIncidents({ incidentType: 'failedJob' }).map((i) => i.incidentMessage), ['job broke']);
    assert.deepEqual(engine.getIncidents({ incidentMessageLike: '%broke' }).length, 2);
    assert.deepEqual(engine.getIncidents({ configuration: locked.id }).map((i) => i.incidentType), ['failedExternalTask']);
    assert.equal(engine.getProcessInstancesCount({ withIncident: true }).count, 2);
    assert.equal(engine.getHistoricIncidents({ open: true }).length, 2);
    assert.equal(engine.getHistoricIncidents({ resolved: true }).length, 0);

    clock.advance(1000);
    engine.deleteProcessInstance(locked.processInstanceId);
    assert.equal(engine.getHistoricProcessInstancesCount().count, 5);
    assert.equal(engine.getHistoricProcessInstancesCount({ finished: true }).count, 1);
    assert.equal(engine.getHistoricProcessInstancesCount({ unfinished: true }).count, 4);
    assert.equal(engine.getHistoricProcessInstancesCount({ externallyTerminated: true }).count, 1);
    assert.equal(engine.getHistoricProcessInstancesCount({ completed: true }).count, 0);
    assert.equal(engine.getHistoricProcessInstancesCount({ processInstanceBusinessKeyLike: 'order%' }).count, 3);
    assert.equal(engine.getHistoricIncidents({ deleted: true }).length, 1);
    assert.deepEqual(
      engine.getHistoricProcessInstances({ sortBy: 'businessKey', sortOrder: 'desc', maxResults: 2 }).map((h) => h.businessKey),
      ['other', 'order-3'],
    );
    assertEngineError(() => engine.getHistoricProcessInstances({ sortBy: 'state', sortOrder: 'asc' }), {
      status: 400,
      type: 'InvalidRequestException',
      message: "Cannot set query parameter 'sortBy' to value 'state'",
    });
  } finally {
    engine.close();
  }
});

test('variableNamesIgnoreCase / variableValuesIgnoreCase fold case in the variable filters of instance queries', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, linear('vq', [{ id: 'work', type: 'serviceTask', topic: 'work' }]));
    const start = (variables) => engine.startProcessInstanceByKey('vq', { variables }).id;
    const upper = start({ Customer: { value: 'ACME Corp' }, n: { value: 5 } });
    const lower = start({ customer: { value: 'acme corp' }, n: { value: 5 } });
    const other = start({ customer: { value: 'Other' }, n: { value: 6 } });
    const ids = (list) => list.map((p) => p.id).sort();
    const both = [upper, lower].sort();
    const eq = [{ name: 'customer', operator: 'eq', value: 'acme corp' }];
    for (const [list, histList] of [
      [(b) => engine.getProcessInstances(undefined, b), (b) => engine.getHistoricProcessInstances(undefined, b)],
    ]) {
      assert.deepEqual(ids(list({ variables: eq })), [lower]);
      assert.deepEqual(ids(list({ variables: eq, variableNamesIgnoreCase: true })), [lower]);
      assert.deepEqual(ids(list({ variables: eq, variableValuesIgnoreCase: true })), [lower]);
      assert.deepEqual(ids(list({ variables: eq, variableNamesIgnoreCase: true, variableValuesIgnoreCase: true })), both);
      assert.deepEqual(ids(histList({ variables: eq, variableNamesIgnoreCase: true, variableValuesIgnoreCase: true })), both);
      // like and neq fold too; numbers are untouched
      const like = [{ name: 'CUSTOMER', operator: 'like', value: 'ACME%' }];
      assert.deepEqual(ids(list({ variables: like, variableNamesIgnoreCase: true, variableValuesIgnoreCase: true })), both);
      assert.deepEqual(ids(list({ variables: like, variableNamesIgnoreCase: true })), [upper]);
      const neq = [{ name: 'customer', operator: 'neq', value: 'ACME CORP' }];
      assert.deepEqual(ids(list({ variables: neq, variableNamesIgnoreCase: true, variableValuesIgnoreCase: true })), [other]);
      assert.deepEqual(ids(list({ variables: [{ name: 'N', operator: 'gt', value: 5 }], variableNamesIgnoreCase: true })), [other]);
    }
    // the URL form, and the count endpoints
    assert.equal(engine.getProcessInstancesCount({ variables: 'CUSTOMER_eq_acme corp', variableNamesIgnoreCase: 'true' }).count, 1);
    assert.equal(engine.getProcessInstancesCount({ variables: 'CUSTOMER_eq_ACME CORP', variableNamesIgnoreCase: 'true', variableValuesIgnoreCase: 'true' }).count, 2);
    assert.equal(engine.getHistoricProcessInstancesCount({ variables: 'CUSTOMER_eq_ACME CORP', variableNamesIgnoreCase: 'true', variableValuesIgnoreCase: 'true' }).count, 2);
    // the flags alone change nothing
    assert.equal(engine.getProcessInstancesCount({ variableNamesIgnoreCase: 'true', variableValuesIgnoreCase: 'true' }).count, 3);

    // historic variable instances: variableName, variableNameLike, variableValue
    const names = (q) => engine.getHistoricVariableInstances(q).map((v) => `${v.name}=${v.value}`).sort();
    assert.deepEqual(names({ variableName: 'customer' }), ['customer=Other', 'customer=acme corp']);
    assert.deepEqual(names({ variableName: 'CUSTOMER', variableNamesIgnoreCase: 'true' }),
      ['Customer=ACME Corp', 'customer=Other', 'customer=acme corp']);
    assert.deepEqual(names({ variableNameLike: 'CUST%', variableNamesIgnoreCase: 'true', variableValue: 'ACME CORP', variableValuesIgnoreCase: 'true' }),
      ['Customer=ACME Corp', 'customer=acme corp']);
    assert.deepEqual(names({ variableValue: 'acme corp' }), ['customer=acme corp']);
    assert.equal(engine.getHistoricVariableInstancesCount({ variableName: 'n', variableNamesIgnoreCase: 'true', variableValue: '5' }).count, 2);
  } finally {
    engine.close();
  }
});

test('every page is the slice of the whole list, sorted (ties by id) or not, with and without filters', async () => {
  // Lists build a page while the rows stream by (a heap of the best rows
  // when sorted) instead of sorting every record; the pages must still be
  // exactly the slices of the full answer.
  const { engine } = await newEngine();
  try {
    deploy(engine, linear('p', [{ id: 'work', type: 'serviceTask', topic: 'work' }]));
    deploy(engine, linear('q', [{ id: 'work', type: 'serviceTask', topic: 'other' }]));
    for (let i = 0; i < 240; i++) {
      engine.startProcessInstanceByKey(i % 3 ? 'p' : 'q', { businessKey: `k${(i * 37) % 50}` });
    }
    const ids = (list) => list.map((p) => p.id);
    const queries = [
      {},
      { processDefinitionKey: 'p' },
      { sortBy: 'businessKey', sortOrder: 'asc' },
      { sortBy: 'businessKey', sortOrder: 'desc', processDefinitionKey: 'q' },
      { sortBy: 'instanceId', sortOrder: 'desc' },
      { sortBy: 'instanceId', sortOrder: 'asc', processDefinitionKey: 'p' },
    ];
    for (const query of queries) {
      const all = ids(engine.getProcessInstances(query));
      const expected = engine.getProcessInstancesCount(query).count;
      assert.equal(all.length, expected, JSON.stringify(query));
      for (const [firstResult, maxResults] of [[0, 1], [0, 25], [7, 13], [expected - 3, 10], [expected, 5], [3, 0]]) {
        const page = ids(engine.getProcessInstances({ ...query, firstResult, maxResults }));
        assert.deepEqual(page, all.slice(firstResult, firstResult + maxResults), `${JSON.stringify(query)} ${firstResult}/${maxResults}`);
      }
      assert.deepEqual(ids(engine.getProcessInstances({ ...query, firstResult: 5 })), all.slice(5));
    }
    const byKey = engine.getProcessInstances({ sortBy: 'businessKey', sortOrder: 'asc' });
    for (let i = 1; i < byKey.length; i++) {
      const [a, b] = [byKey[i - 1], byKey[i]];
      assert.ok(a.businessKey < b.businessKey || (a.businessKey === b.businessKey && a.id < b.id), 'ordered, ties by id');
    }
    assert.deepEqual(ids(engine.getProcessInstances({})), ids(engine.getProcessInstances({})).sort(), 'unsorted lists are in id order');
  } finally {
    engine.close();
  }
});
