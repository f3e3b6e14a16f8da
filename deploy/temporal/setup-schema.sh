#!/bin/sh
# Creates Temporal's two databases on the stack's PostgreSQL and brings their schemas up to date,
# as Temporal's own compose examples do. Safe on every start: existing databases are kept and
# only missing schema versions are applied.
set -eu

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

setup() { # database, its schema folder under /etc/temporal/schema/postgresql/v12
  sql --db "$1" create
  sql --db "$1" setup-schema -v 0.0
  sql --db "$1" update-schema -d "/etc/temporal/schema/postgresql/v12/$2/versioned"
}

setup temporal temporal
setup temporal_visibility visibility
echo "Temporal schemas are up to date"
