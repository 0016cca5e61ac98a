#!/usr/bin/env bash
# The README's run command: a bank transfer between MariaDB and PostgreSQL.
# It needs the database drivers, which are not built yet.
set -euo pipefail
echo "xatm demo: not yet available - the MySQL/MariaDB and PostgreSQL drivers are not built yet." >&2
echo "Run scripts/test.sh to build xatm and run its tests." >&2
exit 1
