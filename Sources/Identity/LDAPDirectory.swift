import CLDAP
import Foundation
import TrellisCore
import TrellisHTTP

/// Logs users in against a company directory with OpenLDAP's client library: bind as the service account, search
/// the user (the filter's values escaped), read their groups, then bind as the user with their password. An empty
/// password is refused before any bind (to a server that allows unauthenticated binds it would "succeed").
/// The library blocks, so every exchange runs on a thread of its own, off the event loops and the task pool.
struct LDAPDirectory: Sendable {
    let settings: LDAPSettings

    /// Who the directory says the user is.
    struct Person: Sendable, Equatable {
        var dn: String
        var username: String
        var displayName: String?
        var email: String?
        var groups: [String]
    }

    /// The directory could not answer (unreachable, misconfigured, an unexpected result).
    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    /// The user, when the password is theirs; nil for an unknown user, a wrong or empty password.
    func authenticate(username: String, password: String) async throws -> Person? {
        guard !password.isEmpty, !username.isEmpty else { return nil }
        return try await onItsOwnThread { try Connection(settings: settings).authenticate(username: username, password: password) }
    }

    /// The user as the directory has them now (searched as the service account, no password); nil when they are gone.
    func lookUp(username: String) async throws -> Person? {
        guard !username.isEmpty else { return nil }
        return try await onItsOwnThread { try Connection(settings: settings).find(username: username) }
    }

    private func onItsOwnThread(_ work: @escaping @Sendable () throws -> Person?) async throws -> Person? {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
        }
    }
}

/// One connection to the directory, used by one login on one thread.
private final class Connection {
    let settings: LDAPSettings
    let handle: OpaquePointer

    init(settings: LDAPSettings) throws {
        self.settings = settings
        var handle: OpaquePointer?
        guard ldap_initialize(&handle, settings.url) == LDAP_SUCCESS, let handle else {
            throw LDAPDirectory.Unavailable(description: "ldap.url \(settings.url) is not a directory URL")
        }
        self.handle = handle
        var version = LDAP_VERSION3
        ldap_set_option(handle, LDAP_OPT_PROTOCOL_VERSION, &version)
        var timeout = timeval(tv_sec: settings.timeoutSeconds, tv_usec: 0)
        ldap_set_option(handle, LDAP_OPT_NETWORK_TIMEOUT, &timeout)
        ldap_set_option(handle, LDAP_OPT_TIMEOUT, &timeout)
        // LDAP_OPT_OFF: referrals would send the credentials to other servers.
        ldap_set_option(handle, LDAP_OPT_REFERRALS, nil)
        // TLS (ldaps:// or StartTLS) always checks the directory's certificate, against ldap.ca.file when set.
        var demand = LDAP_OPT_X_TLS_DEMAND
        ldap_set_option(handle, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand)
        if let caFile = settings.caFile {
            ldap_set_option(handle, LDAP_OPT_X_TLS_CACERTFILE, caFile)
        }
        // A context of this connection's own, so the options above apply to it.
        var client: Int32 = 0
        ldap_set_option(handle, LDAP_OPT_X_TLS_NEWCTX, &client)
        if settings.startTLS {
            try check(ldap_start_tls_s(handle, nil, nil), doing: "StartTLS")
        }
    }

    deinit {
        ldap_unbind_ext_s(handle, nil, nil)
    }

    func authenticate(username: String, password: String) throws -> LDAPDirectory.Person? {
        guard let person = try find(username: username) else { return nil }
        // Last, the user's own bind: the password is checked by the directory.
        let result = bind(person.dn, password)
        if result == LDAP_INVALID_CREDENTIALS { return nil }
        try check(result, doing: "the user's bind")
        return person
    }

