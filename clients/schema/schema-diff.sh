#!/usr/bin/env bash
# Compare the previous commit's schema.graphql with the current one using graphql-inspector and
# fail on a breaking change. Removing a field, enum value or input field that the old schema
# already marked @deprecated is let through (rule suppressRemovalOfDeprecatedField), so the way to
# remove something is: deprecate it in one commit, remove it in a later one.
#
#   clients/schema/schema-diff.sh             HEAD~1:schema.graphql against ./schema.graphql
#   clients/schema/schema-diff.sh OLD NEW     two SDL files (for testing the check itself)
#
# In a shallow clone without HEAD~1 it first runs `git fetch --deepen=1 origin`.
# Exit status: 0 no breaking change, 1 breaking changes (listed), 2 nothing to compare with or
# a usage error.
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
    root="$(git -C "$here" rev-parse --show-toplevel)"
    new="$root/schema.graphql"
    old="$tmp/previous.graphql"
    has_parent() { git -C "$root" rev-parse --verify --quiet 'HEAD~1^{commit}' >/dev/null; }
    if ! has_parent && [[ "$(git -C "$root" rev-parse --is-shallow-repository)" == true ]]; then
      echo "schema-diff: shallow clone without HEAD~1; fetching one more commit from origin" >&2
      git -C "$root" fetch --quiet --deepen=1 origin
    fi
    if ! has_parent; then
      echo "schema-diff: HEAD ($(git -C "$root" rev-parse --short HEAD)) has no previous commit," \
        "so there is no previous schema.graphql to compare with" >&2
      exit 2
    fi
    previous="$(git -C "$root" rev-parse --short 'HEAD~1')"
    if ! git -C "$root" cat-file -e 'HEAD~1:schema.graphql' 2>/dev/null; then
      echo "schema-diff: the previous commit ($previous) has no schema.graphql to compare with" >&2
      exit 2
    fi
    git -C "$root" show 'HEAD~1:schema.graphql' >"$old"
    echo "schema-diff: schema.graphql of $previous (HEAD~1) -> $new"
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
"$inspector" diff "$old" "$new" --rule suppressRemovalOfDeprecatedField
