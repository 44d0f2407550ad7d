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
package systemupdate.authz

import rego.v1

# Rules refer to the data's own keys, never to data.systemupdate as a whole: that document
# contains this package, and OPA rejects such a reference as recursive.

# ---------------------------------------------------------------------------------------------
# Decisions

default allow := false

allow if public_action

allow if {
	authenticated
	count(granting_roles) > 0
}

decision := {"allow": true, "reasons": sort(allow_reasons)} if allow

decision := {"allow": false, "status": deny_status, "reasons": sort(denial_reasons)} if not allow

# ---------------------------------------------------------------------------------------------
# Who is calling

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

# Lengths of the route's prefixes that input.path_segments starts with.
matching_prefix_lengths contains n if {
	segments := input.path_segments
	is_array(segments)
	some prefix in route.prefixes
	is_array(prefix)
	n := count(prefix)
	n <= count(segments)
	array.slice(segments, 0, n) == prefix
}

# The path segments below the route's (longest matching) prefix.
sub_path := array.slice(input.path_segments, n, count(input.path_segments)) if {
	count(matching_prefix_lengths) > 0
	n := max(matching_prefix_lengths)
}

# Indexes of the route's rules that match the request, in order; the first one wins.
matching_rules := [i |
	some i, rule in route.rules
	rule_matches(rule)
]

action := route.rules[matching_rules[0]].action if {
	count(matching_rules) > 0
	is_string(route.rules[matching_rules[0]].action)
}

rule_matches(rule) if {
	input.method in rule.methods
	path_matches(rule.path, sub_path)
}

# Same length, every segment matches.
path_matches(pattern, segments) if {
	is_array(pattern)
	count(pattern) == count(segments)
	every i, p in pattern {
		segment_matches(p, segments[i])
	}
}

# A final "**" matches any remaining segments (also none).
path_matches(pattern, segments) if {
	is_array(pattern)
	n := count(pattern)
	n > 0
	pattern[n - 1] == "**"
	count(segments) >= n - 1
	every i, p in array.slice(pattern, 0, n - 1) {
		segment_matches(p, segments[i])
	}
}

# "*" matches exactly one non-empty segment.
segment_matches(p, s) if {
	p == "*"
	is_string(s)
	s != ""
}

segment_matches(p, s) if {
	is_string(p)
	not p in {"*", "**"}
	p == s
}

# ---------------------------------------------------------------------------------------------
# Whether it is permitted

public_action if action in data.systemupdate.public_actions

granting_roles contains role if {
	some role in caller_roles
	some permission in data.systemupdate.roles[role].permissions
	permission_covers(permission, action)
}

permission_covers(permission, act) if {
	is_string(act)
	permission == act
}

permission_covers("*", act) if is_string(act)

# "devices:*" covers every devices action.
permission_covers(permission, act) if {
	is_string(permission)
	endswith(permission, ":*")
	is_string(act)
	startswith(act, trim_suffix(permission, "*"))
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
