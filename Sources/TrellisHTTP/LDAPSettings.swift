import Configuration
import Foundation
import TrellisCore

/// How the identity service logs users in against a company directory (LDAP), when `ldap.url` is set.
///
/// | key | default | meaning |
/// |---|---|---|
/// | ldap.url | (off) | `ldap://host:389` or `ldaps://host:636` |
/// | ldap.starttls | false | upgrade an `ldap://` connection with StartTLS |
/// | ldap.ca.file | (the system's CAs) | PEM file of the CAs that sign the directory's certificate |
/// | ldap.bind.dn, ldap.bind.password | (anonymous) | the service account that searches |
/// | ldap.base.dn | required | where users are searched |
/// | ldap.user.filter | `(uid={username})` | `{username}` is replaced by the login name, escaped (RFC 4515) |
/// | ldap.attr.username, ldap.attr.name, ldap.attr.email | uid, cn, mail | attributes read from the user's entry |
/// | ldap.group.base | (no groups) | where groups are searched |
/// | ldap.group.filter | `(member={dn})` | `{dn}` and `{username}` are replaced, escaped |
/// | ldap.group.attr | cn | the group's name |
/// | ldap.admin.groups | (none) | comma-separated group names whose members are platform admins |
/// | ldap.project.roles | (none) | `group=project:role, …`: members of the group get the role in the project |
/// | ldap.provision | create | `create` a Trellis user on the first login, or `deny` users an admin has not created |
/// | ldap.timeout | 5s | network and search timeout |
public struct LDAPSettings: Sendable, Equatable {
    public enum Provisioning: String, Sendable, Equatable {
        case create
        case deny
    }

    public struct ProjectRoleMapping: Sendable, Equatable {
        public let group: String
        public let project: String
        public let role: ProjectRole
    }

    public var url: String
    public var startTLS: Bool
    public var caFile: String?
    public var bindDN: String?
    public var bindPassword: String?
    public var baseDN: String
    public var userFilter: String
    public var usernameAttribute: String
    public var nameAttribute: String
    public var emailAttribute: String
    public var groupBaseDN: String?
    public var groupFilter: String
    public var groupAttribute: String
    public var adminGroups: Set<String>
    public var projectRoles: [ProjectRoleMapping]
    public var provisioning: Provisioning
    public var timeoutSeconds: Int

    static let keys = [
        "ldap.url", "ldap.starttls", "ldap.ca.file", "ldap.bind.dn", "ldap.bind.password", "ldap.base.dn", "ldap.user.filter",
        "ldap.attr.username",
        "ldap.attr.name", "ldap.attr.email", "ldap.group.base", "ldap.group.filter", "ldap.group.attr", "ldap.admin.groups",
        "ldap.project.roles", "ldap.provision", "ldap.timeout",
    ]

    /// Nil when `ldap.url` is not set.
    init?(reader: ConfigReader) throws(ConfigurationError) {
        guard let url = reader.string(forKey: "ldap.url") else { return nil }
        guard url.hasPrefix("ldap://") || url.hasPrefix("ldaps://") else {
            throw ConfigurationError(key: "ldap.url", value: url, reason: "must start with ldap:// or ldaps://")
        }
        self.url = url
        startTLS = try Self.flag(reader, "ldap.starttls")
        if startTLS, url.hasPrefix("ldaps://") {
            throw ConfigurationError(key: "ldap.starttls", value: "true", reason: "an ldaps:// connection is encrypted already")
        }
        caFile = reader.string(forKey: "ldap.ca.file")
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw ConfigurationError(key: "ldap.ca.file", value: caFile, reason: "is not a readable file")
        }
        bindDN = reader.string(forKey: "ldap.bind.dn")
        bindPassword = reader.string(forKey: "ldap.bind.password", isSecret: true)
        guard let base = reader.string(forKey: "ldap.base.dn") else {
            throw ConfigurationError(key: "ldap.base.dn", value: "", reason: "is required with ldap.url (where users are searched)")
        }
        baseDN = base
        userFilter = reader.string(forKey: "ldap.user.filter") ?? "(uid={username})"
        guard userFilter.contains("{username}"), userFilter.hasPrefix("("), userFilter.hasSuffix(")") else {
            throw ConfigurationError(
                key: "ldap.user.filter", value: userFilter,
                reason: "must be a parenthesized filter with {username}, such as (uid={username})")
        }
        usernameAttribute = reader.string(forKey: "ldap.attr.username") ?? "uid"
        nameAttribute = reader.string(forKey: "ldap.attr.name") ?? "cn"
        emailAttribute = reader.string(forKey: "ldap.attr.email") ?? "mail"
        groupBaseDN = reader.string(forKey: "ldap.group.base")
        groupFilter = reader.string(forKey: "ldap.group.filter") ?? "(member={dn})"
        groupAttribute = reader.string(forKey: "ldap.group.attr") ?? "cn"
        adminGroups = Set(Self.list(reader.string(forKey: "ldap.admin.groups")))
        projectRoles = try Self.list(reader.string(forKey: "ldap.project.roles")).map { entry throws(ConfigurationError) in
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            let target = parts.count == 2 ? parts[1].split(separator: ":").map(String.init) : []
            guard parts.count == 2, target.count == 2, let role = ProjectRole(rawValue: target[1]) else {
                throw ConfigurationError(
                    key: "ldap.project.roles", value: entry,
                    reason: "each entry is group=project:role with role viewer, developer or owner")
            }
            return ProjectRoleMapping(group: parts[0], project: target[0], role: role)
        }
        let provision = reader.string(forKey: "ldap.provision") ?? "create"
        guard let provisioning = Provisioning(rawValue: provision) else {
            throw ConfigurationError(key: "ldap.provision", value: provision, reason: "must be create or deny")
        }
        self.provisioning = provisioning
        let timeout = reader.string(forKey: "ldap.timeout") ?? "5s"
        do {
            timeoutSeconds = max(1, Int(try DurationText.parse(timeout, field: "ldap.timeout").components.seconds))
        } catch {
            throw ConfigurationError(key: "ldap.timeout", value: timeout, reason: error.message)
        }
    }

    static func flag(_ reader: ConfigReader, _ key: String) throws(ConfigurationError) -> Bool {
        switch reader.string(forKey: ConfigKey(key.split(separator: ".").map(String.init))) {
        case nil, "false": return false
        case "true": return true
        case let other?: throw ConfigurationError(key: key, value: other, reason: "must be true or false")
        }
    }

    static func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
