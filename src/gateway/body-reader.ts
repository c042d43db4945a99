/** Reading bodies whole: the client's with a byte cap (SPEC §11: 16 MiB), the upstream's tolerating a cut. */

/** 16 MiB: the gateway's request body limit. */
export const GATEWAY_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** The whole body, or null when more than `limitBytes` arrive (declared or actually sent). */
export async function readCapped(
  stream: ReadableStream<Uint8Array> | null,
  declaredLength: string | null,
  limitBytes: number,
): Promise<Uint8Array | null> {
  if (Number(declaredLength ?? "0") > limitBytes) return null;
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limitBytes) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return concat(chunks, total);
}

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
  return { text: new TextDecoder().decode(concat(chunks, total)), complete };
}
