#!/usr/bin/env bash
# The documentation site: MkDocs + Material + mkdocstrings (numpy docstrings), built strictly
# (broken links, missing references and undocumented public objects fail it) into site/.
# Extra arguments go to mkdocs build; `scripts/docs.sh serve` previews it instead.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/bootstrap.sh" docs
venv=${ASKTELL_VENV:-$root/.venv}
cd "$root"
export NO_MKDOCS_2_WARNING=1
if [ "${1:-}" = serve ]; then
  shift
  exec "$venv/bin/mkdocs" serve "$@"
fi
exec "$venv/bin/mkdocs" build --strict "$@"
