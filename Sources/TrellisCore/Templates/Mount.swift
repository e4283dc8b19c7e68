/// A volume a task mounts, in cube-studio's form `source(kind):/container/path`.
public struct Mount: Sendable, Equatable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// A PVC, mounted at `path/<username>` from the sub-path `<username>`: each user sees their own folder.
        case pvc
        /// A whole PVC, shared by everyone.
        case pvcShare = "pvc-share"
        case hostpath
        /// `server/export/path`.
        case nfs
        case configmap
        case secret
        /// An in-memory scratch folder; the source is its size limit (`10G`).
        case memory
    }

    public let source: String
    public let kind: Kind
    public let path: String

    public init(source: String, kind: Kind, path: String) {
        self.source = source
        self.kind = kind
        self.path = path
    }

    /// Parses `source(kind):/path`, naming the field and what is wrong.
    public init(parsing text: String, field: String) throws(ValidationError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let open = trimmed.firstIndex(of: "("), let close = trimmed[open...].firstIndex(of: ")"),
            trimmed[trimmed.index(after: close)...].hasPrefix(":")
        else {
            throw ValidationError(field: field, "\"\(text)\" must be source(kind):/container/path")
        }
        let source = String(trimmed[..<open])
        let kindName = String(trimmed[trimmed.index(after: open)..<close])
        let path = String(trimmed[trimmed.index(close, offsetBy: 2)...])
        guard let kind = Kind(rawValue: kindName) else {
            throw ValidationError(
                field: field, "unknown mount kind \"\(kindName)\"; known: \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard !source.isEmpty else { throw ValidationError(field: field, "\"\(text)\" has no source before (\(kindName))") }
        guard path.hasPrefix("/"), path.count > 1 else {
            throw ValidationError(field: field, "the container path of \"\(text)\" must be absolute and not /")
        }
        self.init(source: source, kind: kind, path: path)
    }

    public var description: String { "\(source)(\(kind.rawValue)):\(path)" }

    /// The template's fixed mounts, then the task's. The same mount twice is kept once; a task mount on a path
    /// the template already mounts from elsewhere is an error, since the template's mounts are fixed.
    public static func merge(template: [Mount], task: [Mount], field: String) throws(ValidationError) -> [Mount] {
        var merged = template
        for mount in task {
            if let fixed = merged.first(where: { $0.path == mount.path }) {
                guard fixed == mount else {
                    throw ValidationError(field: field, "\(mount) uses \(mount.path), which the template mounts as \(fixed)")
                }
                continue
            }
            merged.append(mount)
        }
        return merged
    }
}
