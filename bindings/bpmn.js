// bpmn.js - BPMN 2.0 XML (with Camunda extensions) to the engine's JSON
// process model, parsed with bpmn-moddle + camunda-bpmn-moddle. Runs in Node
// and in the browser (no Node APIs).
//
//   const { processes } = await parseBpmn(xmlText, { resource: 'order.bpmn' });
//   engine.createDeployment({ name, processes });
//
// The model is the one src/definition.c reads:
//   {key, name, versionTag, category, resource, historyTimeToLive,
//    activities: [{id, type, name, asyncBefore, asyncAfter, topic,
//                  timerDuration, messageName, failedJobRetryTimeCycle, default,
//                  attachedTo, eventDefinition: 'error', errorCode,
//                  errorCodeVariable, errorMessageVariable,
//                  delegateExpression, class, expression}],
//    flows: [{id, source, target}]}
// Element types are passed through without the "bpmn:" prefix; the engine
// rejects the ones it does not support with a ParseException naming them.
// Errors of the parser itself (not XML, not BPMN, no process) throw a
// BpmnParseError, which the REST layer turns into a 400 ParseException.

import { BpmnModdle } from 'bpmn-moddle';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json' with { type: 'json' };

export class BpmnParseError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'BpmnParseError';
    this.type = 'ParseException';
    this.status = 400;
  }
}

let moddle = null;
function getModdle() {
  if (!moddle) moddle = new BpmnModdle({ camunda: camundaModdle });
  return moddle;
}

/** "bpmn:ServiceTask" -> "serviceTask" (BPMN's XML element name). */
const strip = (type) => {
  const name = String(type).replace(/^bpmn:/, '');
  return name.charAt(0).toLowerCase() + name.slice(1);
};

/** The camunda:failedJobRetryTimeCycle extension element's text, if any. */
function retryTimeCycle(element) {
  const values = element.extensionElements?.values ?? [];
  for (const v of values) {
    if (v.$type === 'camunda:FailedJobRetryTimeCycle') return v.body ?? undefined;
  }
  return undefined;
}

function activityOf(element, unsupported) {
  const type = strip(element.$type);
  const a = { id: element.id, type };
  if (element.name != null) a.name = element.name;
  if (element.asyncBefore || element.async) a.asyncBefore = true;
  if (element.asyncAfter) a.asyncAfter = true;
  if (element.type === 'external' && element.topic) a.topic = element.topic;
  // How the job handlers of `rebatch serve --handlers` find a task's code.
  for (const key of ['delegateExpression', 'class', 'expression']) {
    if (typeof element[key] === 'string' && element[key] !== '') a[key] = element[key];
  }
  const cycle = retryTimeCycle(element);
  if (cycle) a.failedJobRetryTimeCycle = cycle;
  if (element.default?.id) a.default = element.default.id;
  const defs = element.eventDefinitions ?? [];
  if (element.$type === 'bpmn:BoundaryEvent') return boundaryOf(element, a, defs, unsupported);
  if (element.$type === 'bpmn:ReceiveTask' && element.messageRef) a.messageName = messageName(element.messageRef, unsupported);
  for (const d of defs) {
    if (d.$type === 'bpmn:TimerEventDefinition' && d.timeDuration) {
      a.timerDuration = d.timeDuration.body;
    } else if (d.$type === 'bpmn:MessageEventDefinition' && defs.length === 1 &&
               ['bpmn:StartEvent', 'bpmn:IntermediateCatchEvent'].includes(element.$type)) {
      a.messageName = messageName(d.messageRef, unsupported, `${type} '${element.id}' with a messageEventDefinition`);
    } else {
      // Events with other definitions (message, signal, error, ...) are not
      // supported: name the definition in the type so the engine rejects it.
      unsupported.push(`${type} with ${strip(d.$type)}`);
    }
  }
  if (element.$type === 'bpmn:IntermediateCatchEvent' && defs.length === 0) {
    unsupported.push(`${type} without an event definition`);
  }
  return a;
}

/** The name of a bpmn:message (a message event or receive task waits for it by name). */
function messageName(message, unsupported, where = 'receiveTask') {
  if (message?.name) return message.name;
  unsupported.push(`${where} without a message name`);
  return undefined;
}

/**
 * Error boundary events: errorRef names a bpmn:error whose errorCode the
 * event catches; without one (or without a code) it catches every error.
 */
function boundaryOf(element, a, defs, unsupported) {
  const error = defs.length === 1 && defs[0].$type === 'bpmn:ErrorEventDefinition' ? defs[0] : null;
  if (!error) {
    const kinds = defs.map((d) => strip(d.$type)).join(', ') || 'no event definition';
    unsupported.push(`boundaryEvent with ${kinds}`);
    return a;
  }
  a.attachedTo = element.attachedToRef?.id;
  a.eventDefinition = 'error';
  if (error.errorRef?.errorCode != null) a.errorCode = error.errorRef.errorCode;
  if (error.errorCodeVariable) a.errorCodeVariable = error.errorCodeVariable;
  if (error.errorMessageVariable) a.errorMessageVariable = error.errorMessageVariable;
  return a;
}

/**
 * Parses one BPMN 2.0 XML document into the engine's process models.
 * @param {string} xml
 * @param {{resource?: string}} [options] resource: the file name, stored as
 *   the definitions' `resource`
 * @returns {Promise<{processes: object[], warnings: string[]}>}
 */
export async function parseBpmn(xml, { resource } = {}) {
  if (typeof xml !== 'string' || xml.trim() === '') {
    throw new BpmnParseError(`ENGINE-09005 Could not parse BPMN process. Errors: \n* empty resource | resource ${resource ?? ''}`);
  }
  let result;
  try {
    result = await getModdle().fromXML(xml, 'bpmn:Definitions');
  } catch (err) {
    throw new BpmnParseError(
      `ENGINE-09005 Could not parse BPMN process. Errors: \n* ${err.message.split('\n')[0]} | resource ${resource ?? ''}`,
    );
  }
  const definitions = result.rootElement;
  const warnings = (result.warnings ?? []).map((w) => w.message);
  const processes = [];
  for (const root of definitions.rootElements ?? []) {
    if (root.$type !== 'bpmn:Process') continue;
    if (root.isExecutable === false) continue;
    const activities = [];
    const flows = [];
    const unsupported = [];
    for (const el of root.flowElements ?? []) {
      if (el.$type === 'bpmn:SequenceFlow') {
        const flow = { id: el.id, source: el.sourceRef?.id, target: el.targetRef?.id };
        if (el.conditionExpression) unsupported.push(`sequenceFlow '${el.id}' with a condition`);
        flows.push(flow);
      } else {
        const a = activityOf(el, unsupported);
        activities.push(a);
      }
    }
    if (unsupported.length) {
      throw new BpmnParseError(
        `ENGINE-09005 Could not parse BPMN process. Errors: \n* Unsupported BPMN element(s) in process '${root.id}': ${unsupported.join(', ')} | resource ${resource ?? ''}`,
      );
    }
    const model = { key: root.id, activities, flows };
    if (root.name != null) model.name = root.name;
    if (root.versionTag != null) model.versionTag = root.versionTag;
    if (definitions.targetNamespace) model.category = definitions.targetNamespace;
    if (resource) model.resource = resource;
    if (root.historyTimeToLive != null && /^\d+$/.test(String(root.historyTimeToLive))) {
      model.historyTimeToLive = Number(root.historyTimeToLive);
    }
    processes.push(model);
  }
  return { processes, warnings };
}
