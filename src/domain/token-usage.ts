/**
 * The token classes of one gateway call (SPEC §6) and the usage a settle carries into its `meter.changed`
 * event. Pure values: the gateway's doors read the classes, the customer's object validates them at its RPC
 * boundary, the meter records their sum and the event carries them as `data.usage`.
 */

/**
 * The token classes of one call: `input` (uncached), `cached_input` (cache reads), `cache_write` (cache
 * creation), `output` (reasoning included) and `reasoning` (reported apart, part of `output`).
 */
export interface TokenClasses {
  input: number;
  cached_input: number;
  cache_write: number;
  output: number;
  reasoning: number;
}

/** The class names, in the order events list them. */
export const TOKEN_CLASSES = ["input", "cached_input", "cache_write", "output", "reasoning"] as const;

/** The doors whose usage a settle may carry. */
export const GATEWAY_DOORS = ["openai", "anthropic"] as const;
export type GatewayDoor = (typeof GATEWAY_DOORS)[number];

/** The longest model name a settle's usage carries (longer than any provider's; the gateway cuts to it). */
export const MAX_MODEL_LENGTH = 256;

/** What the token meter records for a call's classes: their sum, reasoning counted once (inside `output`). */
export function classTotal(classes: TokenClasses): number {
  return classes.input + classes.cached_input + classes.cache_write + classes.output;
}

/**
 * The usage a gateway settle carries: the classes, the request's model and the door. `estimated`: the
 * upstream reported no classes, and they are the gateway's estimate (SPEC §11).
 */
export interface SettleUsage {
  classes: TokenClasses;
  model: string;
  door: GatewayDoor;
  estimated: boolean;
}

/** The `data.usage` of a settle's `meter.changed` event: the classes flat, `estimated: true` only when so. */
export function usageEventData(usage: SettleUsage): Record<string, unknown> {
  const { classes, model, door, estimated } = usage;
  return {
    input: classes.input,
    cached_input: classes.cached_input,
    cache_write: classes.cache_write,
    output: classes.output,
    reasoning: classes.reasoning,
    ...(estimated ? { estimated: true } : {}),
    model,
    door,
  };
}
