/**
 * The /docs page's script (served as /docs/init.js): swagger-ui, from the page's own origin, reading
 * /openapi.json. No validator badge (it would call validator.swagger.io), no outside fetch.
 */
declare global {
  interface Window {
    SwaggerUIBundle?: (options: Record<string, unknown>) => unknown;
  }
}

const render = window.SwaggerUIBundle;
const root = document.getElementById("swagger-ui");
if (render !== undefined && root !== null) {
  render({
    url: "/openapi.json",
    domNode: root,
    validatorUrl: null,
    deepLinking: true,
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
} else if (root !== null) {
  root.textContent = "The API reference script did not load; the document itself is at /openapi.json.";
}

export {};
