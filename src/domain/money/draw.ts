/**
 * Grant selection and draw-down (SPEC §12.3): grants in the metered credit first, then the others by
 * `exchange.grant_strategy`; each covers metered units from the current billable position onward.
 */
import { type Cover, coverOf, unitValue } from "./exchange";
import { EPSILON } from "./numbers";
import type { CompiledExchange, Grant, RuneRoute } from "./types";

/** A grant that can cover the metered credit, with its conversion. */
export interface UsableGrant {
  grant: Grant;
  cover: Cover;
}

/** What one grant gives up for a call: `units` metered units, `lost` of its own balance. */
export interface Draw {
  grantId: string;
  units: number;
  lost: number;
}

/** The owner's grants that may cover `metered`, in the order they are drawn. */
export function usableGrants(
  grants: readonly Grant[],
  metered: string,
  routes: ReadonlyMap<string, RuneRoute>,
  exchange: CompiledExchange,
): UsableGrant[] {
  const usable: (UsableGrant & { value: number })[] = [];
  for (const grant of grants) {
    if (grant.balance <= EPSILON) continue;
    const cover = coverOf(routes, exchange, metered, grant.credit);
    if (cover !== null) usable.push({ grant, cover, value: unitValue(routes.get(grant.credit)) });
  }
  const strategy = exchange.grantStrategy;
  usable.sort((a, b) => {
    const own = Number(b.grant.credit === metered) - Number(a.grant.credit === metered);
    if (own !== 0) return own;
    if (strategy === "cheapest_first" && a.value !== b.value) return a.value - b.value;
    if (strategy === "valuable_first" && a.value !== b.value) return b.value - a.value;
    const ea = a.grant.expiresAt ?? Number.POSITIVE_INFINITY;
    const eb = b.grant.expiresAt ?? Number.POSITIVE_INFINITY;
    if (ea !== eb) return ea < eb ? -1 : 1;
    if (a.grant.createdAt !== b.grant.createdAt) return a.grant.createdAt - b.grant.createdAt;
    return a.grant.id < b.grant.id ? -1 : a.grant.id > b.grant.id ? 1 : 0;
  });
  return usable.map(({ grant, cover }) => ({ grant, cover }));
}

/**
 * Cover up to `need` metered units starting at billable `position`, grant by grant, without changing anything:
 * how much was covered and what each grant would give up. No grant gives up more than its balance.
 */
export function planDraws(
  usable: readonly UsableGrant[],
  position: number,
  need: number,
): { covered: number; draws: Draw[] } {
  const draws: Draw[] = [];
  let covered = 0;
  for (const { grant, cover } of usable) {
    const left = need - covered;
    if (left <= EPSILON) break;
    const reach = cover.reach(position + covered, grant.balance);
    const units = reach + EPSILON >= left ? left : reach;
    if (units <= 0) continue;
    const lost = Math.min(grant.balance, cover.cost(position + covered, units));
    draws.push({ grantId: grant.id, units, lost });
    covered += units;
  }
  return { covered: need - covered <= EPSILON ? need : covered, draws };
}

/** The most metered units the usable grants cover from `position` (`grantRemaining`). */
export function coverable(usable: readonly UsableGrant[], position: number): number {
  let total = 0;
  for (const { grant, cover } of usable) total += cover.reach(position + total, grant.balance);
  return total;
}

/** The grants after the draws: balances lowered, never below 0; drained grants that do not reset removed. */
export function applyDraws(grants: readonly Grant[], draws: readonly Draw[]): Grant[] {
  if (draws.length === 0) return [...grants];
  const lost = new Map(draws.map((draw) => [draw.grantId, draw.lost]));
  const next: Grant[] = [];
  for (const grant of grants) {
    const take = lost.get(grant.id);
    if (take === undefined) {
      next.push(grant);
      continue;
    }
    const balance = Math.max(0, grant.balance - take);
    if (!grant.resets && balance <= EPSILON) continue;
    next.push({ ...grant, balance: balance <= EPSILON ? 0 : balance });
  }
  return next;
}
