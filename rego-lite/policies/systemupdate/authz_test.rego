# Tests of the default systemupdate policy: every allow and every deny path.
# Run: portcullis policy test rego-lite/policies   (-v lists each test)
package systemupdate.authz_test

import rego.v1

import data.systemupdate.authz

# ---------------------------------------------------------------------------------------------
# Inputs, shaped as the gateway builds them (docs/POLICY_GUIDE.md)

# An authenticated request whose token carries the given Keycloak realm roles.
request(route, method, segments, roles) := {
	"request_id": "00000000-0000-0000-0000-000000000001",
	"time_ns": 1700000000000000000,
	"route": route,
	"method": method,
	"scheme": "http",
	"host": "api.local",
	"path": concat("", [sprintf("/%s", [s]) | some s in segments]),
	"path_segments": segments,
	"query": {},
	"headers": {"user-agent": "authz_test"},
	"source_ip": "127.0.0.1",
	"authenticated": true,
	"token": {
		"header": {"alg": "RS256", "kid": "test-key"},
		"payload": {
			"iss": "http://127.0.0.1:8081/realms/systemupdate",
			"sub": "6f1c2d3e-0000-4000-8000-000000000001",
			"azp": "portcullis",
			"preferred_username": "tester",
			"realm_access": {"roles": roles},
		},
	},
}

# The same request without a token (auth optional or AUTH_REQUIRED=0).
anonymous(route, method, segments) := object.union(
	object.remove(request(route, method, segments, []), ["token"]),
	{"authenticated": false},
)

allowed(inp) if authz.allow with input as inp

denied(inp) if {
	not authz.allow with input as inp
	d := authz.decision with input as inp
	d.allow == false
	count(d.reasons) > 0
	every r in d.reasons {
		is_string(r)
	}
}

denied_with(inp, reason, status) if {
	denied(inp)
	d := authz.decision with input as inp
	reason in d.reasons
	d.status == status
}

# Evaluates [role, method, segments, route, expected allow] rows; returns the rows that differ.
mismatches(rows) := [row |
	some row in rows
	[role, method, segments, route, want] := row
	inp := request(route, method, segments, [role])
	got := authz.allow with input as inp
	got != want
]

# ---------------------------------------------------------------------------------------------
# The seed's flow: the operator creates a command (allowed), then tries to acknowledge it (403)

test_seed_flow_operator_creates_command if {
	inp := request("commands", "POST", ["commands"], ["operator"])
	allowed(inp)
	d := authz.decision with input as inp
	d == {"allow": true, "reasons": ["role operator grants commands:create"]}
}

test_seed_flow_operator_cannot_ack_command if {
	inp := request("commands", "PATCH", ["commands", "c-42", "ack"], ["operator"])
	denied_with(inp, "no role grants commands:ack", 403)
	d := authz.decision with input as inp
	d == {"allow": false, "status": 403, "reasons": ["no role grants commands:ack"]}
}

test_seed_flow_under_api_prefix if {
	allowed(request("commands", "POST", ["api", "commands"], ["operator"]))
	denied_with(request("commands", "PATCH", ["api", "commands", "c-42", "ack"], ["operator"]), "no role grants commands:ack", 403)
}

test_commands_ack_allowed_for_admin_and_approver if {
	allowed(request("commands", "PATCH", ["commands", "c-42", "ack"], ["admin"]))
	allowed(request("commands", "PATCH", ["commands", "c-42", "ack"], ["commands-approver"]))
}

test_commands_ack_granted_only_to_admin_and_approver if {
	grantors := {role |
		some role, def in data.systemupdate.roles
		some p in def.permissions
		p in {"*", "commands:*", "commands:ack"}
	}
	grantors == {"admin", "commands-approver"}
}

# ---------------------------------------------------------------------------------------------
# Authentication

test_unauthenticated_is_denied_with_401 if {
	inp := anonymous("devices", "GET", ["devices"])
	denied_with(inp, "unauthenticated", 401)
}

