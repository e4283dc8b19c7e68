/// Renders text with template variables, and checks it before a run exists.
public enum VariableRenderer {
    /// The names every run's context has, besides the pipeline's env keys.
    public static let runNames: Set<String> = [
        "creator", "runner", "pipeline_id", "pipeline_name", "project", "cluster_name", "run_id", "execution_date", "ds",
        "ds_nodash", "ts", "ts_nodash", "prev_ds", "next_ds",
    ]

    /// `text` with every `{{ … }}` replaced by its value's `str()`; errors name `field` and the column.
    public static func render(_ text: String, field: String, context: VariableContext) throws(VariableError) -> String {
        do throws(VariableError) {
            let template = try TemplateText(parsing: text)
            var output = ""
            for part in template.parts {
                switch part {
                case .literal(let literal): output += literal
                case .expression(let source, let column):
                    let expression = try ExpressionParser.parse(source, column: column)
                    var evaluator = Evaluator(context: context, source: source)
                    let value = try evaluator.defined(try evaluator.evaluate(expression), column: column, of: expression)
                    output += value.text
                }
                guard output.utf8.count <= Evaluator.maximumLength else {
                    throw VariableError(
                        column: 1, expression: String(text.prefix(40)), "the rendered text is longer than \(Evaluator.maximumLength) bytes")
                }
            }
            return output
        } catch var error {
            error.field = field
            throw error
        }
    }

    /// Syntax errors and unknown names in `text` (a name used only through `| default(…)` is fine), before any run;
    /// with `parameters` (the pipeline's declared ones), `params` is known and each `params.NAME` must be one of them.
    public static func problems(in text: String, field: String, known: Set<String>, parameters: Set<String>? = nil) -> [VariableError] {
        let known = parameters == nil ? known : known.union(["params"])
        var problems: [VariableError] = []
        do throws(VariableError) {
            for case .expression(let source, let column) in try TemplateText(parsing: text).parts {
                do throws(VariableError) {
                    let expression = try ExpressionParser.parse(source, column: column)
                    let guarded = known.union(VariableContext.globals.keys).union(expression.definednessTested)
                    for (name, at) in unknownNames(expression, known: guarded) {
                        problems.append(VariableError(field: field, column: at, expression: source, "unknown name \"\(name)\""))
                    }
                    for (name, at) in expression.tests where !Evaluator.testNames.contains(name) {
                        problems.append(VariableError(field: field, column: at, expression: source, "no test named \"\(name)\""))
                    }
                    for (name, at) in expression.parameterReferences where parameters.map({ !$0.contains(name) }) ?? false {
                        problems.append(
                            VariableError(
                                field: field, column: at, expression: source,
                                "unknown parameter \"\(name)\" (declare it in spec.parameters)"))
                    }
                } catch var error {
                    error.field = field
                    problems.append(error)
                }
            }
        } catch var error {
            error.field = field
            problems.append(error)
        }
        return problems
    }

    static func unknownNames(_ expression: Expression, known: Set<String>) -> [(String, Int)] {
        switch expression {
        case .filter(.name, "default", let arguments, let keywords, _):
            return (arguments + keywords.map(\.1)).flatMap { unknownNames($0, known: known) }
        // `x is defined` asks whether there is an x.
        case .test(_, "defined", _, _, _), .test(_, "undefined", _, _, _): return []
        case .name(let name, let column): return known.contains(name) ? [] : [(name, column)]
        default: return expression.children.flatMap { unknownNames($0, known: known) }
        }
    }
}
