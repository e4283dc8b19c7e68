// A pipeline's run-time parameters in the portal, without the DOM: declared as `name=default` lines in the editor
// (descriptions kept by name), and the values a run is started with.

/** The declarations as lines: `name=default`, or `name` alone for one the run must give. */
export function parametersText(declared = []) {
  return declared.map((parameter) => (parameter.default === undefined || parameter.default === null ? parameter.name : `${parameter.name}=${parameter.default}`)).join("\n");
}

/** Lines back to declarations; a name declared before keeps its description. Undefined when there are none. */
export function parametersFromText(text, previous = []) {
  const descriptions = Object.fromEntries(previous.filter((parameter) => parameter.description).map((parameter) => [parameter.name, parameter.description]));
  const declared = text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const at = line.indexOf("=");
      const parameter = { name: (at < 0 ? line : line.slice(0, at)).trim() };
      if (at >= 0) parameter.default = line.slice(at + 1);
      if (descriptions[parameter.name]) parameter.description = descriptions[parameter.name];
      return parameter;
    });
  return declared.length ? declared : undefined;
}

/**
 * What a run is started with: each value typed that is not its parameter's default (a parameter without a default
 * is always sent, empty or not, so the server can name it when it is missing).
 */
export function runValues(declared = [], typed = {}) {
  const values = {};
  for (const parameter of declared) {
    const value = typed[parameter.name];
    const hasDefault = parameter.default !== undefined && parameter.default !== null;
    if (!hasDefault && value !== undefined && value !== "") values[parameter.name] = value;
    else if (hasDefault && value !== undefined && value !== String(parameter.default)) values[parameter.name] = value;
  }
  return values;
}