test_unauthenticated_denied_on_every_protected_action if {
	every row in [
		["devices", "GET", ["devices", "d-1"]],
		["devices", "POST", ["devices"]],
		["commands", "POST", ["commands"]],
		["commands", "PATCH", ["commands", "c-1", "ack"]],
		["ingest", "POST", ["ingest"]],
		["analytics", "GET", ["analytics", "summary"]],
		["notifications", "POST", ["notify"]],
		["ws-hub", "GET", ["ws"]],
	] {
		[route, method, segments] := row
		denied_with(anonymous(route, method, segments), "unauthenticated", 401)
	}
}

test_authenticated_flag_must_be_true if {
	base := request("devices", "GET", ["devices"], ["admin"])
	denied_with(object.union(base, {"authenticated": false}), "unauthenticated", 401)
	denied_with(object.union(base, {"authenticated": "true"}), "unauthenticated", 401)
	denied_with(object.remove(base, ["authenticated"]), "unauthenticated", 401)
}

test_authenticated_without_token_payload_is_denied if {
	base := request("devices", "GET", ["devices"], ["admin"])
	denied_with(object.remove(base, ["token"]), "unauthenticated", 401)
	denied_with(object.union(base, {"token": {"header": {}, "payload": "admin"}}), "unauthenticated", 401)
}

test_roles_are_ignored_when_not_authenticated if {
	inp := object.union(request("devices", "GET", ["devices"], ["admin"]), {"authenticated": false})
	not authz.allow with input as inp
	r := authz.caller_roles with input as inp
	count(r) == 0
}

test_empty_input_is_denied if {
	d := authz.decision with input as {}
	d.allow == false
	d.status == 401
	"unauthenticated" in d.reasons
	"unknown route: null" in d.reasons
}

# ---------------------------------------------------------------------------------------------
# Public actions (data.systemupdate.public_actions)

test_health_checks_are_public if {
	every route_segments in [
		["devices", ["devices", "healthz"]],
		["commands", ["commands", "healthz"]],
		["ingest", ["ingest", "healthz"]],
		["analytics", ["analytics", "healthz"]],
		["notifications", ["notify", "healthz"]],
		["ws-hub", ["ws", "healthz"]],
	] {
		[route, segments] := route_segments
		allowed(anonymous(route, "GET", segments))
		allowed(anonymous(route, "HEAD", segments))
	}
	d := authz.decision with input as anonymous("devices", "GET", ["devices", "healthz"])
	d == {"allow": true, "reasons": ["public action health:read"]}
}

test_health_is_public_only_for_reads if {
	denied_with(anonymous("devices", "POST", ["devices", "healthz"]), "unauthenticated", 401)
	denied_with(anonymous("devices", "DELETE", ["devices", "healthz"]), "unauthenticated", 401)
}

test_auth_service_is_public if {
	allowed(anonymous("auth", "POST", ["auth", "login"]))
	allowed(anonymous("auth", "GET", ["auth"]))
	denied(anonymous("auth", "DELETE", ["auth", "users", "u-1"]))
}

test_public_only_because_data_says_so if {
	inp := anonymous("devices", "GET", ["devices", "healthz"])
	allowed(inp)
	not authz.allow with input as inp with data.systemupdate.public_actions as []
	d := authz.decision with input as inp with data.systemupdate.public_actions as []
	d.status == 401
	"unauthenticated" in d.reasons
}

# ---------------------------------------------------------------------------------------------
# Routes, methods and paths: anything not in the tables is denied

test_unknown_route_is_denied if {
	denied_with(request("billing", "GET", ["billing"], ["admin"]), "unknown route: billing", 403)
}

test_missing_or_malformed_route_is_denied if {
	base := request("devices", "GET", ["devices"], ["admin"])
	denied_with(object.remove(base, ["route"]), "unknown route: null", 403)
	denied_with(object.union(base, {"route": 7}), "unknown route: 7", 403)
	denied_with(object.union(base, {"route": ["devices"]}), "unknown route: [\"devices\"]", 403)
}

test_route_table_documentation_is_not_a_route if {
	denied(request("about", "GET", ["about"], ["admin"]))
}

