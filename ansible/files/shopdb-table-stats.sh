#!/bin/sh
# Prints one JSON object for database $1: every base table with its row count and CHECKSUM TABLE value.
# Used to verify a dump (on the scratch copy it restores into) and to prove a restore gave back the same
# data. Runs as root over the unix socket; reads only.
set -eu
db=$1
case $db in *[!A-Za-z0-9_]*|'') echo "shopdb-table-stats: bad database name '$db'" >&2; exit 2 ;; esac
tables=$(mariadb -N -B -e "SELECT table_name FROM information_schema.tables
  WHERE table_schema = '$db' AND table_type = 'BASE TABLE' ORDER BY table_name")
printf '{'
sep=
for t in $tables; do
  rows=$(mariadb -N -B -e "SELECT COUNT(*) FROM \`$db\`.\`$t\`")
  sum=$(mariadb -N -B -e "CHECKSUM TABLE \`$db\`.\`$t\` EXTENDED" | cut -f2)
  printf '%s"%s": {"rows": %s, "checksum": "%s"}' "$sep" "$t" "$rows" "$sum"
  sep=', '
done
printf '}\n'
