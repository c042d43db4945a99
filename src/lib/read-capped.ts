/** Reading a request body whole with a byte cap, whatever Content-Length claims (admin API and gateway). */

/** The bytes of `chunks` as one array. */
export function concatBytes(chunks: Uint8Array[], total: number): Uint8Array {
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
  return concatBytes(chunks, total);
}