test_wrong_method_is_denied if {
	denied_with(request("commands", "DELETE", ["commands", "c-1"], ["admin"]), "method DELETE not allowed on route commands", 403)
	denied_with(request("ingest", "PUT", ["ingest"], ["admin"]), "method PUT not allowed on route ingest", 403)

	# GET is known on ingest (for /ingest/healthz), so GET /ingest is an unknown path there.
	denied_with(request("ingest", "GET", ["ingest"], ["admin"]), "unknown path on route ingest: GET /ingest", 403)
	denied_with(request("analytics", "POST", ["analytics"], ["admin"]), "method POST not allowed on route analytics", 403)
}

test_methods_are_case_sensitive if {
	denied_with(request("commands", "post", ["commands"], ["admin"]), "method post not allowed on route commands", 403)
}

test_missing_method_is_denied if {
	inp := object.remove(request("devices", "GET", ["devices"], ["admin"]), ["method"])
	denied_with(inp, "method null not allowed on route devices", 403)
}

test_unknown_path_is_denied if {
	denied_with(request("commands", "PATCH", ["commands", "c-1", "close"], ["admin"]), "unknown path on route commands: PATCH /commands/c-1/close", 403)
	denied_with(request("commands", "POST", ["commands", "c-1", "ack"], ["admin"]), "unknown path on route commands: POST /commands/c-1/ack", 403)
	denied(request("devices", "GET", ["devices", "d-1", "secrets"], ["admin"]))
}

test_path_outside_the_route_prefix_is_denied if {
	denied_with(request("devices", "GET", ["admin", "devices"], ["admin"]), "unknown path on route devices: GET /admin/devices", 403)
	denied(request("devices", "GET", [], ["admin"]))
	denied(request("devices", "GET", ["device"], ["admin"]))
	denied(request("commands", "PATCH", ["devices", "c-1", "ack"], ["admin"]))
}

test_malformed_path_segments_are_denied if {
	base := request("devices", "GET", ["devices"], ["admin"])
	denied(object.remove(base, ["path_segments"]))
	denied(object.union(base, {"path_segments": "/devices"}))
	denied(object.union(base, {"path_segments": {"0": "devices"}}))
}

test_single_segment_wildcard_needs_a_non_empty_segment if {
	allowed(request("commands", "PATCH", ["commands", "c-1", "ack"], ["admin"]))
	denied(request("commands", "PATCH", ["commands", "", "ack"], ["admin"]))
	denied(request("commands", "PATCH", ["commands", "ack"], ["admin"]))
}

test_trailing_glob_matches_any_depth if {
	allowed(request("analytics", "GET", ["analytics"], ["viewer"]))
	allowed(request("analytics", "GET", ["analytics", "summary"], ["viewer"]))
	allowed(request("analytics", "GET", ["api", "analytics", "devices", "d-1", "hourly"], ["viewer"]))
}

test_first_matching_rule_wins if {
	# GET /devices/healthz matches both health:read and devices:read; health:read comes first.
	authz.action == "health:read" with input as request("devices", "GET", ["devices", "healthz"], [])
	authz.action == "devices:read" with input as request("devices", "GET", ["devices", "d-1"], [])
}

test_longest_prefix_wins if {
	inp := request("devices", "GET", ["api", "devices", "d-1"], ["viewer"])
	authz.sub_path == ["d-1"] with input as inp
	allowed(inp)
}

test_each_request_maps_to_the_expected_action if {
	every row in [
		["devices", "GET", ["devices"], "devices:read"],
		["devices", "GET", ["devices", "d-42"], "devices:read"],
		["devices", "HEAD", ["devices", "d-42"], "devices:read"],
		["devices", "POST", ["devices"], "devices:write"],
		["devices", "PUT", ["devices", "d-42"], "devices:write"],
		["devices", "PATCH", ["devices", "d-42"], "devices:write"],
		["devices", "DELETE", ["devices", "d-42"], "devices:delete"],
		["commands", "GET", ["commands"], "commands:read"],
		["commands", "GET", ["commands", "c-1"], "commands:read"],
		["commands", "POST", ["commands"], "commands:create"],
		["commands", "PATCH", ["commands", "c-1", "ack"], "commands:ack"],
		["ingest", "POST", ["ingest"], "ingest:write"],
		["ingest", "POST", ["ingest", "batch"], "ingest:write"],
		["analytics", "GET", ["analytics", "summary"], "analytics:read"],
		["notifications", "GET", ["notify"], "notifications:read"],
		["notifications", "POST", ["notify"], "notifications:send"],
		["notifications", "POST", ["notifications"], "notifications:send"],
		["ws-hub", "GET", ["ws"], "ws:connect"],
		["auth", "POST", ["auth", "token"], "auth:access"],
	] {
		[route, method, segments, want] := row
		authz.action == want with input as request(route, method, segments, [])
	}
}

