/// The types a template parameter can have (cube-studio's set, `date`/`datetime` aside).
public enum ParameterType: String, Codable, Sendable, CaseIterable {
    case str, text, int, float, bool
    /// One of `choices`.
    case `enum`
    /// Several of `choices`.
    case multiple
    /// A list of `itemType` values (of `params`-shaped objects when `itemType` is dict).
    case list
    /// Any JSON value.
    case json
    /// An object shaped by `params`.
    case dict
    /// A file path.
    case file
}

/// One parameter a task fills in: its type, how the editor shows it, and the rules its value follows.
public struct Parameter: Codable, Sendable, Equatable {
    public var name: String
    public var type: ParameterType
    public var label: String?
    public var required: Bool?
    public var `default`: JSONValue?
    /// The allowed values of `enum` and `multiple`.
    public var choices: [JSONValue]?
    /// `[min, max]` for `int` and `float`.
    public var range: [Double]?
    /// A pattern the whole value must match (string-like types).
    public var regex: String?
    public var placeholder: String?
    public var help: String?
    /// False: the editor shows the value but does not let it be changed (the default applies).
    public var editable: Bool?
    /// Show the field only when another parameter has a value: `mode == slow`, `mode != fast` or `verbose`.
    public var showIf: String?
    /// The element type of `list`, `enum` and `multiple` (str when absent).
    public var itemType: ParameterType?
    /// The fields of a `dict` (and of each element of a `list` of dicts).
    public var params: [Parameter]?

    public init(
        name: String, type: ParameterType, label: String? = nil, required: Bool? = nil, default: JSONValue? = nil,
        choices: [JSONValue]? = nil, range: [Double]? = nil, regex: String? = nil, placeholder: String? = nil,
        help: String? = nil, editable: Bool? = nil, showIf: String? = nil, itemType: ParameterType? = nil,
        params: [Parameter]? = nil
    ) {
        self.name = name
        self.type = type
        self.label = label
        self.required = required
        self.default = `default`
        self.choices = choices
        self.range = range
        self.regex = regex
        self.placeholder = placeholder
        self.help = help
        self.editable = editable
        self.showIf = showIf
        self.itemType = itemType
        self.params = params
    }

    var isRequired: Bool { required ?? false }
}

/// A titled group of parameters, in display order.
public struct ParameterGroup: Codable, Sendable, Equatable {
    public var group: String
    public var params: [Parameter]

    public init(group: String, params: [Parameter]) {
        self.group = group
        self.params = params
    }
}
