"use strict";
// Starts ReDoc (hub/templates/drf_spectacular/redoc.html) without inline script: the schema's
// address comes from this script's data-spec-url, and the page's CSP nonce from this script's
// own nonce (browsers hide nonce attributes from the DOM, so ReDoc cannot read one from its
// element), for ReDoc to put on the <style> elements it creates (hub.docs).
(function () {
  const script = document.currentScript;
  Redoc.init(
    script.dataset.specUrl,
    { nonce: script.nonce },
    document.getElementById("redoc-container"),
  );
})();