# ---------------------------------------------------------------------------------------------
# Roles: each role's allowed and denied actions

test_admin_may_do_everything if {
	count(mismatches([
		["admin", "GET", ["devices"], "devices", true],
		["admin", "POST", ["devices"], "devices", true],
		["admin", "DELETE", ["devices", "d-1"], "devices", true],
		["admin", "GET", ["commands"], "commands", true],
		["admin", "POST", ["commands"], "commands", true],
		["admin", "PATCH", ["commands", "c-1", "ack"], "commands", true],
		["admin", "POST", ["ingest"], "ingest", true],
		["admin", "GET", ["analytics", "summary"], "analytics", true],
		["admin", "GET", ["notify"], "notifications", true],
		["admin", "POST", ["notify"], "notifications", true],
		["admin", "GET", ["ws"], "ws-hub", true],
	])) == 0
}

test_operator_allowed_and_denied if {
	count(mismatches([
		["operator", "GET", ["devices"], "devices", true],
		["operator", "GET", ["devices", "d-1"], "devices", true],
		["operator", "POST", ["devices"], "devices", true],
		["operator", "PUT", ["devices", "d-1"], "devices", true],
		["operator", "PATCH", ["devices", "d-1"], "devices", true],
		["operator", "DELETE", ["devices", "d-1"], "devices", false],
		["operator", "GET", ["commands"], "commands", true],
		["operator", "GET", ["commands", "c-1"], "commands", true],
		["operator", "POST", ["commands"], "commands", true],
		["operator", "PATCH", ["commands", "c-1", "ack"], "commands", false],
		["operator", "POST", ["ingest"], "ingest", false],
		["operator", "GET", ["analytics", "summary"], "analytics", true],
		["operator", "GET", ["notify"], "notifications", true],
		["operator", "POST", ["notify"], "notifications", false],
		["operator", "GET", ["ws"], "ws-hub", true],
	])) == 0
}

test_operator_denials_name_the_action if {
	denied_with(request("devices", "DELETE", ["devices", "d-1"], ["operator"]), "no role grants devices:delete", 403)
	denied_with(request("ingest", "POST", ["ingest"], ["operator"]), "no role grants ingest:write", 403)
	denied_with(request("notifications", "POST", ["notify"], ["operator"]), "no role grants notifications:send", 403)
}

test_viewer_is_read_only if {
	count(mismatches([
		["viewer", "GET", ["devices"], "devices", true],
		["viewer", "HEAD", ["devices", "d-1"], "devices", true],
		["viewer", "GET", ["commands", "c-1"], "commands", true],
		["viewer", "GET", ["analytics"], "analytics", true],
		["viewer", "GET", ["notify"], "notifications", true],
		["viewer", "GET", ["ws"], "ws-hub", true],
		["viewer", "POST", ["devices"], "devices", false],
		["viewer", "PUT", ["devices", "d-1"], "devices", false],
		["viewer", "DELETE", ["devices", "d-1"], "devices", false],
		["viewer", "POST", ["commands"], "commands", false],
		["viewer", "PATCH", ["commands", "c-1", "ack"], "commands", false],
		["viewer", "POST", ["ingest"], "ingest", false],
		["viewer", "POST", ["notify"], "notifications", false],
	])) == 0
	denied_with(request("commands", "POST", ["commands"], ["viewer"]), "no role grants commands:create", 403)
}

test_commands_approver_reads_and_acks_commands_only if {
	count(mismatches([
		["commands-approver", "GET", ["commands"], "commands", true],
		["commands-approver", "PATCH", ["commands", "c-1", "ack"], "commands", true],
		["commands-approver", "POST", ["commands"], "commands", false],
		["commands-approver", "GET", ["devices"], "devices", false],
	])) == 0
}

