// bindings/bpmn.js: BPMN 2.0 XML with Camunda extensions to the engine's model.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BpmnParseError, parseBpmn } from '../bindings/bpmn.js';
import { createEngine } from '../bindings/index.js';
import { bpmn } from './support/rest-helpers.js';

test('parses activities, Camunda attributes, extensions and flows', async () => {
  const { processes } = await parseBpmn(bpmn('retry-order.bpmn'), { resource: 'retry-order.bpmn' });
  assert.deepEqual(processes, [
    {
      key: 'order',
      name: 'Order',
      versionTag: 'v1',
      category: 'http://example.com/rebatch',
      resource: 'retry-order.bpmn',
      historyTimeToLive: 30,
      activities: [
        { id: 'start', type: 'startEvent' },
        {
          id: 'charge',
          type: 'serviceTask',
          name: 'Charge',
          asyncBefore: true,
          topic: 'charge',
          failedJobRetryTimeCycle: 'R3/PT1M',
        },
        { id: 'end', type: 'endEvent' },
      ],
      flows: [
        { id: 'f1', source: 'start', target: 'charge' },
        { id: 'f2', source: 'charge', target: 'end' },
      ],
    },
  ]);
});

test('timers, gateways with a default flow, asyncAfter; the engine deploys the result', async () => {
  const xml = `<?xml version="1.0"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" targetNamespace="x">
  <process id="p" isExecutable="true">
    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="g" />
    <exclusiveGateway id="g" default="f2" />
    <sequenceFlow id="f2" sourceRef="g" targetRef="w" />
    <intermediateCatchEvent id="w"><timerEventDefinition><timeDuration>PT5M</timeDuration></timerEventDefinition></intermediateCatchEvent>
    <sequenceFlow id="f3" sourceRef="w" targetRef="t" />
    <task id="t" camunda:asyncAfter="true" />
    <sequenceFlow id="f4" sourceRef="t" targetRef="e" />
    <endEvent id="e" />
  </process>
  <process id="notrun" isExecutable="false"><startEvent id="x" /></process>
</definitions>`;
  const { processes } = await parseBpmn(xml);
  assert.equal(processes.length, 1);
  const [p] = processes;
  assert.deepEqual(p.activities[1], { id: 'g', type: 'exclusiveGateway', default: 'f2' });
  assert.deepEqual(p.activities[2], { id: 'w', type: 'intermediateCatchEvent', timerDuration: 'PT5M' });
  assert.deepEqual(p.activities[3], { id: 't', type: 'task', asyncAfter: true });
  const engine = await createEngine();
  try {
    const d = engine.createDeployment({ name: 'x', processes });
    assert.equal(Object.keys(d.deployedProcessDefinitions).length, 1);
  } finally {
    engine.close();
  }
});

test('not XML, not BPMN: BpmnParseError (400 ParseException)', async () => {
  for (const text of ['', 'hello', '<foo/>', '<definitions']) {
    await assert.rejects(parseBpmn(text, { resource: 'r.bpmn' }), (err) => {
      assert.ok(err instanceof BpmnParseError);
      assert.equal(err.type, 'ParseException');
      assert.equal(err.status, 400);
      assert.match(err.message, /r\.bpmn/);
      return true;
    });
  }
});

test('error boundary events parse to the model; other boundary events are refused', async () => {
  const doc = (boundary) => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:error id="err" errorCode="E42" />
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:serviceTask id="w" camunda:type="external" camunda:topic="t" />
    <bpmn:boundaryEvent id="b" attachedToRef="w">${boundary}</bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="w" />
  </bpmn:process>
</bpmn:definitions>`;
  const { processes: [coded] } = await parseBpmn(doc('<bpmn:errorEventDefinition errorRef="err" camunda:errorCodeVariable="c" />'));
  assert.deepEqual(coded.activities.find((a) => a.id === 'b'),
    { id: 'b', type: 'boundaryEvent', attachedTo: 'w', eventDefinition: 'error', errorCode: 'E42', errorCodeVariable: 'c' });
  const { processes: [any] } = await parseBpmn(doc('<bpmn:errorEventDefinition />'));
  assert.deepEqual(any.activities.find((a) => a.id === 'b'), { id: 'b', type: 'boundaryEvent', attachedTo: 'w', eventDefinition: 'error' });
  await assert.rejects(parseBpmn(doc('<bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition>')),
    (err) => err instanceof BpmnParseError && /boundaryEvent with timerEventDefinition/.test(err.message));
  await assert.rejects(parseBpmn(doc('')),
    (err) => err instanceof BpmnParseError && /boundaryEvent with no event definition/.test(err.message));
});
