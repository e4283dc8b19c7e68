import Foundation
import TrellisCore

/// docs/permissions.md, read as the access-matrix test needs it: the least role of each project action, and who each
/// route admits.
public struct PermissionTable: Sendable {
    /// Who a route admits, as the table's `who` column writes it.
    public enum Rule: Equatable, Sendable, CustomStringConvertible {
        case `public`, user, own, admin, service
        case project(ProjectAction)

        init(_ text: String) throws {
            switch text {
            case "public": self = .public
            case "user": self = .user
            case "own": self = .own
            case "admin": self = .admin
            case "service": self = .service
            default:
                guard let action = ProjectAction(rawValue: text) else { throw PermissionTableError("unknown `who`: \(text)") }
                self = .project(action)
            }
        }

        public var description: String {
            switch self {
            case .public: "public"
            case .user: "user"
            case .own: "own"
            case .admin: "admin"
            case .service: "service"
            case .project(let action): action.rawValue
            }
        }
    }

    /// `METHOD /path` → who.
    public let routes: [String: Rule]
    /// Route keys in the table's order.
    public let order: [String]
    /// Action → least role, from the role table.
    public let leastRoles: [String: String]

    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/permissions.md")

    public static func load() throws -> PermissionTable {
        let text = try String(contentsOf: file, encoding: .utf8)
        var routes: [String: Rule] = [:]
        var order: [String] = []
        var leastRoles: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2 else { continue }
            if cells[0].hasPrefix("`"), cells[0].hasSuffix("`") {
                let route = String(cells[0].dropFirst().dropLast())
                guard routes[route] == nil else { throw PermissionTableError("\(route) is in the table twice") }
                routes[route] = try Rule(cells[1])
                order.append(route)
            } else if ProjectAction(rawValue: cells[0]) != nil {
                leastRoles[cells[0]] = cells[1]
            }
        }
        return PermissionTable(routes: routes, order: order, leastRoles: leastRoles)
    }
}

struct PermissionTableError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
