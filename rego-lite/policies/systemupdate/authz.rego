# Default Portcullis authorization policy for the systemupdate services.
#
# Queries the gateway uses:
#   data.systemupdate.authz.allow     boolean, default false
#   data.systemupdate.authz.decision  {"allow": bool, "reasons": [string], "status": int (denials only)}
#
# How a request is decided:
#   1. input.route names an entry of data.systemupdate.routes (else: "unknown route: <id>").
#   2. The longest of the route's prefixes is removed from input.path_segments; the first rule
#      whose methods contain input.method and whose path matches the rest gives the one action
#      of the request (else: "method ... not allowed on route ..." or "unknown path ...").
#   3. The action is allowed when it is listed in data.systemupdate.public_actions, or when the
#      caller is authenticated and one of its roles (Keycloak realm roles and the client roles of
#      the clients in data.systemupdate.role_sources) has a permission covering the action.
#   Everything else is denied (fail closed), and every denial carries at least one reason.
#
# The input contract is in docs/POLICY_GUIDE.md. Tables live in data.json next to this file.
#
# Cost: `allow` is on the hot path of every request, so it is written for few evaluation steps:
# no user function calls except one per candidate rule path, the route's data looked up once, the
# caller's roles looked up directly in data.systemupdate.roles (no role set is built), each
# permission test a membership test, and an else chain that stops at the first body that allows.
# `decision` (explanations) reuses the same helpers and may be slower. Both decide exactly as the
# rules above say; authz_test.rego checks the behaviour.
package systemupdate.authz

import rego.v1

# Rules refer to the data's own keys, never to data.systemupdate as a whole: that document
# contains this package, and OPA rejects such a reference as recursive.

# ---------------------------------------------------------------------------------------------
# Decisions

default allow := false

# Public action, else a realm role granting the action or "*", else a client role granting it,
# else a realm or client role holding a "<resource>:*" wildcard that covers it.
allow if {
	action in data.systemupdate.public_actions
} else := true if {
	input.authenticated == true
	payload := input.token.payload
	is_object(payload)
	data.systemupdate.role_sources.realm_roles == true
	roles := payload.realm_access.roles
	is_array(roles)
	some role in roles
	permissions := data.systemupdate.roles[role].permissions
	is_string(role)
	some permission in [action, "*"]
	permission in permissions
} else := true if {
	input.authenticated == true
	payload := input.token.payload
	is_object(payload)
	some client in data.systemupdate.role_sources.client_roles
	roles := payload.resource_access[client].roles
	is_array(roles)
	some role in roles
	permissions := data.systemupdate.roles[role].permissions
	is_string(role)
	some permission in [action, "*"]
	permission in permissions
} else := true if {
	input.authenticated == true
	payload := input.token.payload
	is_object(payload)
	data.systemupdate.role_sources.realm_roles == true
	roles := payload.realm_access.roles
	is_array(roles)
	some role in roles
	permissions := data.systemupdate.roles[role].permissions
	is_string(role)
	some permission in wildcard_permissions
	permission in permissions
} else := true if {
	input.authenticated == true
	payload := input.token.payload
	is_object(payload)
	some client in data.systemupdate.role_sources.client_roles
	roles := payload.resource_access[client].roles
	is_array(roles)
	some role in roles
	permissions := data.systemupdate.roles[role].permissions
	is_string(role)
	some permission in wildcard_permissions
	permission in permissions
}

decision := {"allow": true, "reasons": sort(allow_reasons)} if allow

decision := {"allow": false, "status": deny_status, "reasons": sort(denial_reasons)} if not allow

# ---------------------------------------------------------------------------------------------
# Who is calling (allow checks the same conditions inline)

# Only a verified token counts: the gateway sets input.authenticated to true only after the
# token's signature and claims were checked.
authenticated if {
	input.authenticated == true
	is_object(input.token.payload)
}

# Realm roles: token.payload.realm_access.roles
caller_roles contains role if {
	authenticated
	data.systemupdate.role_sources.realm_roles == true
	roles := input.token.payload.realm_access.roles
	is_array(roles)
	some role in roles
	is_string(role)
}

# Client roles: token.payload.resource_access.<client>.roles for each configured client
caller_roles contains role if {
	authenticated
	some client in data.systemupdate.role_sources.client_roles
	roles := input.token.payload.resource_access[client].roles
	is_array(roles)
	some role in roles
	is_string(role)
}

