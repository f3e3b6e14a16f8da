// GOV.UK Frontend's components, as progressive enhancement: every page works without this.
import { initAll } from "/govuk/govuk-frontend.min.js";

initAll();

// A long list's select becomes GOV.UK's accessible autocomplete, its words in the page's
// language (data-* attributes, with {name} placeholders, set by the template).
const longLists = document.querySelectorAll('select[data-module="app-autocomplete"]');
if (longLists.length > 0) {
  await import("/autocomplete/accessible-autocomplete.min.js"); // sets self.accessibleAutocomplete
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, name) => String(values[name]));
  for (const select of longLists) {
    const words = select.dataset;
    self.accessibleAutocomplete.enhanceSelectElement({
      selectElement: select,
      defaultValue: "", // not the empty option's "Choose …": the chosen agency, if there is one
      tNoResults: () => words.noResults,
      tAssistiveHint: () => words.assistiveHint,
      tStatusQueryTooShort: (count) => fill(words.queryTooShort, { count }),
      tStatusNoResults: () => words.statusNoResults,
      tStatusSelectedOption: (option, total, index) =>
        fill(words.statusSelected, { option, position: index + 1, total }),
      tStatusResults: (count, selected) => `${fill(words.statusResults, { count })} ${selected}`,
    });
  }
}
