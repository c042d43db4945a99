/**
 * The Content-Security-Policy of the pages Tollgate serves (SPEC §13.2): everything from this origin only, no
 * inline script, no eval, no framing. The dashboard keeps inline styles out too; the `/docs` page allows them,
 * because swagger-ui writes `style` attributes into its markup. Nothing else is ever loosened.
 */
export function contentSecurityPolicy(options: { inlineStyles: boolean }): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    options.inlineStyles ? "style-src 'self' 'unsafe-inline'" : "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}
