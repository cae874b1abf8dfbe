// samples.js - the sample processes shipped with the page (web/samples/).
// Each uses only what bindings/bpmn.js and the engine support.

/** @type {readonly {file: string, label: string}[]} */
export const SAMPLES = Object.freeze([
  { file: 'samples/invoice.bpmn', label: 'Invoice: one external task' },
  { file: 'samples/order-fulfilment.bpmn', label: 'Order: async job, parallel external tasks' },
  { file: 'samples/reminder.bpmn', label: 'Reminder: external task, timer, async job' },
  { file: 'samples/invoice-v2.bpmn', label: 'Invoice v2: charge, then receipt' },
]);
