// GOV.UK Frontend's components, as progressive enhancement: every page works without this.
import { initAll } from "/govuk/govuk-frontend.min.js";

initAll();
