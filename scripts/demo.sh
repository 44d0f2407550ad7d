#!/usr/bin/env bash
# `make demo`: mint a key pair and tokens, then verify honest and forged tokens with the
# real `portcullis` binary. (The gateway demo joins when the gateway exists.)
set -uo pipefail
BIN=${1:-.build/debug/portcullis}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; }

step "1. A signing key and its public JWKS (what an issuer publishes)"
"$BIN" token keygen --type rsa > "$WORK/issuer.pem"
"$BIN" token jwks --key "$WORK/issuer.pem" --kid demo-key-1 > "$WORK/jwks.json"
cat "$WORK/jwks.json" | head -c 300; echo " ..."

step "2. An access token, as the issuer would sign it"
CLAIMS='{"iss":"https://idp.local/realms/systemupdate-dev","aud":"systemupdate-api","sub":"3f1e-alice","preferred_username":"alice","realm_access":{"roles":["operator"]}}'
TOKEN=$("$BIN" token sign --key "$WORK/issuer.pem" --alg RS256 --kid demo-key-1 --expires-in 300 --claims "$CLAIMS")
echo "$TOKEN" | cut -c1-80; echo "..."

verify() {
  local label=$1 token=$2
  "$BIN" token verify "$token" --jwks "$WORK/jwks.json" \
    --issuer https://idp.local/realms/systemupdate-dev --audience systemupdate-api > "$WORK/out.json"
  local status=$?
  local code
  code=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["code"], "-", d["message"])' "$WORK/out.json")
  printf '%-34s exit %d  %s\n' "$label" "$status" "$code"
}

step "3. Verify: the honest token, then forgeries"
verify "honest token" "$TOKEN"
IFS=. read -r H P S <<< "$TOKEN"
b64() { python3 -c 'import base64,sys; print(base64.urlsafe_b64encode(sys.argv[1].encode()).rstrip(b"=").decode())' "$1"; }
verify "payload changed (sub=admin)" "$H.$(b64 "${CLAIMS/3f1e-alice/admin}").$S"
verify "signature stripped" "$H.$P."
verify "alg none" "$(b64 '{"alg":"none"}').$P."
verify "HS256 (key confusion)" "$(b64 '{"alg":"HS256","kid":"demo-key-1"}').$P.$S"
OTHER=$("$BIN" token keygen --type rsa)
echo "$OTHER" > "$WORK/attacker.pem"
verify "signed by another key" "$("$BIN" token sign --key "$WORK/attacker.pem" --alg RS256 --kid demo-key-1 --expires-in 300 --claims "$CLAIMS")"
verify "expired an hour ago" "$("$BIN" token sign --key "$WORK/issuer.pem" --alg RS256 --kid demo-key-1 --claims "${CLAIMS%\}},\"exp\":$(( $(date +%s) - 3600 ))}")"

step "4. Inspect (unverified) shows what a token claims, clearly marked"
"$BIN" token inspect "$TOKEN" | head -12
echo
echo "Next: 'make test' runs every unit and end-to-end test."
