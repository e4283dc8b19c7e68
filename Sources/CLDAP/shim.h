// OpenLDAP's client library (Debian's libldap2-dev), for the identity service's directory logins.
#include <ldap.h>
