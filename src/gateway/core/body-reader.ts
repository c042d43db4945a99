/** Reading upstream bodies whole, tolerating a cut; the 16 MiB client limit (SPEC §11). */

import { concatBytes } from "../../lib/read-capped";

/** 16 MiB: the gateway's request body limit. */
export const GATEWAY_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

/** An upstream body read to its end, or as far as it got when the connection died (`complete: false`). */
export async function readUpstream(
  stream: ReadableStream<Uint8Array> | null,
): Promise<{ text: string; complete: boolean }> {
  if (stream === null) return { text: "", complete: true };
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let complete = true;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } catch {
    complete = false;
  }
  return { text: new TextDecoder().decode(concatBytes(chunks, total)), complete };
}
