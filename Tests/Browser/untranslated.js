// The portal's own words still in English while another language is chosen: text, placeholders, titles and accessible
// names holding two English words in a row. What users and the server wrote is marked `translate="no"` (names,
// descriptions, template labels, server messages, reasons) and left out, as are code, logs, and task and template
// names drawn on the canvas. Returns what was found.
const english = /[A-Za-z]{2,}[ '’][A-Za-z]{2,}/;
const notOurs = "[translate=no], code, pre, script, style, noscript, .node-name, .node-template";
const found = new Set();
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const element = node.parentElement;
  if (!element || element.closest(`${notOurs}, textarea`)) continue;
  const text = node.textContent.trim();
  if (english.test(text)) found.add(`${element.tagName.toLowerCase()}: ${text.slice(0, 120)}`);
}
for (const element of document.querySelectorAll("[placeholder], [title], [aria-label]")) {
  if (element.closest(notOurs)) continue;
  for (const name of ["placeholder", "title", "aria-label"]) {
    const value = element.getAttribute(name);
    if (value && english.test(value)) found.add(`${element.tagName.toLowerCase()}[${name}]: ${value.slice(0, 120)}`);
  }
}
return [...found];
