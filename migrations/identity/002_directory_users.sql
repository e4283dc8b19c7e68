-- What a directory (LDAP) login tells of a user; local users may have them too.
ALTER TABLE identity_users ADD COLUMN display_name TEXT;
ALTER TABLE identity_users ADD COLUMN email TEXT;
