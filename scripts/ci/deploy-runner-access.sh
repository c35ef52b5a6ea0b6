#!/usr/bin/env bash
# Opens or closes SSH from this deploy runner to every host of the fleet, through the fleet's deploy-runner firewall
# (components/deployRunnerFirewall.ts: applied to every server, its rules left to this script):
#
#   deploy-runner-access.sh open    rules := [tcp 22 from <this runner's address>/32]; waits until Hetzner applied them
#   deploy-runner-access.sh close   rules := []; waits likewise. The deploy workflow runs it in an `if: always()` step
#
# `set_rules` replaces the whole rule list, so a rule a killed job could not clear is gone at the next open, and
# close leaves nothing behind whatever open did. No other firewall (adminCidrs: each host's own) is touched.
#
# Environment:
#   HCLOUD_TOKEN        a Read & Write API token of the fleet's Hetzner project (docs/gitops.md says what it can do)
#   FIREWALL_ID         the firewall's id: `bin/agentpod outputs --stack prod | jq -r .deployRunnerFirewall.id`
#   RUNNER_ADDRESS      (open) the runner's public IPv4 address; by default asked of two services, which must agree
#   RUN_LABEL           (open) what the rule's description names, e.g. the workflow run
#   HCLOUD_ENDPOINT     default https://api.hetzner.cloud/v1
#   ACTION_TIMEOUT      seconds to wait for Hetzner to apply the rules, default 180
#   POLL_SECONDS        between two looks at a running action, default 2
set -euo pipefail

endpoint="${HCLOUD_ENDPOINT:-https://api.hetzner.cloud/v1}"
timeout="${ACTION_TIMEOUT:-180}"
poll="${POLL_SECONDS:-2}"
command="${1:-}"

die() {
  echo "deploy-runner-access: $*" >&2
  exit 1
}

[[ "$command" == open || "$command" == close ]] || die "usage: deploy-runner-access.sh open|close"
[[ -n "${HCLOUD_TOKEN:-}" ]] || die "HCLOUD_TOKEN is not set: give the job the environment secret HCLOUD_DEPLOY_RUNNER_TOKEN (docs/gitops.md)"
[[ "${FIREWALL_ID:-}" =~ ^[0-9]+$ ]] || die "FIREWALL_ID must be the numeric id of the deploy-runner firewall, got '${FIREWALL_ID:-}'"

# The token goes to curl through a header file, never on its command line.
auth="$(mktemp)"
trap 'rm -f "$auth"' EXIT
chmod 600 "$auth"
printf 'Authorization: Bearer %s\n' "$HCLOUD_TOKEN" > "$auth"

api() { # METHOD PATH [BODY]: prints the response body; fails with Hetzner's error message
  local method="$1" path="$2" response status
  local data=()
  [[ $# -lt 3 ]] || data=(--data "$3")
  response="$(curl -sS --max-time 30 -X "$method" -H @"$auth" -H 'Content-Type: application/json' \
    "${data[@]}" -w '\n%{http_code}' "$endpoint$path")" || die "$method $path: the Hetzner API did not answer"
  status="${response##*$'\n'}"
  response="${response%$'\n'*}"
  if [[ "$status" != 2* ]]; then
    die "$method $path: HTTP $status: $(jq -r '.error | "\(.code): \(.message)"' <<<"$response" 2>/dev/null || echo "$response")"
  fi
  printf '%s' "$response"
}

ipv4() { [[ "$1" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]]; }

runner_address() {
  if [[ -n "${RUNNER_ADDRESS:-}" ]]; then
    ipv4 "$RUNNER_ADDRESS" || die "RUNNER_ADDRESS is not an IPv4 address: '$RUNNER_ADDRESS'"
    echo "$RUNNER_ADDRESS"
    return
  fi
  # Two independent services must agree: one wrong answer must not open port 22 to someone else.
  local first second
  first="$(curl -4 -fsS --max-time 15 https://checkip.amazonaws.com | tr -d '[:space:]')" || die "could not learn this runner's address (checkip.amazonaws.com)"
  second="$(curl -4 -fsS --max-time 15 https://api.ipify.org | tr -d '[:space:]')" || die "could not learn this runner's address (api.ipify.org)"
  if ! ipv4 "$first" || [[ "$first" != "$second" ]]; then
    die "the services disagree on this runner's address ('$first', '$second'): not opening SSH"
  fi
  echo "$first"
}

wait_for_actions() { # the JSON of a set_rules response
  local ids id status deadline=$((SECONDS + timeout))
  ids="$(jq -r '.actions[].id' <<<"$1")"
  for id in $ids; do
    while :; do
      status="$(api GET "/firewalls/actions/$id" | jq -r '.action.status')"
      case "$status" in
        success) break ;;
        running) ;;
        *) die "Hetzner action $id ended '$status': $(api GET "/firewalls/actions/$id" | jq -c '.action.error')" ;;
      esac
      ((SECONDS < deadline)) || die "Hetzner action $id still running after ${timeout}s"
      sleep "$poll"
    done
  done
}

if [[ "$command" == open ]]; then
  address="$(runner_address)"
  rules="$(jq -nc --arg source "$address/32" --arg description "deploy runner ${RUN_LABEL:-}" \
    '[{direction: "in", protocol: "tcp", port: "22", source_ips: [$source], description: ($description | .[0:255])}]')"
  echo "deploy-runner-access: opening port 22 to $address/32 through firewall $FIREWALL_ID"
else
  rules='[]'
  echo "deploy-runner-access: closing firewall $FIREWALL_ID (no rules)"
fi
response="$(api POST "/firewalls/$FIREWALL_ID/actions/set_rules" "$(jq -nc --argjson rules "$rules" '{rules: $rules}')")"
wait_for_actions "$response"
echo "deploy-runner-access: $command: applied"
