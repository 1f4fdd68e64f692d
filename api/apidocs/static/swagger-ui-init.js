// Starts Swagger UI on /docs. A file of ours rather than an inline script, so that the page's policy can allow
// scripts from this server and nothing else (api/apidocs/page.py).
"use strict";

(function () {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    // No badge from validator.swagger.io, which would send it this document.
    validatorUrl: null,
    // A token pasted into "Authorize" stays in this tab's memory, never in localStorage.
    persistAuthorization: false,
    // ?url= and ?configUrl= in the address cannot point the page at another document.
    queryConfigEnabled: false,
  });
})();
