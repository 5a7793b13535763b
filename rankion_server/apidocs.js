// The /docs page: Swagger UI over this server's own OpenAPI document.
// Served from /docs/assets/ (no inline script, so the page's CSP can forbid them).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "v1/openapi.json", // relative: the API may be mounted under a prefix
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
