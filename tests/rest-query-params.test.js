// Query requests checked as Camunda's query DTOs check them, before any
// record is read: URL parameters converted by their declared Java type
// (AbstractSearchQueryDto, JacksonAwareStringToTypeConverter, DateConverter,
// VariableListConverter), sortBy/sortOrder through their setters, empty id
// sets (EnsureUtil.ensureNotEmpty) and variable comparators (applyFilters),
// in list and count queries and in the queries inside batch bodies.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { deploy, externalTaskBpmn, startServer } from './support/rest-helpers.js';

let srv;
before(async () => {
  srv = await startServer();
});
after(() => srv.close());

const invalid = (message) => ({ type: 'InvalidRequestException', message, code: null });
const cannotConvert = (param, value, javaType) =>
  invalid(`Cannot set query parameter '${param}' to value '${value}': Cannot convert value ${value} to java type ${javaType}`);

async function expectError(method, path, body, status, expected) {
  const r = await srv.api(method, path, body);
  assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body) ?? ''}: ${r.text}`);
  assert.deepEqual(r.body, expected, `${method} ${path}`);
}

/** An instance of an external task process with variable amount=5, ended or running. */
async function instances() {
  const key = `qp${Math.random().toString(36).slice(2, 8)}`;
  const d = await deploy(srv.api, { 'qp.bpmn': externalTaskBpmn(key, key) });
  assert.equal(d.status, 200, d.text);
  const start = () => srv.api('POST', `/process-definition/key/${key}/start`, { variables: { amount: { value: 5, type: 'Integer' } } });
  const running = (await start()).body;
  const ended = (await start()).body;
  srv.engine.deleteProcessInstance(ended.id);
  return { key, running, ended };
}

test('URL booleans, dates, integers and longs that do not convert: 400 naming the parameter and the Java type, over an empty store too', async () => {
  const cases = [
    ['/process-instance', 'suspended', 'maybe', 'java.lang.Boolean'],
    ['/process-instance/count', 'withIncident', 'yes', 'java.lang.Boolean'],
    ['/process-instance', 'variableValuesIgnoreCase', 'TRUE', 'java.lang.Boolean'],
    ['/history/process-instance', 'finished', '1x', 'java.lang.Boolean'],
    ['/history/process-instance/count', 'startedBefore', 'yesterday', 'java.util.Date'],
    ['/history/process-instance', 'executedJobAfter', 'soon', 'java.util.Date'],
    ['/job', 'priorityHigherThanOrEquals', 'high', 'java.lang.Long'],
    ['/job/count', 'noRetriesLeft', 'maybe', 'java.lang.Boolean'],
    ['/external-task', 'priorityLowerThanOrEquals', '1.5', 'java.lang.Long'],
    ['/external-task/count', 'lockExpirationAfter', '2024-13-45', 'java.util.Date'],
    ['/process-definition', 'version', '99999999999', 'java.lang.Integer'],
    ['/process-definition', 'latestVersion', 'maybe', 'java.lang.Boolean'],
    ['/deployment', 'after', 'x', 'java.util.Date'],
    ['/batch', 'suspended', 'perhaps', 'java.lang.Boolean'],
    ['/batch/statistics', 'withFailures', 'perhaps', 'java.lang.Boolean'],
    ['/batch/statistics/count', 'startedAfter', 'x', 'java.util.Date'],
    ['/history/batch', 'completed', 'perhaps', 'java.lang.Boolean'],
    ['/incident', 'incidentTimestampBefore', 'x', 'java.util.Date'],
    ['/history/incident/count', 'open', 'x', 'java.lang.Boolean'],
    ['/history/activity-instance', 'finishedAfter', 'x', 'java.util.Date'],
    ['/history/job-log', 'jobPriorityHigherThanOrEquals', 'x', 'java.lang.Long'],
    ['/history/variable-instance', 'includeDeleted', 'x', 'java.lang.Boolean'],
    ['/history/detail/count', 'occurredAfter', 'x', 'java.util.Date'],
    ['/job-definition', 'withOverridingJobPriority', 'x', 'java.lang.Boolean'],
    // declared by Camunda's DTOs though rebatch does not filter by them
    ['/deployment', 'withoutSource', 'x', 'java.lang.Boolean'],
    ['/process-definition', 'deployedAfter', 'x', 'java.util.Date'],
    ['/process-definition', 'ver', 'one', 'java.lang.Integer'],
    ['/job', 'acquired', 'x', 'java.lang.Boolean'],
    ['/job-definition', 'includeJobDefinitionsWithoutTenantId', 'x', 'java.lang.Boolean'],
  ];
  for (const [path, param, value, javaType] of cases) {
    await expectError('GET', `${path}?${param}=${encodeURIComponent(value)}`, undefined, 400, cannotConvert(param, value, javaType));
  }
  await expectError('GET', `/incident?incidentTimestampAfter=${encodeURIComponent('"2024-01-01T00:00:00.000+0000"')}`, undefined, 400,
    invalid('Cannot set query parameter \'incidentTimestampAfter\' to value \'"2024-01-01T00:00:00.000+0000"\': '
      + 'Cannot convert value "2024-01-01T00:00:00.000+0000" to java type java.util.Date because of double quotes'));
});

test('URL values that convert keep working: false, null, dates, numbers', async () => {
  const { running, ended } = await instances();
  const ids = (r) => r.body.map((x) => x.id);
  assert.ok(ids(await srv.api('GET', '/process-instance?suspended=false')).includes(running.id));
  assert.deepEqual(ids(await srv.api('GET', '/process-instance?suspended=true')), []);
  assert.equal((await srv.api('GET', '/process-instance?active=false')).status, 200);
  assert.equal((await srv.api('GET', '/job?priorityHigherThanOrEquals=-5&priorityLowerThanOrEquals=7')).status, 200);
  const finishedAfter = encodeURIComponent('2000-01-01T00:00:00.000+0000');
  assert.ok(ids(await srv.api('GET', `/history/process-instance?finishedAfter=${finishedAfter}`)).includes(ended.id));
  assert.equal((await srv.api('GET', '/process-definition?version=1')).status, 200);
});

test('URL sortBy and sortOrder: the setter refuses the value, reported as the parameter that could not be set', async () => {
  for (const path of ['/process-instance', '/history/process-instance/count', '/job', '/external-task', '/batch', '/history/batch', '/incident']) {
    await expectError('GET', `${path}?sortBy=nope&sortOrder=asc`, undefined, 400, invalid("Cannot set query parameter 'sortBy' to value 'nope'"));
  }
  await expectError('GET', '/job?sortBy=jobId&sortOrder=up', undefined, 400, invalid("Cannot set query parameter 'sortOrder' to value 'up'"));
  await expectError('GET', '/job?sortBy=jobId', undefined, 400,
    invalid('Only a single sorting parameter specified. sortBy and sortOrder required'));
});

test('variable conditions: an unknown comparator is 400 in URL and JSON form, list and count, instances and history', async () => {
  await instances();
  const comparator = invalid('Invalid variable comparator specified: foo');
  for (const path of ['/process-instance', '/process-instance/count', '/history/process-instance', '/history/process-instance/count']) {
    await expectError('GET', `${path}?variables=amount_foo_5`, undefined, 400, comparator);
    await expectError('GET', `${path}?variables=amount_eq_5,amount_foo_5`, undefined, 400, comparator);
    await expectError('POST', path, { variables: [{ name: 'amount', operator: 'foo', value: 5 }] }, 400, comparator);
  }
  await expectError('GET', '/external-task?processVariables=amount_foo_5', undefined, 400,
    invalid('Invalid process variable comparator specified: foo'));
  await expectError('POST', '/external-task/count', { processVariables: [{ name: 'amount', operator: 'notlike', value: '5' }] }, 400,
    invalid('Invalid process variable comparator specified: notlike'));
  await expectError('GET', '/process-instance?variables=amount_notLike_5', undefined, 400,
    invalid('Invalid variable comparator specified: notLike'));
});

test('variable conditions in the URL must be KEY_OPERATOR_VALUE triples', async () => {
  const format = (param, value) => invalid(`Cannot set query parameter '${param}' to value '${value}': variable query parameter has to have format KEY_OPERATOR_VALUE.`);
  for (const value of ['amount_eq', 'amount_eq_', 'a_b_eq_5', 'amount_eq_5_6', 'amount', '', 'amount_eq_5,,x']) {
    await expectError('GET', `/process-instance?variables=${value}`, undefined, 400, format('variables', value));
    await expectError('GET', `/history/process-instance/count?variables=${value}`, undefined, 400, format('variables', value));
  }
  await expectError('GET', '/external-task?processVariables=a_eq', undefined, 400, format('processVariables', 'a_eq'));
  // trailing empty expressions are dropped, as String.split drops them
  assert.equal((await srv.api('GET', '/process-instance?variables=amount_eq_5,')).status, 200);
});

test('variable conditions that are well formed still select: eq, neq and notLike for external tasks', async () => {
  const { key, running } = await instances();
  const ids = async (path) => (await srv.api('GET', path)).body.map((x) => x.id);
  assert.ok((await ids('/process-instance?variables=amount_eq_5')).includes(running.id));
  assert.ok(!(await ids('/process-instance?variables=amount_neq_5')).includes(running.id));
  const tasks = (await srv.api('GET', `/external-task?topicName=${key}`)).body;
  assert.equal(tasks.length, 1);
  srv.engine.call('setProcessInstanceVariable', { id: running.id, key: 'note', body: { value: 'abc', type: 'String' } });
  assert.deepEqual((await srv.api('POST', '/external-task', { topicName: key, processVariables: [{ name: 'note', operator: 'notLike', value: 'a%' }] })).body, []);
  assert.equal((await srv.api('POST', '/external-task', { topicName: key, processVariables: [{ name: 'note', operator: 'notLike', value: 'x%' }] })).body.length, 1);
});

test('an empty id set in a JSON query: 500 where the DTO passes it on (process instances), no filter where it skips it (jobs, external tasks)', async () => {
  const empty = (what) => ({ type: 'ProcessEngineException', message: `Set of ${what} ids is empty`, code: 0 });
  for (const path of ['/process-instance', '/process-instance/count', '/history/process-instance', '/history/process-instance/count']) {
    await expectError('POST', path, { processInstanceIds: [] }, 500, empty('process instance'));
  }
  await instances();
  const count = async (path, body) => {
    const r = await srv.api('POST', path, body);
    assert.equal(r.status, 200, r.text);
    return r.body.count;
  };
  const tasks = await count('/external-task/count', {});
  assert.ok(tasks > 0);
  assert.equal(await count('/external-task/count', { externalTaskIdIn: [] }), tasks);
  assert.equal(await count('/external-task/count', { processInstanceIdIn: [], activityIdIn: [] }), tasks);
  const jobs = await count('/job/count', {});
  assert.equal(await count('/job/count', { jobIds: [] }), jobs);
  assert.equal(await count('/job/count', { processInstanceIds: [] }), jobs);
  assert.equal((await srv.api('POST', '/job', { jobIds: [] })).body.length, jobs);
  // a URL id list is never empty: "" is a set of one empty id
  assert.deepEqual((await srv.api('GET', '/process-instance?processInstanceIds=')).body, []);
});

test('batch bodies: a query with an unknown comparator or an empty id set creates no batch, even next to explicit ids', async () => {
  const { running, ended } = await instances();
  const task = (await srv.api('GET', `/external-task?processInstanceId=${running.id}`)).body[0];
  const batches = async () => (await srv.api('GET', '/batch/count')).body.count;
  const before = await batches();
  const badQuery = { variables: [{ name: 'amount', operator: 'foo', value: 5 }] };
  const comparator = invalid('Invalid variable comparator specified: foo');
  await expectError('POST', '/external-task/retries-async', { retries: 1, externalTaskIds: [task.id], processInstanceQuery: badQuery }, 400, comparator);
  await expectError('PUT', '/external-task/retries', { retries: 1, externalTaskIds: [task.id], historicProcessInstanceQuery: badQuery }, 400, comparator);
  await expectError('POST', '/process-instance/job-retries', { retries: 1, processInstances: [running.id], processInstanceQuery: badQuery }, 400, comparator);
  await expectError('POST', '/process-instance/job-retries-historic-query-based',
    { retries: 1, processInstances: [running.id], historicProcessInstanceQuery: badQuery }, 400, comparator);
  await expectError('POST', `/process-definition/${ended.definitionId}/restart-async`, {
    processInstanceIds: [ended.id], instructions: [{ type: 'startBeforeActivity', activityId: 'work' }],
    historicProcessInstanceQuery: { variables: [{ name: 'amount', operator: 'bad', value: 5 }] },
  }, 400, invalid('Invalid variable comparator specified: bad'));
  await expectError('POST', '/process-instance/job-retries', { retries: 1, processInstanceQuery: { processInstanceIds: [] } }, 500,
    { type: 'ProcessEngineException', message: 'Set of process instance ids is empty', code: 0 });
  assert.equal(await batches(), before);
});

test('batch bodies: their queries are converted before anything else in the body is checked', async () => {
  const { ended } = await instances();
  await expectError('POST', '/external-task/retries-async', { externalTaskQuery: { tenantIdIn: [null] } }, 500,
    { type: 'NullValueException', message: 'tenantIds contains null value', code: 0 });
  await expectError('PUT', '/external-task/retries', { processInstanceQuery: { variables: [{ name: 'a', operator: 'x', value: 1 }] } }, 400,
    invalid('Invalid variable comparator specified: x'));
  for (const kind of ['restart', 'restart-async']) {
    await expectError('POST', `/process-definition/${ended.definitionId}/${kind}`, {
      instructions: [{ type: 'startBeforeActivity' }],
      historicProcessInstanceQuery: { processInstanceIds: [] },
    }, 500, { type: 'ProcessEngineException', message: 'Set of process instance ids is empty', code: 0 });
  }
});

test('the body\'s sorting array is applied as upstream applies it to the query: unknown keys order by nothing, the query refuses bad directions', async () => {
  await instances();
  const notValid = (message) => ({ type: 'NotValidException', message, code: 0 });
  for (const path of ['/process-instance', '/process-instance/count', '/job']) {
    await expectError('POST', path, { sorting: [{ sortBy: 'nope', sortOrder: 'asc' }] }, 400,
      notValid('You should call any of the orderBy methods first before specifying a direction: currentOrderingProperty is null'));
  }
  await expectError('POST', '/process-instance', { sorting: [{ sortBy: 'instanceId', sortOrder: 'up' }] }, 400,
    notValid('Invalid query: call asc() or desc() after using orderByXX(): direction is null'));
  await expectError('POST', '/process-instance', { sorting: [{ sortBy: 'instanceId' }] }, 400,
    notValid('Invalid query: call asc() or desc() after using orderByXX(): direction is null'));
  await expectError('POST', '/history/process-instance', { sorting: [{ sortBy: 'instanceId', sortOrder: 'asc' }, { sortBy: 'nope', sortOrder: 'desc' }] }, 400,
    notValid('Invalid query: can specify only one direction desc() or asc() for an ordering constraint: direction is not null'));
  // an unknown key next to a direction-less entry is simply ignored
  const r = await srv.api('POST', '/process-instance', { sorting: [{ sortBy: 'nope' }, { sortBy: 'instanceId', sortOrder: 'desc' }] });
  assert.equal(r.status, 200, r.text);
  const ids = r.body.map((p) => p.id);
  assert.deepEqual(ids, [...ids].sort().reverse());
});

test('a null entry in a JSON list the engine query takes as an array: the query\'s own exception', async () => {
  const nullValue = (name) => ({ type: 'NullValueException', message: `${name} contains null value`, code: 0 });
  await expectError('POST', '/process-instance', { tenantIdIn: ['a', null] }, 500, nullValue('tenantIds'));
  await expectError('POST', '/process-instance/count', { processDefinitionKeyIn: [null] }, 500, nullValue('processDefinitionKeys'));
  await expectError('POST', '/history/process-instance', { incidentIdIn: [null] }, 500, nullValue('incidentIds'));
  await expectError('POST', '/history/process-instance/count', { activityIdIn: [null] }, 400,
    { type: 'BadUserRequestException', message: 'activity ids contains null value', code: 0 });
  await expectError('POST', '/history/process-instance', { processDefinitionKeyNotIn: [''] }, 400,
    { type: 'NotValidException', message: 'processDefinitionKeys contains empty string', code: 0 });
  await expectError('POST', '/external-task', { processInstanceIdIn: [null] }, 500, nullValue('processInstanceIdIn'));
  await expectError('POST', '/job/count', { tenantIdIn: [null] }, 500, nullValue('tenantIds'));
  // empty lists are not passed on by the DTOs
  assert.equal((await srv.api('POST', '/process-instance', { tenantIdIn: [] })).status, 200);
  // inside a batch body the same, and no batch
  await expectError('POST', '/process-instance/job-retries', { retries: 1, processInstanceQuery: { tenantIdIn: [null] } }, 500, nullValue('tenantIds'));
});

// Jackson reads a JSON body before any resource code runs: a member it
// cannot convert (a Date, a Boolean, a sortBy the setter refuses) is
// JsonMappingExceptionHandler's 400 with an empty message, code null.
const mapping = invalid('');

test('JSON bodies: a date or boolean Jackson cannot read is 400 with an empty message, over an empty store too', async () => {
  const cases = [
    ['/process-instance', { startedBefore: 'nope' }],
    ['/process-instance/count', { suspended: 'maybe' }],
    ['/process-instance', { variableValuesIgnoreCase: 'yes' }],
    ['/history/process-instance', { startedBefore: 'nope' }],
    ['/history/process-instance/count', { finishedAfter: '2024-13-45T00:00:00.000+0000' }],
    ['/history/process-instance', { executedJobAfter: true }],
    ['/history/process-instance', { finished: 'x' }],
    ['/job', { noRetriesLeft: 'perhaps' }],
    ['/job/count', { withException: [true] }],
    ['/external-task', { lockExpirationAfter: { at: 1 } }],
    ['/external-task/count', { locked: 'locked' }],
  ];
  for (const [path, body] of cases) await expectError('POST', path, body, 400, mapping);
});

test('JSON bodies: dates Jackson reads select as before; blank and "null" texts are no value', async () => {
  const { running, ended } = await instances();
  const ids = async (path, body) => {
    const r = await srv.api('POST', path, body);
    assert.equal(r.status, 200, r.text);
    return r.body.map((x) => x.id);
  };
  assert.ok((await ids('/history/process-instance', { finishedAfter: ' 2000-01-01T00:00:00.000+0000 ' })).includes(ended.id));
  assert.deepEqual(await ids('/history/process-instance', { processInstanceId: ended.id, finishedBefore: 946684800000 }), []);
  assert.ok((await ids('/process-instance', { startedBefore: '', processInstanceId: running.id })).includes(running.id));
  assert.ok((await ids('/process-instance', { startedBefore: 'null', suspended: 'False', processInstanceId: running.id })).includes(running.id));
  assert.deepEqual(await ids('/process-instance', { suspended: 'TRUE', processInstanceId: running.id }), []);
  assert.deepEqual(await ids('/process-instance', { suspended: 1, processInstanceId: running.id }), []);
});

test('JSON bodies: a top-level sortBy or sortOrder the DTO setter refuses is a mapping error; a lone one still needs the other', async () => {
  for (const path of ['/process-instance', '/process-instance/count', '/history/process-instance', '/job', '/external-task/count', '/history/process-instance/count']) {
    await expectError('POST', path, { sortBy: 'nope', sortOrder: 'asc' }, 400, mapping);
  }
  await expectError('POST', '/job', { sortBy: 'jobId', sortOrder: 'up' }, 400, mapping);
  await expectError('POST', '/job', { sortBy: 'nope' }, 400, mapping);
  await expectError('POST', '/job', { sortBy: 'jobId' }, 400,
    invalid('Only a single sorting parameter specified. sortBy and sortOrder required'));
  assert.equal((await srv.api('POST', '/job', { sortBy: 'jobId', sortOrder: 'desc' })).status, 200);
});

test('JSON bodies: a bad date in a batch body\'s query or its own dueDate / absoluteRemovalTime creates no batch', async () => {
  const { running, ended } = await instances();
  const task = (await srv.api('GET', `/external-task?processInstanceId=${running.id}`)).body[0];
  const batches = async () => (await srv.api('GET', '/batch/count')).body.count;
  const before = await batches();
  await expectError('POST', '/external-task/retries-async', { retries: 1, externalTaskIds: [task.id], processInstanceQuery: { startedBefore: 'nope' } }, 400, mapping);
  await expectError('POST', '/process-instance/job-retries-historic-query-based',
    { retries: 1, historicProcessInstanceQuery: { finishedAfter: 'nope' } }, 400, mapping);
  await expectError('POST', '/process-instance/job-retries', { retries: 1, processInstances: [running.id], dueDate: 'tomorrow' }, 400, mapping);
  await expectError('POST', '/job/retries', { retries: 1, jobIds: ['x'], dueDate: 'tomorrow' }, 400, mapping);
  await expectError('POST', '/history/process-instance/set-removal-time',
    { historicProcessInstanceIds: [ended.id], absoluteRemovalTime: 'later' }, 400, mapping);
  await expectError('POST', '/process-instance/delete', { processInstanceIds: [running.id], skipCustomListeners: 'maybe' }, 400, mapping);
  await expectError('POST', '/process-instance', { sortBy: 'nope', sortOrder: 'asc' }, 400, mapping);
  assert.equal(await batches(), before);
});

test('JSON bodies: Integer and Long members as Jackson reads them: fractions truncated, integer text read, anything else a mapping error', async () => {
  const { running } = await instances();
  const task = (await srv.api('GET', `/external-task?processInstanceId=${running.id}`)).body[0];
  for (const [method, path, body] of [
    ['PUT', `/external-task/${task.id}/retries`, { retries: 'many' }],
    ['PUT', `/external-task/${task.id}/retries`, { retries: true }],
    ['PUT', `/external-task/${task.id}/retries`, { retries: '1.5' }],
    ['PUT', `/external-task/${task.id}/retries`, { retries: 2147483648 }],
    ['POST', `/external-task/${task.id}/lock`, { workerId: 'w', lockDuration: 'soon' }],
    ['POST', '/external-task/fetchAndLock', { workerId: 'w', maxTasks: [1], topics: [] }],
    ['POST', `/external-task/${task.id}/extendLock`, { workerId: 'w', newDuration: 'later' }],
    ['POST', '/external-task/retries-async', { retries: 'x', externalTaskIds: [task.id] }],
  ]) {
    await expectError(method, path, body, 400, mapping);
  }
  assert.equal((await srv.api('PUT', `/external-task/${task.id}/retries`, { retries: 2.9 })).status, 204);
  assert.equal((await srv.api('GET', `/external-task/${task.id}`)).body.retries, 2);
  assert.equal((await srv.api('PUT', `/external-task/${task.id}/retries`, { retries: ' 4 ' })).status, 204);
  assert.equal((await srv.api('GET', `/external-task/${task.id}`)).body.retries, 4);
  await expectError('PUT', `/external-task/${task.id}/retries`, { retries: '' }, 400, invalid('The number of retries cannot be null.'));
});
