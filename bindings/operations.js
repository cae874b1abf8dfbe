// operations.js - the argument shape of each engine operation: the names of
// the request fields ({id, key, query, body}) its convenience method takes,
// in order. engine.getJob(id) sends {id}; engine.setJobRetries(id, body)
// sends {id, body}. An argument left undefined is left out of the request
// (a missing body is "no body", which Camunda reports differently from {}).
//
// Keep in sync with RB_OPERATIONS in src/core.h: tests/operations.test.js
// checks that every operation rebatch_operations() lists has an entry here.

/** @typedef {'id' | 'key' | 'query' | 'body'} RequestField */

/** @type {Readonly<Record<string, readonly RequestField[]>>} */
export const OPERATIONS = Object.freeze({
  // deployments and definitions
  createDeployment: ['body'],
  getDeployments: ['query'],
  deleteDeployment: ['id', 'query'],
  getProcessDefinitions: ['query'],
  getProcessDefinition: ['id'],
  getProcessDefinitionByKey: ['key'],
  // process instances
  startProcessInstance: ['id', 'body'],
  startProcessInstanceByKey: ['key', 'body'],
  getProcessInstances: ['query', 'body'],
  getProcessInstancesCount: ['query', 'body'],
  getProcessInstance: ['id'],
  deleteProcessInstance: ['id', 'query'],
  // history
  getHistoricProcessInstances: ['query', 'body'],
  getHistoricProcessInstancesCount: ['query', 'body'],
  getHistoricProcessInstance: ['id'],
  // process variables (the variable name travels as `key`)
  getProcessInstanceVariables: ['id', 'query'],
  modifyProcessInstanceVariables: ['id', 'body'],
  getProcessInstanceVariable: ['id', 'key', 'query'],
  setProcessInstanceVariable: ['id', 'key', 'body'],
  deleteProcessInstanceVariable: ['id', 'key'],
  getHistoricVariableInstances: ['query'],
  getHistoricVariableInstancesCount: ['query'],
  getHistoricVariableInstance: ['id', 'query'],
  getHistoricDetails: ['query'],
  getHistoricDetailsCount: ['query'],
  getHistoricDetail: ['id', 'query'],
  getHistoricActivityInstances: ['query', 'body'],
  // observing instances
  getActivityInstanceTree: ['id'],
  getHistoricActivityInstancesCount: ['query', 'body'],
  getHistoricActivityInstance: ['id'],
  getHistoricIncidentsCount: ['query'],
  getHistoricJobLogs: ['query', 'body'],
  getHistoricJobLogsCount: ['query', 'body'],
  getHistoricJobLog: ['id'],
  getHistoricJobLogStacktrace: ['id'],
  getJobStacktrace: ['id'],
  getExternalTaskErrorDetails: ['id'],
  // jobs
  getJobs: ['query', 'body'],
  getJobsCount: ['query', 'body'],
  getJob: ['id'],
  executeJob: ['id'],
  setJobRetries: ['id', 'body'],
  executeDueJobs: ['body'],
  completeLockedJob: ['id', 'body'],
  failLockedJob: ['id', 'body'],
  getJobDefinitions: ['query'],
  // external tasks
  getExternalTasks: ['query', 'body'],
  getExternalTasksCount: ['query', 'body'],
  getExternalTask: ['id'],
  fetchAndLock: ['body'],
  completeExternalTask: ['id', 'body'],
  handleExternalTaskFailure: ['id', 'body'],
  handleExternalTaskBpmnError: ['id', 'body'],
  unlockExternalTask: ['id'],
  lockExternalTask: ['id', 'body'],
  extendExternalTaskLock: ['id', 'body'],
  setExternalTaskRetries: ['id', 'body'],
  // incidents
  getIncidents: ['query'],
  getIncidentsCount: ['query'],
  getHistoricIncidents: ['query'],
  // batches: creation (the seed endpoints)
  setJobRetriesAsyncByProcess: ['body'],
  setJobRetriesAsyncByHistoricQuery: ['body'],
  setJobRetriesAsync: ['body'],
  setExternalTaskRetriesAsync: ['body'],
  setExternalTaskRetriesSync: ['body'],
  restartProcessInstancesAsync: ['id', 'body'],
  restartProcessInstances: ['id', 'body'],
  // batches: management and history
  getBatches: ['query'],
  getBatchesCount: ['query'],
  getBatch: ['id'],
  deleteBatch: ['id', 'query'],
  setBatchSuspended: ['id', 'body'],
  getBatchStatistics: ['query'],
  getBatchStatisticsCount: ['query'],
  getHistoricBatches: ['query'],
  getHistoricBatchesCount: ['query'],
  getHistoricBatch: ['id'],
  deleteHistoricBatch: ['id'],
});
