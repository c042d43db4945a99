/** A customer's recent events with their delivery state (SPEC §7) and read-model feed (§13.1), and redeliver. */
import { useState } from "preact/hooks";
import { ApiFailure, call, enc, query } from "../api";
import { Empty, ErrorBox, Section } from "../common";
import { time } from "../format";
import type { EventPage, EventView } from "../types";
import { useApi } from "../use-api";

const SHOWN = 50;
const PAGE = 1000;
/** The log is paged oldest first; at most this many pages are read to find its end. */
const MAX_PAGES = 20;

/** The last `SHOWN` events, newest first. */
async function recentEvents(id: string): Promise<EventView[]> {
  let after = 0;
  let kept: EventView[] = [];
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await call<EventPage>(
      "GET",
      `/v1/customers/${enc(id)}/events${query({ after, limit: PAGE })}`,
    );
    kept = [...kept, ...answer.events].slice(-SHOWN);
    if (answer.next === null || answer.events.length === 0) break;
    after = answer.next;
  }
  return kept.reverse();
}

function projected(event: EventView): string {
  if (event.projected === undefined) return "—";
  return event.projected ? "yes" : "no";
}

export function EventsPanel({ id }: { id: string }) {
  const events = useApi(() => recentEvents(id), [id]);
  // Redelivered events as the API answered them, shown until the next refresh.
  const [changed, setChanged] = useState<Record<number, EventView>>({});
  const [failure, setFailure] = useState<ApiFailure>();
  const redeliver = async (seq: number) => {
    setFailure(undefined);
    try {
      const event = await call<EventView>("POST", `/v1/customers/${enc(id)}/events/${seq}/redeliver`, {
        body: {},
      });
      setChanged((previous) => ({ ...previous, [seq]: event }));
    } catch (error) {
      if (error instanceof ApiFailure) setFailure(error);
    }
  };
  const refresh = () => {
    setChanged({});
    events.reload();
  };
  const rows = (events.data ?? []).map((event) => changed[event.seq] ?? event);
  return (
    <Section title="Recent events" testid="events">
      <div class="toolbar">
        <button type="button" onClick={refresh} data-testid="events-refresh">
          Refresh
        </button>
        <span class="muted">newest first, the last {SHOWN}</span>
      </div>
      <ErrorBox error={events.error ?? failure} />
      {rows.length === 0 && !events.loading ? (
        <Empty>No events.</Empty>
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th>seq</th>
              <th>at</th>
              <th>type</th>
              <th>entitlement</th>
              <th>delivery</th>
              <th>attempts</th>
              <th>last error</th>
              <th>projected</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((event) => (
              <tr key={event.seq} data-seq={event.seq} data-type={event.type}>
                <td>{event.seq}</td>
                <td>{time(event.at)}</td>
                <td>{event.type}</td>
                <td>{event.entitlement ?? ""}</td>
                <td>
                  <span class={`status status-${event.delivery.status}`} data-field="delivery">
                    {event.delivery.status}
                  </span>
                </td>
                <td data-field="attempts">{event.delivery.attempts}</td>
                <td class="wrap">{event.delivery.lastError ?? ""}</td>
                <td data-field="projected">{projected(event)}</td>
                <td>
                  {event.delivery.status === "failed" && (
                    <button type="button" onClick={() => redeliver(event.seq)}>
                      Redeliver
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}
