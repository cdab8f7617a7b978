#!/bin/sh
# heroku-login.sh - what an administrator writes today instead of pam_heroku:
# a pam_exec script that exchanges the typed grant code at the Heroku API
# with curl and checks the returned user id against the allowlist with jq
# and grep.  It is the "C" column of tests/bench/run, which compares it with
# the module; it is not part of pam_heroku and is not installed.
#
#   auth required pam_exec.so expose_authtok quiet /path/heroku-login.sh \
#        API_URL CA_FILE ALLOWLIST SECRET_FILE
#
# pam_exec writes the typed credential to stdin (no newline) and puts the
# PAM user in $PAM_USER.  Behaviour, as close to the module's as a shell
# script gets in a few lines (so the comparison is fair, not a straw man):
#   - "code:X" or "X" is an authorization_code grant, "refresh:X" a
#     refresh_token grant; an empty credential, one over 1024 bytes or one
#     with any character outside the token68 set is refused with no request;
#   - the body is the one Heroku's schema requires (grant, client with the
#     first line of SECRET_FILE as the secret, refresh_token);
#   - the body goes to curl on stdin (never on a command line, where ps
#     shows it), TLS verification on, https only, no redirects, no proxy
#     from the environment, 10 s for the whole exchange;
#   - only a 201 whose user.id is a UUID string counts; then the allowlist
#     must hold a line "<that id> <accounts>" (id in any case) whose
#     comma-separated accounts name $PAM_USER or are "*".
# Exit 0 grants, anything else refuses (pam_exec then fails the login).
# It does not export HEROKU_SESSION_ID (pam_exec cannot set the PAM
# environment), does not cap the body at 64 KiB, and logs nothing.
set -u
[ $# -eq 4 ] || exit 2
api_url=$1 ca_file=$2 allowlist=$3
IFS= read -r secret <"$4" || exit 1
case $secret in '' | *[!A-Za-z0-9._~+/=-]*) exit 1 ;; esac
user=${PAM_USER:-}
[ -n "$user" ] || exit 1

IFS= read -r typed || :
case $typed in
refresh:*) grant=refresh_token cred=${typed#refresh:} ;;
code:*) grant=authorization_code cred=${typed#code:} ;;
*) grant=authorization_code cred=$typed ;;
esac
# token68: A-Z a-z 0-9 - . _ ~ + /, then '=' only as trailing padding.
case $cred in
'' | *[!A-Za-z0-9._~+/=-]* | *=*[!=]* | =*) exit 1 ;;
esac
[ ${#cred} -le 1024 ] || exit 1
if [ "$grant" = refresh_token ]; then
	body=$(printf '{"grant":{"type":"refresh_token"},"client":{"secret":"%s"},"refresh_token":{"token":"%s"}}' "$secret" "$cred")
else
	body=$(printf '{"grant":{"type":"authorization_code","code":"%s"},"client":{"secret":"%s"},"refresh_token":{}}' "$cred" "$secret")
fi

# The response body, then the status on a line of its own.
answer=$(printf '%s' "$body" | curl -sS --proto =https --tlsv1.2 --max-time 10 \
	--noproxy '*' --cacert "$ca_file" \
	-H 'Accept: application/vnd.heroku+json; version=3' \
	-H 'Content-Type: application/json' \
	-A 'heroku-login.sh' --data-binary @- -w '\n%{http_code}' \
	"$api_url/oauth/tokens") || exit 1
status=${answer##*
}
[ "$status" = 201 ] || exit 1
id=$(printf '%s' "${answer%
*}" | jq -er '.user.id | select(type == "string")
	| select(test("^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$"))') || exit 1

# Lines for this id; the id is only hex and dashes, so it is safe in a regex.
lines=$(grep -i -e "^${id}[[:blank:]]" -- "$allowlist") || exit 1
cr=$(printf '\r')
set -f
while IFS= read -r line; do
	line=${line%"$cr"}
	accounts=${line#*[[:blank:]]}
	accounts=${accounts%%#*}
	IFS=,
	for account in $accounts; do
		account=${account#"${account%%[![:blank:]]*}"}
		account=${account%"${account##*[![:blank:]]}"}
		if [ "$account" = "$user" ] || [ "$account" = '*' ]; then
			exit 0
		fi
	done
	IFS=' '
done <<EOF
$lines
EOF
exit 1
