"use strict";
// Loaded at the very start of <body> on every page (hub/templates/hub/base.html). GOV.UK
// Frontend styles its scripted components, and its initAll runs them, only where <body> carries
// `govuk-frontend-supported`; GOV.UK's own template sets it with an inline script, which the
// hub's Content-Security-Policy forbids. Browsers that cannot run modules get the plain pages.
document.body.classList.add("js-enabled");
if ("noModule" in HTMLScriptElement.prototype) {
  document.body.classList.add("govuk-frontend-supported");
}
