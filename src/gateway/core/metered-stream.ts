/**
 * A metered SSE stream: the upstream's bytes pass to the client chunk by chunk, unchanged and unbuffered,
 * while the door's StreamUsage reads a copy. `onEnd` runs exactly once: when the stream completes (`flush`),
 * or when it is cut short: the upstream dies (the pipe aborts the writable side) or the client goes away (the
 * readable side is cancelled). Both abnormal ends reach the transformer's `cancel` hook.
 */
import type { StreamUsage } from "./usage";

export type StreamEnd = "completed" | "interrupted";

/** Pipe `body` through the meter; answer the stream to give the client. */
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
  const transform = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      // The client's bytes first: metering never delays them.
      controller.enqueue(chunk);
      meter.pushBytes(chunk);
    },
    flush() {
      finish("completed");
    },
    cancel() {
      finish("interrupted");
    },
  });
  body.pipeTo(transform.writable).catch(() => finish("interrupted"));
  return transform.readable;
}
