// deploy.bench.js - what POST /deployment/create costs as a BPMN model grows.
//
//   node tests/bench/deploy.bench.js     (part of npm run bench)
//   BENCH_TASKS=1000,20000 BENCH_RUNS=3 node tests/bench/deploy.bench.js
//
// For each size: a chain start -> n external tasks -> end (one process, a
// fresh key per run), uploaded as multipart to an in-process REST server
// over the C memory store. ms is the median of BENCH_RUNS uploads (parse,
// validation, job definitions, storage, answer). Issue 13 found deploy
// quadratic (13 s at 20,000 tasks); linear-ish means the per-task cost at
// the largest size stays near the smallest's (per_task_ratio= on the last
// line). Prints only; checks only that every upload deployed.
import { deploy, startServer } from '../support/rest-helpers.js';

const SIZES = (process.env.BENCH_TASKS ?? '1000,20000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function chain(key, tasks) {
  const parts = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" targetNamespace="bench">',
    `<process id="${key}" isExecutable="true"><startEvent id="start"/>`,
  ];
  let previous = 'start';
  for (let i = 0; i < tasks; i++) {
    parts.push(`<serviceTask id="task${i}" name="Task ${i}" camunda:type="external" camunda:topic="work"/>`);
    parts.push(`<sequenceFlow id="flow${i}" sourceRef="${previous}" targetRef="task${i}"/>`);
    previous = `task${i}`;
  }
  parts.push(`<endEvent id="end"/><sequenceFlow id="flowEnd" sourceRef="${previous}" targetRef="end"/></process></definitions>`);
  return parts.join('\n');
}

const server = await startServer({ bodyLimit: 64 * 1024 * 1024 });
const perTask = [];
try {
  for (const tasks of SIZES) {
    const times = [];
    let bytes = 0;
    for (let run = 0; run < RUNS; run++) {
      const xml = chain(`chain${tasks}x${run}`, tasks);
      bytes = xml.length;
      const t = performance.now();
      const res = await deploy(server.api, { 'chain.bpmn': xml });
      times.push(performance.now() - t);
      if (res.status !== 200) throw new Error(`deploy of ${tasks} tasks answered ${res.status}: ${res.text.slice(0, 200)}`);
    }
    const ms = median(times);
    perTask.push(ms / tasks);
    console.log(`bench deploy tasks=${tasks} ms=${ms.toFixed(1)} us_per_task=${((ms * 1000) / tasks).toFixed(1)} bytes=${bytes} runs=${RUNS}`);
  }
} finally {
  await server.close();
}
if (perTask.length > 1) {
  console.log(`bench deploy-growth from=${SIZES[0]} to=${SIZES.at(-1)} per_task_ratio=${(perTask.at(-1) / perTask[0]).toFixed(2)}`);
}
