/// A bad input, naming the field at fault (a dotted path such as `spec.tasks[2].name`).
public struct ValidationError: Error, Equatable, Sendable, CustomStringConvertible {
    public let field: String
    public let message: String

    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

extension Array where Element == ValidationError {
    /// Runs a check and keeps its error, so a document's validation reports every problem, not the first.
    public mutating func record(_ check: () throws(ValidationError) -> Void) {
        do { try check() } catch { append(error) }
    }
}
