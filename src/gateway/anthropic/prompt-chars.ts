/**
 * The Anthropic door's prompt characters (SPEC §6, §11): the text of `system` (a string or text blocks) and of
 * `messages` (string content, or blocks: `text`, `thinking`, `tool_use` names and inputs as JSON text,
 * `tool_result` and `search_result` content, text documents). What has no text is counted by a fixed
 * estimate: an image, or a PDF / URL document, counts as `ATTACHMENT_TOKENS` tokens whatever its size (the
 * settle corrects the reservation from the upstream's count). `tools` definitions are not counted.
 */
import { CHARS_PER_TOKEN, countChars } from "../core/chars";
import type { MeteredEndpoint } from "./endpoints";

/**
 * Tokens one image or one non-text document is reserved as: Anthropic's largest image before downscaling
 * (about 1.15 megapixels) costs about 1,600 tokens; a PDF page about as much.
 */
export const ATTACHMENT_TOKENS = 1600;
const ATTACHMENT_CHARS = ATTACHMENT_TOKENS * CHARS_PER_TOKEN;
// Content nested deeper than this (tool results inside tool results) is not a real prompt.
const MAX_DEPTH = 8;

type Json = Record<string, unknown>;
const isRecord = (value: unknown): value is Json =>
  value !== null && typeof value === "object" && !Array.isArray(value);
const stringChars = (value: unknown): number => (typeof value === "string" ? countChars(value) : 0);

/** Characters of JSON text: a tool's input as the model reads it. */
function jsonChars(value: unknown): number {
  if (value === undefined) return 0;
  try {
    return countChars(JSON.stringify(value) ?? "");
  } catch {
    return 0;
  }
}

/** A `content` field: a string, or an array of blocks. */
function contentChars(content: unknown, depth: number): number {
  if (typeof content === "string") return countChars(content);
  if (!Array.isArray(content) || depth >= MAX_DEPTH) return 0;
  let total = 0;
  for (const block of content) total += blockChars(block, depth + 1);
  return total;
}

function documentChars(block: Json, depth: number): number {
  const source = isRecord(block.source) ? block.source : {};
  const text =
    source.type === "text"
      ? stringChars(source.data)
      : source.type === "content"
        ? contentChars(source.content, depth)
        : ATTACHMENT_CHARS;
  return text + stringChars(block.title) + stringChars(block.context);
}

/** One content block. */
function blockChars(block: unknown, depth: number): number {
  if (!isRecord(block)) return 0;
  switch (block.type) {
    case "text":
      return stringChars(block.text);
    case "thinking":
      return stringChars(block.thinking);
    case "image":
      return ATTACHMENT_CHARS;
    case "document":
      return documentChars(block, depth);
    case "tool_use":
    case "server_tool_use":
    case "mcp_tool_use":
      return stringChars(block.name) + jsonChars(block.input);
    case "tool_result":
    case "mcp_tool_result":
    case "web_search_tool_result":
      return contentChars(block.content, depth);
    case "search_result":
      return stringChars(block.title) + contentChars(block.content, depth);
    default:
      // redacted thinking (opaque), container uploads and blocks this door does not know: no text to count.
      return 0;
  }
}

/** The prompt characters of a parsed request body for one metered endpoint. */
export function promptChars(_endpoint: MeteredEndpoint, body: Record<string, unknown>): number {
  let total = contentChars(body.system, 0);
  if (Array.isArray(body.messages)) {
    for (const message of body.messages) if (isRecord(message)) total += contentChars(message.content, 0);
  }
  return total;
}
