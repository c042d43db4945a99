/** The dashboard's views live in the URL's hash, so `/dashboard` is one static file and a reload keeps the view. */
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { view: "customers"; params: URLSearchParams }
  | { view: "customer"; id: string }
  | { view: "policy" }
  | { view: "usage" };

export function parseRoute(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter((part) => part !== "");
  if (parts[0] === "customers" && parts[1] !== undefined)
    return { view: "customer", id: decodeURIComponent(parts[1]) };
  if (parts[0] === "policy") return { view: "policy" };
  if (parts[0] === "usage") return { view: "usage" };
  return { view: "customers", params: new URLSearchParams(search) };
}

export const customerHref = (id: string): string => `#/customers/${encodeURIComponent(id)}`;

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}
