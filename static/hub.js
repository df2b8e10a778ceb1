// One rule for the whole app: a refused input (400 bad input, 409 conflict, 422 unprocessable)
// comes back as the form with its errors, and htmx swaps it into the target like a 200. By
// default htmx drops every 4xx body, so a refusal would be silent. Other errors (403, 404, 5xx)
// keep htmx's default: their pages are not fragments of the screen.
(function () {
  "use strict";
  const SHOWN = new Set([400, 409, 422]);
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (SHOWN.has(event.detail.xhr.status)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
