// snapshot.js - what the page shows, read from an engine (simulation) or a
// REST API (connected mode) into plain data. Rendering (ui/*) only reads
// these objects; nothing here touches the DOM.

/**
 * Reads one resource: an engine operation name and its query. The local
 * reader calls the in-page engine, the remote one GETs the REST path.
 * @typedef {(operation: string, query?: Record<string, string>) => Promise<any>} Reader
 */

/** GET paths (under /engine-rest) of the read operations the page uses. */
export const READ_PATHS = Object.freeze({
  getBatchStatistics: '/batch/statistics',
  getHistoricBatches: '/history/batch',
  getJobs: '/job',
});

/**
 * One batch as the panel shows it.
 * @typedef {object} BatchView
 * @property {object} stats      BatchStatisticsDto
 * @property {number} created    execution jobs created so far
 * @property {number} completed
 * @property {number} failed
 * @property {number} remaining
 * @property {number} total
 * @property {object[]} seedJobs
 * @property {object[]} monitorJobs
 */

/**
 * The batch panel's data: running batches with statistics and their
 * seed/monitor jobs, and the batch history (newest first).
 * @param {Reader} read
 * @returns {Promise<{batches: BatchView[], history: object[]}>}
 */
export async function readBatches(read) {
  const stats = await read('getBatchStatistics', {});
  const batches = [];
  for (const s of stats) {
    const [seedJobs, monitorJobs] = await Promise.all([
      read('getJobs', { jobDefinitionId: s.seedJobDefinitionId }),
      read('getJobs', { jobDefinitionId: s.monitorJobDefinitionId }),
    ]);
    batches.push({
      stats: s,
      total: s.totalJobs,
      created: s.jobsCreated,
      completed: s.completedJobs,
      failed: s.failedJobs,
      remaining: s.remainingJobs,
      seedJobs,
      monitorJobs,
    });
  }
  const history = await read('getHistoricBatches', { sortBy: 'startTime', sortOrder: 'desc' });
  return { batches, history };
}

/**
 * Tables and diagram counts of the simulation's engine.
 * @param {import('../../bindings/index.js').Engine} engine
 */
export function readRuntime(engine) {
  const jobDefinitions = engine.getJobDefinitions();
  const defById = new Map(jobDefinitions.map((d) => [d.id, d]));
  const jobs = engine.getJobs().map((j) => {
    const def = defById.get(j.jobDefinitionId);
    return { ...j, activityId: def?.activityId ?? null, jobType: def?.jobType ?? '' };
  });
  const externalTasks = engine.getExternalTasks();
  const incidents = engine.getIncidents();
  const instances = engine.getHistoricProcessInstances({ sortBy: 'startTime', sortOrder: 'asc' });
  const activeActivities = engine.getHistoricActivityInstances({ unfinished: 'true' });
  return { jobs, externalTasks, incidents, instances, activeActivities };
}

/**
 * Per-activity counts of one process definition key, for the overlays.
 * @param {ReturnType<typeof readRuntime>} runtime
 * @param {string} processDefinitionKey
 * @returns {Map<string, {tokens: number, jobs: number, tasks: number, incidents: number}>}
 */
export function activityCounts(runtime, processDefinitionKey) {
  /** @type {Map<string, {tokens: number, jobs: number, tasks: number, incidents: number}>} */
  const counts = new Map();
  const bump = (activityId, field) => {
    if (!activityId) return;
    let c = counts.get(activityId);
    if (!c) counts.set(activityId, (c = { tokens: 0, jobs: 0, tasks: 0, incidents: 0 }));
    c[field]++;
  };
  const ofKey = (x) => x.processDefinitionKey === processDefinitionKey || String(x.processDefinitionId ?? '').startsWith(`${processDefinitionKey}:`);
  for (const a of runtime.activeActivities) if (ofKey(a)) bump(a.activityId, 'tokens');
  for (const j of runtime.jobs) if (ofKey(j) && !j.batchId) bump(j.activityId, 'jobs');
  for (const t of runtime.externalTasks) if (ofKey(t)) bump(t.activityId, 'tasks');
  for (const i of runtime.incidents) if (ofKey(i)) bump(i.activityId, 'incidents');
  return counts;
}
