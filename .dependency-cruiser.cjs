/**
 * The layering of src/ (STYLE.md "Layout: dependencies point inward"), checked by `npm run lint`.
 * Type-only imports count: a layer that names another's types depends on it.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "No import cycles anywhere in src/.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "domain-is-pure",
      severity: "error",
      comment: "src/domain imports only itself: no cloudflare:*, hono, zod or other layers.",
      from: { path: "^src/domain/" },
      to: { pathNot: "^src/domain/" },
    },
    {
      name: "policy-over-domain",
      severity: "error",
      comment: "src/policy builds on src/domain only (and the catalogue and lib helpers).",
      from: { path: "^src/policy/" },
      to: { path: "^src/", pathNot: "^src/(policy|domain|errors|lib)/" },
    },
    {
      name: "errors-import-nothing",
      severity: "error",
      comment: "The error catalogue is a leaf: every layer may use it.",
      from: { path: "^src/errors/" },
      to: { pathNot: "^src/errors/" },
    },
    {
      name: "lib-imports-nothing-up",
      severity: "error",
      comment: "src/lib holds small helpers for the edges; it imports no layer of its own.",
      from: { path: "^src/lib/" },
      to: { path: "^src/", pathNot: "^src/lib/" },
    },
    {
      name: "only-the-entry-imports-http",
      severity: "error",
      comment:
        "src/http is the admin edge: only src/index.ts mounts it (src/client names its schemas' types, see below).",
      from: { path: "^src/", pathNot: "^src/(http/|client/|index\\.ts$)" },
      to: { path: "^src/http/" },
    },
    {
      name: "only-the-entry-imports-rpc",
      severity: "error",
      comment: "src/rpc is the Workers RPC edge (TollgateRpc): only src/index.ts exports it.",
      from: { path: "^src/", pathNot: "^src/(rpc/|index\\.ts$)" },
      to: { path: "^src/rpc/" },
    },
    {
      name: "rpc-imports-no-other-edge",
      severity: "error",
      comment:
        "The RPC edge shares src/services and src/lib with the admin API, never an edge's own modules.",
      from: { path: "^src/rpc/" },
      to: { path: "^src/(http|gateway)/" },
    },
    {
      name: "services-below-the-edges",
      severity: "error",
      comment:
        "src/services holds what the admin API and the RPC edge share (schemas, the metering service): no transport.",
      from: { path: "^src/services/" },
      to: { path: "^src/(http|gateway|rpc)/" },
    },
    {
      name: "client-imports-types-only",
      severity: "error",
      comment:
        "src/client (`tollgate/client`) runs in a browser, Node or a Worker: at runtime it imports nothing outside itself (no zod, Hono, cloudflare:* or other layer); `import type` only.",
      from: { path: "^src/client/" },
      to: { pathNot: "^src/client/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "client-types-from-the-schemas",
      severity: "error",
      comment:
        "The client's types derive from the zod schemas the routes validate with (and the catalogue's codes), never from other modules.",
      from: { path: "^src/client/" },
      to: {
        pathNot:
          "^src/(client/|errors/catalogue\\.ts$|services/request-schemas\\.ts$|http/(schemas|customer-schemas|analytics-schemas)\\.ts$|http/routes/[^/]+\\.ts$)|(^|/)node_modules/zod/",
      },
    },
    {
      name: "nothing-imports-the-client",
      severity: "error",
      comment: "src/client is the API's outside: the Worker never calls itself through it.",
      from: { path: "^src/", pathNot: "^src/client/" },
      to: { path: "^src/client/" },
    },
    {
      name: "gateway-not-http",
      severity: "error",
      comment: "The two edges share src/lib, never each other.",
      from: { path: "^src/gateway/" },
      to: { path: "^src/http/" },
    },
    {
      name: "http-not-gateway",
      severity: "error",
      comment: "The two edges share src/lib, never each other.",
      from: { path: "^src/http/" },
      to: { path: "^src/gateway/" },
    },
    {
      name: "gateway-core-imports-no-door",
      severity: "error",
      comment: "The gateway core is handed a door and never imports one: a second door is an adapter.",
      from: { path: "^src/gateway/core/" },
      to: { path: "^src/gateway/", pathNot: "^src/gateway/core/" },
    },
    {
      name: "gateway-doors-are-independent",
      severity: "error",
      comment: "A door (src/gateway/<door>/) builds on the core only, never on another door or the app.",
      from: { path: "^src/gateway/([^/]+)/", pathNot: "^src/gateway/core/" },
      to: { path: "^src/gateway/", pathNot: "^src/gateway/(core|$1)/" },
    },
    {
      name: "objects-below-the-edges",
      severity: "error",
      comment: "Durable Objects never reach up into an edge or the services the edges share.",
      from: { path: "^src/objects/" },
      to: { path: "^src/(http|gateway|rpc|services)/" },
    },
    {
      name: "analytics-below-objects",
      comment:
        "src/analytics is the D1 read model (projection writes, listing and usage queries): objects write through it, http reads through it; it builds on domain, errors and lib only.",
      severity: "error",
      from: { path: "^src/analytics/" },
      to: { path: "^src/", pathNot: "^src/(analytics|domain|errors|lib)/" },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "An import that resolves to nothing is a typo or a missing package.",
      from: { path: "^src/" },
      to: { couldNotResolve: true, pathNot: "^cloudflare:" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
    },
  },
};
