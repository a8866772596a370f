// Loaded as a module at the end of <body> on every page (hub/templates/hub/base.html): starts
// GOV.UK Frontend's components (the skip link, the error summary that takes focus, the service
// navigation's menu). initAll does nothing unless supported.js marked <body> first.
import { initAll } from "./dist/govuk-frontend.min.js";

initAll();
