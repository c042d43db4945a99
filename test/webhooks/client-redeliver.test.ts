/**
 * `tollgate/client` redelivers an event (SPEC §7, §13.3): with webhooks on, a failed event is queued again
 * through the client, keeps its id, and is then delivered. A real receiver on 127.0.0.1 answers.
 */
import { beforeAll, expect, it } from "vitest";
import { TEST_POLICY, unique } from "../support/api";
import { gateClient, valueIn } from "../support/client";
import { answer, drainOutbox } from "../support/webhook-control";

const client = gateClient();

beforeAll(async () => {
  valueIn(await client.putPolicy(TEST_POLICY));
});

it("redeliverEvent queues a failed event again; it is then delivered with the same id", async () => {
  const id = unique("client_redeliver");
  await answer(id, 400, { seq: 1, times: 1 }); // the receiver refuses customer.created once, for good
  await answer(id, 200);
  valueIn(await client.upsertCustomer(id, {}));
  const [created] = await drainOutbox(id);
  expect(created.delivery.status).toBe("failed");

  const queued = valueIn(await client.redeliverEvent(id, 1));
  expect(queued).toMatchObject({ id: created.id, seq: 1, type: "customer.created" });
  expect(queued.delivery).toMatchObject({ status: "pending", attempts: 0, lastError: null });

  await drainOutbox(id);
  const page = valueIn(await client.listEvents(id));
  expect(page.events[0]?.delivery).toMatchObject({ status: "delivered", attempts: 1 });
  expect(page.events[0]?.id).toBe(created.id);
});
