// Example job handlers for `rebatch serve --handlers examples/handlers.mjs`
// (and createEngine({ handlers }) in the JS API). Each export runs the jobs
// of the activities that name it: camunda:delegateExpression="${chargeCard}"
// runs chargeCard.
//
// chargeCard stands for a call to a payment service: it takes
// PAYMENT_DELAY_MS (default 300) and fails while the file PAYMENT_DOWN_FILE
// (default ./payment-down) exists, so `touch payment-down` makes the
// payments fail and `rm payment-down` mends them.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const flag = process.env.PAYMENT_DOWN_FILE ?? 'payment-down';
const delayMs = Number(process.env.PAYMENT_DELAY_MS ?? 300);

export async function chargeCard(job) {
  await sleep(delayMs);
  if (existsSync(flag)) {
    throw new Error(`payment service unavailable (instance ${job.processInstanceId})`);
  }
}

// camunda:class="com.example.SendReceipt" runs this one (synchronous).
export function SendReceipt() {}
