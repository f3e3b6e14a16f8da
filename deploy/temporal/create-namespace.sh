#!/bin/sh
# Creates the service's namespace and registers the search attributes the escalation workflow
# sets (workflows/search_attributes.py). Safe on every start: an existing namespace is kept and
# attributes that already exist with the same type are left alone.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}" "${RETENTION:?}"
export TEMPORAL_ADDRESS

# The frontend port opens before the server can serve namespaces: wait for it to say so.
attempt=1
until temporal operator cluster health; do
  if [ "$attempt" -ge 30 ]; then
    echo "Temporal at $TEMPORAL_ADDRESS is not healthy after $attempt attempts" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 2
done

temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1 ||
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION"

temporal operator search-attribute create --namespace "$NAMESPACE" \
  --name EscalationStatus --type Keyword \
  --name EscalationStage --type Int \
  --name RaisingAgency --type Keyword \
  --name ReceivingAgency --type Keyword \
  --name StageDeadline --type Datetime \
  --name EscalationOverdue --type Bool \
  --name EscalationAcknowledged --type Bool \
  --name DisputeUntil --type Datetime
echo "Namespace $NAMESPACE is ready"
