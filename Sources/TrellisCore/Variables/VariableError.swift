/// A template-variable problem, naming the field, the column (from 1, in the field's text) and the expression.
public struct VariableError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public let column: Int
    public let expression: String
    public let message: String

    public init(field: String = "", column: Int, expression: String, _ message: String) {
        self.field = field
        self.column = column
        self.expression = expression
        self.message = message
    }

    public var description: String {
        let place = field.isEmpty ? "column \(column)" : "\(field), column \(column)"
        return "\(place): \(message) in {{ \(expression.trimmingCharacters(in: .whitespaces)) }}"
    }

    /// As a validation error of `field`.
    public var validationError: ValidationError {
        ValidationError(field: field, "column \(column): \(message) in {{ \(expression.trimmingCharacters(in: .whitespaces)) }}")
    }
}
