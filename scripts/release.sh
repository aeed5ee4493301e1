#!/usr/bin/env bash
# Cuts a release of shopdb: the commit is clean and carries the version pyproject.toml names, and it gets the
# annotated tag v<version>, the tag plugin authors copy and update the Copier template from
# (docs/PLUGIN-QUICKSTART.md, step 1). Safe to re-run on the tagged commit.
#   make release                  # the version in pyproject.toml
#   make release VERSION=0.2.0    # refused unless pyproject.toml says 0.2.0 (bump it first, commit, then release)
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
want=${VERSION:-$version}
if [ "$want" != "$version" ]; then
  echo "release: VERSION=$want, but pyproject.toml says $version: set version = \"$want\" there, commit, re-run" >&2
  exit 2
fi
if [ -n "$(git status --porcelain)" ]; then
  echo "release: the working tree has uncommitted changes: commit or stash them (a tag names a commit)" >&2
  exit 2
fi
tag="v$version"
if git rev-parse -q --verify "refs/tags/$tag" >/dev/null; then
  if [ "$(git rev-list -n1 "$tag")" = "$(git rev-parse HEAD)" ]; then
    echo "release: $tag already tags this commit"
    exit 0
  fi
  echo "release: $tag already tags another commit: bump version in pyproject.toml for a new release" >&2
  exit 2
fi
git tag -a "$tag" -m "shopdb $version"
echo "release: tagged $tag; publish it: git push origin $tag"
