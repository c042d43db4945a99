/**
 * The usage a gateway settle carries (SPEC §6), checked where it crosses the RPC boundary: each token class a
 * finite number ≥ 0, a model name, a known door. What passes is copied field by field, so nothing else a
 * caller sent reaches the event log.
 */
import {
  GATEWAY_DOORS,
  MAX_MODEL_LENGTH,
  type SettleUsage,
  TOKEN_CLASSES,
  type TokenClasses,
} from "../../domain/token-usage";
import { fail } from "../../errors/catalogue";
import { ok, type Result } from "../contract";

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);

const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value) && value >= 0;

function invalid(message: string) {
  return fail("invalid_request", `usage: ${message}`);
}

/** A settle's `usage` as sent (absent, null or a SettleUsage), validated and copied; `400` otherwise. */
export function readSettleUsage(value: unknown): Result<SettleUsage | null> {
  if (value === undefined || value === null) return ok(null);
  if (!isRecord(value) || !isRecord(value.classes)) return invalid("must be an object with classes");
  const classes = {} as TokenClasses;
  for (const name of TOKEN_CLASSES) {
    const count = value.classes[name];
    if (!isCount(count)) return invalid(`${name} must be a finite number ≥ 0`);
    classes[name] = count;
  }
  if (classes.reasoning > classes.output) return invalid("reasoning is part of output: it cannot exceed it");
  const { model, door, estimated } = value;
  if (typeof model !== "string" || model.length > MAX_MODEL_LENGTH)
    return invalid(`model must be a string of at most ${MAX_MODEL_LENGTH} characters`);
  if (!GATEWAY_DOORS.some((known) => known === door))
    return invalid(`door must be one of ${GATEWAY_DOORS.join(", ")}`);
  if (typeof estimated !== "boolean") return invalid("estimated must be true or false");
  return ok({ classes, model, door: door as SettleUsage["door"], estimated });
}