# ---------------------------------------------------------------------------------------------
# What is being asked: input.route + input.method + input.path_segments -> one action

route := r if {
	r := data.systemupdate.routes[input.route]
	is_array(r.rules)
}

# The path segments below the route's longest prefix that input.path_segments starts with.
# (A prefix longer than the segments, or not an array, never equals their slice.)
sub_path := array.slice(segments, n, count(segments)) if {
	route
	segments := input.path_segments
	is_array(segments)
	n := max({count(prefix) |
		some prefix in route.prefixes
		array.slice(segments, 0, count(prefix)) == prefix
	})
}

# The action of the first rule (in order) whose methods contain input.method and whose path
# matches sub_path. sub_path is computed inline here (same expression as above) to save a rule
# evaluation on the hot path.
action := a if {
	r := data.systemupdate.routes[input.route]
	rules := r.rules
	is_array(rules)
	segments := input.path_segments
	is_array(segments)
	skip := max({count(prefix) |
		some prefix in r.prefixes
		array.slice(segments, 0, count(prefix)) == prefix
	})
	sub := array.slice(segments, skip, count(segments))
	n := count(sub)
	matches := [i |
		some i, rule in rules
		input.method in rule.methods
		pattern := rule.path
		is_array(pattern)
		m := count(pattern)
		path_matches(pattern, m, sub, n)
	]
	a := rules[matches[0]].action
	is_string(a)
}

# pattern (m elements) matches segments (n elements): same length and every element matches, or
# a final "**" that matches any remaining segments (also none) after the elements before it.
# An element matches a segment s (a string) when it is "*" and s is not empty, or when it is s
# itself and not "*" or "**": p in {s, "*"}, p != "**", and not ("*" against "").
path_matches(pattern, m, segments, n) if {
	m == n
	every i, p in pattern {
		s := segments[i]
		is_string(s)
		p in {s, "*"}
		p != "**"
		[p, s] != ["*", ""]
	}
} else if {
	pattern[m - 1] == "**"
	every i, p in array.slice(pattern, 0, m - 1) {
		s := segments[i]
		is_string(s)
		p in {s, "*"}
		p != "**"
		[p, s] != ["*", ""]
	}
}

# ---------------------------------------------------------------------------------------------
# Whether it is permitted

public_action if action in data.systemupdate.public_actions

# A permission covers an action when it is the action, "*", or "<prefix>:*" where the action
# starts with "<prefix>:". The last kind, for this request's action ("a:b:c" -> "a:*", "a:b:*"):
wildcard_permissions := [concat("", [concat(":", array.slice(parts, 0, k)), ":*"]) |
	parts := split(action, ":")
	some k, _ in parts
	k > 0
]

covering_permissions := array.concat([action, "*"], wildcard_permissions)

granting_roles contains role if {
	some role in caller_roles
	permissions := data.systemupdate.roles[role].permissions
	some permission in covering_permissions
	permission in permissions
}

# ---------------------------------------------------------------------------------------------
# Explanations

allow_reasons contains sprintf("public action %s", [action]) if public_action

allow_reasons contains sprintf("role %s grants %s", [role, action]) if {
	not public_action
	authenticated
	some role in granting_roles
}

request_line := sprintf("%v %v", [object.get(input, "method", null), object.get(input, "path", null)])

deny_reasons contains "unauthenticated" if {
	not authenticated
	not public_action
}

deny_reasons contains sprintf("unknown route: %v", [object.get(input, "route", null)]) if not route

deny_reasons contains sprintf("method %v not allowed on route %v", [object.get(input, "method", null), input.route]) if {
	route
	not method_known
}

deny_reasons contains sprintf("unknown path on route %v: %s", [input.route, request_line]) if {
	route
	method_known
	not action
}

deny_reasons contains sprintf("no role grants %s", [action]) if {
	authenticated
	not public_action
	count(granting_roles) == 0
}

method_known if {
	some rule in route.rules
	input.method in rule.methods
}

# Every denial explains itself, even one no rule above foresaw.
denial_reasons := deny_reasons if count(deny_reasons) > 0
else := {"denied: no rule allows this request"}

deny_status := 401 if {
	not authenticated
	not public_action
} else := 403
