import Foundation

/// `MAJOR.MINOR.PATCH` with an optional `-prerelease`, ordered as semver orders them.
public struct SemanticVersion: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public let major: Int
    public let minor: Int
    public let patch: Int
    public let prerelease: String?

    public init(parsing text: String, field: String = "version") throws(ValidationError) {
        let (core, prerelease) = Self.split(text)
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        let numbers = parts.compactMap { part -> Int? in
            guard !part.isEmpty, part.allSatisfy(\.isNumber), part == "0" || !part.hasPrefix("0") else { return nil }
            return Int(part)
        }
        guard parts.count == 3, numbers.count == 3,
            prerelease.map({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" } }) ?? true
        else {
            throw ValidationError(field: field, "\"\(text)\" is not a semantic version such as 1.0.0 or 2.1.0-beta.1")
        }
        (major, minor, patch) = (numbers[0], numbers[1], numbers[2])
        self.prerelease = prerelease
    }

    private static func split(_ text: String) -> (Substring, String?) {
        guard let dash = text.firstIndex(of: "-") else { return (Substring(text), nil) }
        return (text[..<dash], String(text[text.index(after: dash)...]))
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(parsing: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public var description: String { "\(major).\(minor).\(patch)" + (prerelease.map { "-" + $0 } ?? "") }

    public static func < (lhs: SemanticVersion, rhs: SemanticVersion) -> Bool {
        if (lhs.major, lhs.minor, lhs.patch) != (rhs.major, rhs.minor, rhs.patch) {
            return (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
        }
        switch (lhs.prerelease, rhs.prerelease) {
        case (nil, nil): return false
        case (.some, nil): return true
        case (nil, .some): return false
        case (.some(let a), .some(let b)): return a.compare(b, options: .numeric) == .orderedAscending
        }
    }
}