test_device_may_only_ingest if {
	count(mismatches([
		["device", "POST", ["ingest"], "ingest", true],
		["device", "POST", ["api", "ingest", "batch"], "ingest", true],
		["device", "GET", ["devices"], "devices", false],
		["device", "POST", ["commands"], "commands", false],
		["device", "PATCH", ["commands", "c-1", "ack"], "commands", false],
		["device", "POST", ["notify"], "notifications", false],
	])) == 0
	denied_with(request("devices", "GET", ["devices"], ["device"]), "no role grants devices:read", 403)
}

test_service_may_only_send_notifications if {
	count(mismatches([
		["service", "POST", ["notify"], "notifications", true],
		["service", "GET", ["notify"], "notifications", false],
		["service", "POST", ["commands"], "commands", false],
		["service", "POST", ["ingest"], "ingest", false],
		["service", "GET", ["devices"], "devices", false],
	])) == 0
	denied_with(request("commands", "POST", ["commands"], ["service"]), "no role grants commands:create", 403)
}

test_no_roles_is_denied if {
	denied_with(request("devices", "GET", ["devices"], []), "no role grants devices:read", 403)
}

test_unknown_roles_grant_nothing if {
	inp := request("devices", "GET", ["devices"], ["default-roles-systemupdate", "offline_access", "Admin", "ADMIN"])
	denied_with(inp, "no role grants devices:read", 403)
}

test_malformed_roles_grant_nothing if {
	base := request("devices", "GET", ["devices"], [])
	denied(object.union(base, {"token": {"payload": {"realm_access": {"roles": "admin"}}}}))
	denied(object.union(base, {"token": {"payload": {"realm_access": {"roles": {"x": "admin"}}}}}))
	denied(object.union(base, {"token": {"payload": {"realm_access": {"roles": [["admin"]]}}}}))
	denied(object.union(base, {"token": {"payload": {"roles": ["admin"]}}}))
}

test_several_roles_combine if {
	inp := request("commands", "PATCH", ["commands", "c-1", "ack"], ["operator", "commands-approver"])
	allowed(inp)
	d := authz.decision with input as inp
	d == {"allow": true, "reasons": ["role commands-approver grants commands:ack"]}
	d2 := authz.decision with input as request("devices", "GET", ["devices"], ["viewer", "operator"])
	d2.reasons == ["role operator grants devices:read", "role viewer grants devices:read"]
}

test_client_roles_of_configured_clients_count if {
	base := request("commands", "PATCH", ["commands", "c-1", "ack"], [])
	with_client := object.union(base, {"token": {"payload": {"resource_access": {"portcullis": {"roles": ["commands-approver"]}}}}})
	allowed(with_client)
	other_client := object.union(base, {"token": {"payload": {"resource_access": {"account": {"roles": ["commands-approver"]}}}}})
	denied_with(other_client, "no role grants commands:ack", 403)
}

test_realm_roles_can_be_switched_off if {
	inp := request("devices", "GET", ["devices"], ["admin"])
	allowed(inp)
	not authz.allow with input as inp with data.systemupdate.role_sources.realm_roles as false
}

test_wildcard_permissions if {
	inp := request("devices", "DELETE", ["devices", "d-1"], ["fleet"])
	denied(inp)
	authz.allow with input as inp with data.systemupdate.roles.fleet as {"permissions": ["devices:*"]}
	not authz.allow with input as inp with data.systemupdate.roles.fleet as {"permissions": ["commands:*"]}
	not authz.allow with input as inp with data.systemupdate.roles.fleet as {"permissions": ["devices"]}
	authz.allow with input as inp with data.systemupdate.roles.fleet as {"permissions": ["*"]}
}

# ---------------------------------------------------------------------------------------------
# Decision shape

test_decision_on_allow_has_no_status if {
	d := authz.decision with input as request("devices", "GET", ["devices"], ["viewer"])
	d.allow == true
	not d.status
	d.reasons == ["role viewer grants devices:read"]
}