    /// The user's entry and groups, searched as the service account; nil when there is no such user.
    func find(username: String) throws -> LDAPDirectory.Person? {
        if let dn = settings.bindDN {
            try check(bind(dn, settings.bindPassword ?? ""), doing: "the service account's bind (ldap.bind.dn)")
        }
        let filter = LDAPFilter.render(settings.userFilter, ["username": username])
        let attributes = [settings.usernameAttribute, settings.nameAttribute, settings.emailAttribute]
        let found = try search(settings.baseDN, filter: filter, attributes: attributes)
        guard found.count == 1, let entry = found.first else {
            if found.count > 1 { throw LDAPDirectory.Unavailable(description: "\(found.count) entries match \(filter); it must be one") }
            return nil
        }
        var person = LDAPDirectory.Person(
            dn: entry.dn, username: entry.values[settings.usernameAttribute]?.first ?? username,
            displayName: entry.values[settings.nameAttribute]?.first, email: entry.values[settings.emailAttribute]?.first, groups: [])
        if let base = settings.groupBaseDN {
            let groupFilter = LDAPFilter.render(settings.groupFilter, ["dn": entry.dn, "username": person.username])
            person.groups = try search(base, filter: groupFilter, attributes: [settings.groupAttribute])
                .compactMap { $0.values[settings.groupAttribute]?.first }.sorted()
        }
        return person
    }

    private func bind(_ dn: String, _ password: String) -> Int32 {
        var bytes = Array(password.utf8CString)
        return bytes.withUnsafeMutableBufferPointer { buffer in
            var credential = berval(bv_len: ber_len_t(buffer.count - 1), bv_val: buffer.baseAddress)
            // A nil mechanism is LDAP_SASL_SIMPLE.
            return ldap_sasl_bind_s(handle, dn, nil, &credential, nil, nil, nil)
        }
    }

    struct Entry {
        var dn: String
        var values: [String: [String]]
    }

    private func search(_ base: String, filter: String, attributes: [String]) throws -> [Entry] {
        var names = attributes.map { strdup($0) } + [nil]
        defer { names.forEach { free($0) } }
        var timeout = timeval(tv_sec: settings.timeoutSeconds, tv_usec: 0)
        var message: OpaquePointer?
        let result = ldap_search_ext_s(handle, base, LDAP_SCOPE_SUBTREE, filter, &names, 0, nil, nil, &timeout, 100, &message)
        defer { if let message { ldap_msgfree(message) } }
        if result == LDAP_NO_SUCH_OBJECT { return [] }
        try check(result, doing: "the search of \(base) for \(filter)")
        var entries: [Entry] = []
        var current = ldap_first_entry(handle, message)
        while let entry = current {
            var dn = ""
            if let text = ldap_get_dn(handle, entry) {
                dn = String(cString: text)
                ldap_memfree(text)
            }
            var values: [String: [String]] = [:]
            for attribute in attributes {
                guard let list = ldap_get_values_len(handle, entry, attribute) else { continue }
                var index = 0
                while let value = list[index] {
                    let bytes = UnsafeRawBufferPointer(start: value.pointee.bv_val, count: Int(value.pointee.bv_len))
                    values[attribute, default: []].append(String(decoding: bytes, as: UTF8.self))
                    index += 1
                }
                ldap_value_free_len(list)
            }
            entries.append(Entry(dn: dn, values: values))
            current = ldap_next_entry(handle, entry)
        }
        return entries
    }

    private func check(_ result: Int32, doing what: String) throws {
        guard result == LDAP_SUCCESS else {
            var reason = String(cString: ldap_err2string(result))
            // The library's detail, such as why a certificate was not trusted.
            var diagnostic: UnsafeMutablePointer<CChar>?
            if ldap_get_option(handle, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diagnostic) == LDAP_OPT_SUCCESS, let diagnostic {
                let detail = String(cString: diagnostic)
                if !detail.isEmpty { reason += " (\(detail))" }
                ldap_memfree(diagnostic)
            }
            throw LDAPDirectory.Unavailable(description: "\(what) failed at \(settings.url): \(reason)")
        }
    }
}
