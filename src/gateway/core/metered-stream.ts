/**
 * A metered SSE stream: the upstream's bytes pass to the client chunk by chunk, unchanged and unbuffered,
 * while the door's StreamUsage reads a copy. `onEnd` runs exactly once: when the stream completes, or when it
 * is cut short: the upstream dies (its read fails) or the client goes away (the stream is cancelled).
 *
 * A pull source over the upstream's reader, not a TransformStream piped from the upstream: each chunk costs one
 * read and one enqueue, where a pipe through a transform costs a write, a transform and a read, each a turn
 * of the runtime's stream machinery (measured: about 1.5 ms more over a mock completion's eight chunks, and
 * 0.1 ms more to the first byte). Nothing is read ahead of the client (`highWaterMark: 0`), as before.
 */
import type { StreamUsage } from "./usage";

export type StreamEnd = "completed" | "interrupted";

/** Read `body` through the meter; answer the stream to give the client. */
export function meterStream(
  body: ReadableStream<Uint8Array>,
  meter: StreamUsage,
  onEnd: (end: StreamEnd) => void,
): ReadableStream<Uint8Array> {
  let ended = false;
  const finish = (end: StreamEnd) => {
    if (ended) return;
    ended = true;
    meter.end();
    onEnd(end);
  };
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (error) {
          finish("interrupted");
          controller.error(error);
          return;
        }
        if (next.done) {
          finish("completed");
          controller.close();
          return;
        }
        // The client's bytes first: metering never delays them.
        controller.enqueue(next.value);
        meter.pushBytes(next.value);
      },
      cancel(reason) {
        finish("interrupted");
        return reader.cancel(reason).catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
