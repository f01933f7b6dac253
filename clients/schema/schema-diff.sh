#!/usr/bin/env bash
# Compare the published schema, committed as clients/schema/baseline.graphql, with the current
# schema.graphql using graphql-inspector and fail on a breaking change: a removed type, field,
# argument, input field or enum value, or a changed type. Comparing with a committed baseline rather
# than HEAD~1 catches a breaking change made in any commit since the baseline, however many commits a
# push holds. Removing a field, enum value or input field that the baseline already marked
# @deprecated is let through (rule suppressRemovalOfDeprecatedField), so the way to remove something
# is: deprecate it, publish that (move the baseline forward), and remove it once the deprecation
# period ends. `make schema-baseline` moves the baseline forward; commit that on its own.
#
#   clients/schema/schema-diff.sh             clients/schema/baseline.graphql against ./schema.graphql
#   clients/schema/schema-diff.sh OLD NEW     two SDL files (for testing the check itself)
#
# Exit status: 0 no breaking change, 1 breaking changes (listed), 2 a missing file or a usage error.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
clients="$(dirname "$here")"
inspector="$clients/node_modules/.bin/graphql-inspector"

if [[ ! -x "$inspector" ]]; then
  echo "schema-diff: $inspector is missing: run \`npm ci --prefix clients\`" >&2
  exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

case $# in
  2)
    old="$1"
    new="$2"
    ;;
  0)
    old="$here/baseline.graphql"
    new="$(dirname "$clients")/schema.graphql"
    echo "schema-diff: baseline $old -> $new"
    ;;
  *)
    echo "usage: $0 [OLD_SCHEMA NEW_SCHEMA]" >&2
    exit 2
    ;;
esac

for file in "$old" "$new"; do
  if [[ ! -f "$file" ]]; then
    echo "schema-diff: $file does not exist" >&2
    exit 2
  fi
done

# graphql-inspector exits 1 when it finds a breaking change (and on a schema it cannot load).
# With suppressRemovalOfDeprecatedField, graphql-inspector 7.0.0 downgrades a removed type to
# "dangerous" even when nothing deprecated it, so a removed type is failed here on our own.
status=0
"$inspector" diff "$old" "$new" --rule suppressRemovalOfDeprecatedField >"$tmp/out" 2>&1 || status=$?
cat "$tmp/out"
if removed="$(grep -oE 'Type [A-Za-z_][A-Za-z0-9_]* was removed' "$tmp/out")"; then
  echo "schema-diff: breaking: a removed type breaks every document that names it:" >&2
  echo "$removed" | sed 's/^/  /' >&2
  exit 1
fi
exit "$status"