test_decision_agrees_with_allow if {
	every inp in [
		request("devices", "GET", ["devices"], ["viewer"]),
		request("devices", "POST", ["devices"], ["viewer"]),
		request("billing", "GET", ["billing"], ["admin"]),
		anonymous("devices", "GET", ["devices"]),
		anonymous("devices", "GET", ["devices", "healthz"]),
	] {
		a := authz.allow with input as inp
		d := authz.decision with input as inp
		d.allow == a
	}
}

test_allow_is_false_not_undefined_on_denial if {
	authz.allow == false with input as request("billing", "GET", ["billing"], ["admin"])
}

test_fallback_reason_when_no_rule_explains if {
	# An authenticated caller, known route and action, roles that grant it, yet not allowed
	# (allow replaced): the decision still carries a reason.
	inp := request("devices", "GET", ["devices"], ["viewer"])
	d := authz.decision with input as inp with authz.allow as false
	d == {"allow": false, "status": 403, "reasons": ["denied: no rule allows this request"]}
}

# ---------------------------------------------------------------------------------------------
# Data consistency: the tables refer only to known actions

test_every_route_action_is_a_known_action if {
	every route in data.systemupdate.routes {
		every rule in route.rules {
			data.systemupdate.actions[rule.action]
			count(rule.methods) > 0
		}
	}
}

test_every_permission_is_a_known_action_or_wildcard if {
	every role in data.systemupdate.roles {
		every p in role.permissions {
			known_permission(p)
		}
	}
}

known_permission(p) if p == "*"

known_permission(p) if data.systemupdate.actions[p]

known_permission(p) if {
	endswith(p, ":*")
	some a, _ in data.systemupdate.actions
	startswith(a, trim_suffix(p, "*"))
}

test_every_public_action_is_a_known_action if {
	every a in data.systemupdate.public_actions {
		data.systemupdate.actions[a]
	}
}

test_public_actions_are_only_health_and_auth if {
	{a | some a in data.systemupdate.public_actions} == {"health:read", "auth:access"}
}

# ---------------------------------------------------------------------------------------------
# Edge cases of the matching rules (tables replaced with `with`)

test_wildcards_cover_every_colon_prefix if {
	routes := {"x": {"prefixes": [["x"]], "rules": [{"methods": ["GET"], "path": [], "action": "a:b:c"}]}}
	inp := request("x", "GET", ["x"], ["fleet"])
	authz.allow with input as inp with data.systemupdate.routes as routes with data.systemupdate.roles.fleet as {"permissions": ["a:*"]}
	authz.allow with input as inp with data.systemupdate.routes as routes with data.systemupdate.roles.fleet as {"permissions": ["a:b:*"]}
	authz.allow with input as inp with data.systemupdate.routes as routes with data.systemupdate.roles.fleet as {"permissions": ["a:b:c"]}
	not authz.allow with input as inp with data.systemupdate.routes as routes with data.systemupdate.roles.fleet as {"permissions": ["a:c:*"]}
	not authz.allow with input as inp with data.systemupdate.routes as routes with data.systemupdate.roles.fleet as {"permissions": ["a", "a:b", "b:*"]}
}

test_rule_path_wildcard_edge_cases if {
	routes := {"x": {"prefixes": [["x"]], "rules": [
		{"methods": ["GET"], "path": ["**", "y"], "action": "devices:read"},
		{"methods": ["POST"], "path": ["*", "**"], "action": "devices:write"},
	]}}

	# "**" is a glob only as the last element; elsewhere it matches nothing, not even "**".
	not authz.action with input as request("x", "GET", ["x", "**", "y"], []) with data.systemupdate.routes as routes

	# "*" matches any one non-empty segment (also a literal "*"); a final "**" any rest.
	authz.action == "devices:write" with input as request("x", "POST", ["x", "*"], []) with data.systemupdate.routes as routes
	authz.action == "devices:write" with input as request("x", "POST", ["x", "a", "b", "c"], []) with data.systemupdate.routes as routes
	not authz.action with input as request("x", "POST", ["x", ""], []) with data.systemupdate.routes as routes
	not authz.action with input as request("x", "POST", ["x"], []) with data.systemupdate.routes as routes
}
